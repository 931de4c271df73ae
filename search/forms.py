"""The search page's form: a query (text, an image, or an item for "more like this"), the item
list's filters, the mode and the advanced settings."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from itembank.filters import ItemFilterForm
from itembank.forms import check_upload
from itembank.images import CheckedImage

from .models import SearchMode

MAX_QUERY_CHARS = 2000
MAX_K = 100
FILTER_FIELDS = ("subject", "school_level", "grade", "unit", "item_type", "has_image", "status")
# Parameters that make a request a search (the rest only shape it).
QUERY_FIELDS = ("text", "item")
ADVANCED_FIELDS = ("k", "alpha", "rerank")


class SearchForm(ItemFilterForm):
    q = None  # the list's substring search; here the text box is the query
    text = forms.CharField(
        label=_("Search text"),
        required=False,
        strip=True,
        widget=forms.Textarea(
            attrs={"rows": 3, "data-preview-source": "query", "spellcheck": "false"}
        ),
        help_text=_("Korean text with formulas in LaTeX between $ signs, e.g. $x^2-5x+6=0$"),
    )
    image = forms.FileField(
        label=_("Image"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}
        ),
    )
    item = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    mode = forms.ChoiceField(
        label=_("Mode"), required=False, choices=[("", _("Default")), *SearchMode.choices]
    )
    k = forms.IntegerField(
        label=_("Results"),
        required=False,
        min_value=1,
        max_value=MAX_K,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_K}),
    )
    alpha = forms.FloatField(
        label=_("Hybrid weight α"),
        required=False,
        min_value=0.0,
        max_value=1.0,
        widget=forms.NumberInput(attrs={"step": "0.05", "min": 0, "max": 1}),
        help_text=_("Share of the embedding score in hybrid mode (0–1)."),
    )
    rerank = forms.ChoiceField(
        label=_("Reranker"),
        required=False,
        choices=[("", _("Default")), ("on", _("On")), ("off", _("Off"))],
    )

    field_order = ["text", "image", *FILTER_FIELDS, "mode", "k", "alpha", "rerank", "item"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].max_length = MAX_QUERY_CHARS
        self.checked_image: CheckedImage | None = None

    def clean_text(self) -> str:
        text = self.cleaned_data.get("text") or ""
        if len(text) > MAX_QUERY_CHARS:
            raise ValidationError(
                _(
                    "The search text is %(length)d characters long; search with at most "
                    "%(max)d characters (a stem is usually enough)."
                ),
                params={"length": len(text), "max": MAX_QUERY_CHARS},
                code="too_long",
            )
        return text

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if upload:
            self.checked_image = check_upload(upload).image
        return upload

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and not self.has_query():
            raise ValidationError(
                _("Type some text, add an image or start from an item to search."), code="empty"
            )
        return data

    def has_query(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return bool(data.get("text") or data.get("item") or self.checked_image)

    def filters(self) -> dict:
        """The item filters for the engine (the cleaned values that were given)."""
        data = self.cleaned_data
        return {name: data[name] for name in FILTER_FIELDS if data.get(name) not in (None, "")}

    def rerank_choice(self) -> bool | None:
        return {"on": True, "off": False}.get(self.cleaned_data.get("rerank") or "")

    def filter_fields(self) -> list:
        """The filters and the mode, as the template draws them."""
        return [self[name] for name in (*FILTER_FIELDS, "mode")]

    def advanced_fields(self) -> list:
        return [self[name] for name in ADVANCED_FIELDS]

    def advanced_used(self) -> bool:
        if not self.is_bound:
            return False
        return any(self.data.get(name) for name in ADVANCED_FIELDS)
