"""The Django admin, for administrators only (is_staff follows role=admin, see User.save).

Item edits made here go through `itembank.services` like every other writer, so the admin keeps
the edit history, the content hash and the embedding queue in step.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Item, ItemImage, ItemRevision, ItemStatus, Role, User

admin.site.site_header = _("Item bank administration")
admin.site.site_title = _("Item bank administration")
admin.site.index_title = _("Manage the item bank")

THUMBNAIL = '<img src="{}" alt="{}" style="max-width:{}px;max-height:{}px">'


def thumbnail(image: ItemImage, size: int = 120) -> str:
    if not image.pk or not image.file:
        return "—"
    url = reverse("media", args=[image.file.name])
    return format_html(THUMBNAIL, url, image.original_name or image.file.name, size, size)


# Users ---------------------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    readonly_fields = ["is_staff", "is_superuser", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "email"]}),
        (
            _("Role"),
            {
                "fields": ["role", "is_active", "is_staff", "is_superuser"],
                "description": _(
                    "Administrators manage everything, including this admin site; teachers "
                    "and reviewers never enter it."
                ),
            },
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "email",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        # The role decides; User.save() derives is_staff from it. Clearing is_superuser first
        # lets an administrator be changed into a teacher or reviewer.
        obj.is_superuser = obj.role == Role.ADMIN
        super().save_model(request, obj, form, change)


# Items ---------------------------------------------------------------------------------------


class HasImageFilter(admin.SimpleListFilter):
    title = _("has image")
    parameter_name = "has_image"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Item]) -> QuerySet[Item]:
        if self.value() == "yes":
            return queryset.filter(image_count__gt=0)
        if self.value() == "no":
            return queryset.filter(image_count=0)
        return queryset


def check_string_list(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise forms.ValidationError(_('Enter a list of text entries, e.g. ["①", "②"].'))
    return value


class ItemAdminForm(forms.ModelForm):
    class Meta:
        model = Item
        fields = services.TRACKED_FIELDS

    def clean_choices(self) -> list[str]:
        return check_string_list(self.cleaned_data.get("choices"))

    def clean_tags(self) -> list[str]:
        return check_string_list(self.cleaned_data.get("tags"))


class ItemImageInline(admin.TabularInline):
    model = ItemImage
    extra = 0
    fields = ["preview", "position", "original_name", "format", "width", "height", "size_bytes"]
    readonly_fields = ["preview", "original_name", "format", "width", "height", "size_bytes"]
    ordering = ["position", "id"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        # New figures are uploaded in the authoring UI or the API, where they are checked.
        return False

    @admin.display(description=_("preview"))
    def preview(self, image: ItemImage) -> str:
        return thumbnail(image)


class ItemRevisionInline(admin.TabularInline):
    model = ItemRevision
    extra = 0
    fields = ["created_at", "action", "via", "user", "changes"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    form = ItemAdminForm
    list_display = [
        "external_id",
        "subject",
        "school_level",
        "grade",
        "unit",
        "item_type",
        "status",
        "image_count",
        "updated_at",
    ]
    list_filter = [
        "subject",
        "school_level",
        "grade",
        "item_type",
        "status",
        "difficulty",
        HasImageFilter,
        "has_latex",
    ]
    search_fields = ["external_id", "stem", "unit", "achievement_standard", "tags"]
    readonly_fields = [
        "author",
        "created_at",
        "updated_at",
        "content_hash",
        "has_latex",
        "image_count",
    ]
    list_select_related = ["author"]
    inlines = [ItemImageInline, ItemRevisionInline]
    actions = ["make_active", "make_draft", "make_retired"]
    date_hierarchy = "updated_at"

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        extra_context = extra_context or {}
        try:
            extra_context["import_url"] = reverse("item-import")
        except NoReverseMatch:
            extra_context["import_url"] = None
        return super().changelist_view(request, extra_context=extra_context)

    # Saving: the form and inlines are validated first; then one save_item() writes the item
    # and its image changes together, with one history entry.
    def save_model(self, request: HttpRequest, obj: Item, form, change: bool) -> None:
        """Nothing yet: save_related() writes the item together with its image changes."""

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        item: Item = form.instance
        images = None
        for formset in formsets:
            if formset.model is ItemImage:
                images = services.ImageChanges(order=self.apply_image_formset(formset))
            elif formset.model is ItemRevision:
                formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        services.save_item(item, user=request.user, images=images, via="admin")
        item.refresh_from_db()
        form.save_m2m()

    @staticmethod
    def apply_image_formset(formset) -> list[int]:
        """The kept image ids in their new order. Sets what formset.save() would have set, for
        the admin's change message; the rows themselves change in services.save_item()."""
        kept, changed, deleted = [], [], []
        for index, form in enumerate(formset.initial_forms):
            image = form.instance
            if form.cleaned_data.get("DELETE"):
                deleted.append(image)
                continue
            position = form.cleaned_data.get("position", image.position)
            if form.has_changed():
                changed.append((image, form.changed_data))
            kept.append((position, index, image.pk))
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], changed, deleted
        return [pk for _position, _index, pk in sorted(kept)]

    # Bulk status changes, each with a history entry.
    def _set_status(self, request: HttpRequest, queryset: QuerySet[Item], status: str) -> None:
        count = services.set_status(queryset, status, user=request.user, via="admin")
        label = ItemStatus(status).label
        self.message_user(
            request,
            ngettext(
                "%(count)d item set to “%(status)s”.",
                "%(count)d items set to “%(status)s”.",
                count,
            )
            % {"count": count, "status": label},
            messages.SUCCESS,
        )

    @admin.action(description=_("Set selected items to active"))
    def make_active(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        self._set_status(request, queryset, ItemStatus.ACTIVE)

    @admin.action(description=_("Set selected items to draft"))
    def make_draft(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        self._set_status(request, queryset, ItemStatus.DRAFT)

    @admin.action(description=_("Set selected items to retired"))
    def make_retired(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        self._set_status(request, queryset, ItemStatus.RETIRED)


@admin.register(ItemImage)
class ItemImageAdmin(admin.ModelAdmin):
    list_display = ["preview", "item", "position", "format", "width", "height", "size_bytes"]
    list_filter = ["format"]
    search_fields = ["item__external_id", "original_name", "sha256"]
    list_select_related = ["item"]
    fields = [
        "preview",
        "item",
        "position",
        "original_name",
        "format",
        "width",
        "height",
        "size_bytes",
        "sha256",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Images change through their item (ItemAdmin or the API), which keeps the history.
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("preview"))
    def preview(self, image: ItemImage) -> str:
        return thumbnail(image, 80)
