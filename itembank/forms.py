"""Forms of the authoring UI. The list filters live in `itembank.filters` (shared with the API)."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .images import check_image
from .limits import validate_choices, validate_tags
from .models import Item, ItemImage, ItemType
from .services import ImageChanges, NewImage, check_status_change
from .text import check_text

TAG_SEPARATORS = re.compile(r"[,，、]")
STALE_MESSAGE = _(
    "Someone else saved this item while you were editing it. Open the item "
    "again to see their changes, then make yours."
)


class ChoiceListWidget(forms.Widget):
    """One text input per choice, all named the same; the template draws them."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])

    def value_omitted_from_data(self, data, files, name):
        return name not in data


class ChoiceListField(forms.Field):
    """The answer choices as a list of strings; blank rows are dropped."""

    widget = ChoiceListWidget

    def to_python(self, value) -> list[str]:
        if value in (None, ""):
            return []
        if isinstance(value, str):
            value = [value]
        return [str(v).strip() for v in value if str(v).strip()]

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        check_text(value)
        validate_choices(value)


class TagsField(forms.CharField):
    """Tags typed as comma-separated text, stored as a list."""

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return value

    def clean(self, value) -> list[str]:
        text = super().clean(value) or ""
        tags: list[str] = []
        for part in TAG_SEPARATORS.split(text):
            tag = part.strip()
            if tag and tag not in tags:
                tags.append(tag)
        validate_tags(tags)
        return tags


class MultipleImageInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several uploaded files at once (Django's documented multiple-file pattern)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault(
            "widget",
            MultipleImageInput(
                attrs={"accept": "image/png,image/jpeg,image/gif,image/webp", "multiple": True}
            ),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list[UploadedFile]:
        single_clean = super().clean
        if isinstance(data, (list, tuple)):
            return [single_clean(f, initial) for f in data if f]
        return [single_clean(data, initial)] if data else []


def check_upload(upload: UploadedFile) -> NewImage:
    """Run `check_image` on an upload without reading an oversized file into memory."""
    name = upload.name or ""
    limit = settings.ITEMBANK_MAX_IMAGE_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            gettext("%(name)s is %(size).1f MB; images may be at most %(limit).0f MB.")
            % {"name": name, "size": upload.size / 1e6, "limit": limit / 1e6},
            code="too_large",
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    return NewImage(check_image(data, name), name)


class ItemForm(forms.ModelForm):
    """Create or edit an item with its choices, tags and images.

    Existing images are kept in the order of the hidden `image_order` field (image ids, comma
    separated) unless ticked in `remove_images`; `new_images` are appended after them.
    """

    choices = ChoiceListField(label=_("Choices"), required=False)
    tags = TagsField(
        label=_("Tags"),
        required=False,
        max_length=2000,
        help_text=_("Separate tags with commas, e.g. addition, two-digit numbers"),
    )
    new_images = MultipleImageField(
        label=_("Add images"),
        required=False,
        help_text=_("PNG, JPEG, GIF or WebP; you can choose several files at once."),
    )
    image_order = forms.CharField(required=False, widget=forms.HiddenInput)
    remove_images = forms.TypedMultipleChoiceField(
        required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    # The version of the item the editor opened; `services.save_item` refuses the save when the
    # stored item has moved on (checked there under a row lock, not here).
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    class Meta:
        model = Item
        fields = [
            "external_id",
            "status",
            "subject",
            "school_level",
            "grade",
            "unit",
            "achievement_standard",
            "item_type",
            "difficulty",
            "stem",
            "choices",
            "answer",
            "explanation",
            "source",
            "tags",
        ]
        widgets = {
            "stem": forms.Textarea(attrs={"rows": 6, "data-preview-source": "stem"}),
            "explanation": forms.Textarea(attrs={"rows": 4, "data-preview-source": "explanation"}),
            "grade": forms.NumberInput(attrs={"min": 1, "max": 12}),
            "external_id": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "achievement_standard": forms.TextInput(attrs={"placeholder": "[9수01-01]"}),
        }
        help_texts = {
            "external_id": _("A unique code for this item, e.g. MATH-2-000123."),
            "answer": _(
                "For multiple choice, the number of the right choice (e.g. 2); "
                "several answers separated by commas (e.g. 2,4)."
            ),
        }

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user  # whose status changes `clean_status` checks
        self.saved_status = self.instance.status if self.instance.pk else None
        self.existing_images: list[ItemImage] = (
            list(self.instance.images.order_by("position", "id")) if self.instance.pk else []
        )
        self.fields["remove_images"].choices = [
            (img.pk, str(img.pk)) for img in self.existing_images
        ]
        for formfield in self.fields.values():
            choices = getattr(formfield, "choices", None)
            if isinstance(formfield, forms.TypedChoiceField) and choices and choices[0][0] == "":
                formfield.choices = [("", "—"), *choices[1:]]
        if self.instance.pk:
            self.initial.setdefault("version", self.instance.version)
            self.fields["version"].required = True
            self.fields["version"].error_messages["required"] = STALE_MESSAGE
        self.fields["stem"].widget.attrs.setdefault(
            "placeholder", gettext("e.g. Which is the largest? $37+25$")
        )

    # What the template draws -------------------------------------------------------------

    def choice_rows(self) -> list[str]:
        """The choices to draw as inputs: what was typed, else the item's, else five blanks."""
        if self.is_bound:
            values = self.data.getlist("choices") if hasattr(self.data, "getlist") else []
        else:
            values = [str(c) for c in (self.initial.get("choices") or [])]
        if not values and not self.is_bound:
            values = [""] * 5
        return values or [""]

    def image_rows(self) -> list[tuple[ItemImage, bool]]:
        """Existing images in their current order, each with whether it is marked for removal."""
        removed = set()
        if self.is_bound:
            removed = {str(v) for v in self.data.getlist("remove_images")}
        return [(img, str(img.pk) in removed) for img in self.ordered_existing()]

    # Cleaning ----------------------------------------------------------------------------

    def ordered_existing(self) -> list[ItemImage]:
        by_id = {img.pk: img for img in self.existing_images}
        order: list[int] = []
        raw = self.data.get("image_order", "") if self.is_bound else ""
        for part in str(raw).split(","):
            part = part.strip()
            if part.isdigit() and int(part) in by_id and int(part) not in order:
                order.append(int(part))
        order += [pk for pk in by_id if pk not in order]
        return [by_id[pk] for pk in order]

    def clean_new_images(self) -> list[NewImage]:
        uploads = self.cleaned_data.get("new_images") or []
        checked: list[NewImage] = []
        errors: list[ValidationError] = []
        for upload in uploads:
            try:
                checked.append(check_upload(upload))
            except ValidationError as exc:
                errors.append(exc)
        if errors:
            raise ValidationError(errors)
        return checked

    def clean_status(self) -> str:
        status = self.cleaned_data.get("status")
        check_status_change(self.user, self.saved_status, status)
        return status

    def clean(self) -> dict:
        data = super().clean()
        item_type = data.get("item_type")
        choices = data.get("choices") or []
        if item_type == ItemType.MULTIPLE_CHOICE and "choices" in data and len(choices) < 2:
            self.add_error("choices", _("A multiple-choice item needs at least two choices."))
        removed = set(data.get("remove_images") or [])
        kept = [img for img in self.ordered_existing() if img.pk not in removed]
        added = data.get("new_images") or []
        limit = settings.ITEMBANK_MAX_IMAGES_PER_ITEM
        if "new_images" in data and len(kept) + len(added) > limit:
            self.add_error(
                "new_images",
                _("An item may have at most %(max)d images; remove some first.") % {"max": limit},
            )
        self.kept_image_ids = [img.pk for img in kept]
        return data

    def image_changes(self) -> ImageChanges:
        """The image changes for `services.save_item`; call after is_valid()."""
        return ImageChanges(order=self.kept_image_ids, added=self.cleaned_data["new_images"])
