"""Admin for embedding spaces (coverage, queues, actions) and embedding failures."""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from itembank.models import Item, Subject

from . import dispatch, pipeline, services
from .backends.registry import BACKENDS
from .models import MODALITIES, EmbeddingFailure, EmbeddingSpace

STATES = ("embedded", "stale", "failed", "missing")
# Fields that decide what the vectors are: changing them means registering a new space.
FIXED_FIELDS = ("name", "backend", "model_path", "dimensions", "modalities", "instruction")


def backend_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(BACKENDS)]


class EmbeddingSpaceForm(forms.ModelForm):
    backend = forms.ChoiceField(label=_("backend"), choices=backend_choices)
    modalities = forms.MultipleChoiceField(
        label=_("modalities"),
        choices=[("text", _("Text")), ("image", _("Image"))],
        widget=forms.CheckboxSelectMultiple,
        initial=["text"],
    )

    class Meta:
        model = EmbeddingSpace
        fields = [
            "name",
            "label",
            "backend",
            "model_path",
            "dimensions",
            "modalities",
            "instruction",
            "query_instruction",
            "dtype",
            "device",
            "options",
            "enabled",
        ]

    def clean_modalities(self) -> list[str]:
        return [m for m in MODALITIES if m in self.cleaned_data["modalities"]]


def _coverage_column(state: str, title):
    def column(self, obj: EmbeddingSpace) -> int:
        return getattr(obj, f"cov_{state}")

    column.short_description = title
    column.admin_order_field = f"cov_{state}"
    column.__name__ = f"{state}_count"
    return column


@admin.register(EmbeddingSpace)
class EmbeddingSpaceAdmin(admin.ModelAdmin):
    form = EmbeddingSpaceForm
    list_display = [
        "name",
        "label",
        "backend",
        "dimensions",
        "enabled",
        "is_default",
        "embedded_count",
        "stale_count",
        "failed_count",
        "missing_count",
    ]
    list_filter = ["enabled", "is_default", "backend"]
    search_fields = ["name", "label"]
    actions = ["embed_missing", "reembed_all", "make_default", "enable", "disable", "drop"]
    change_list_template = "admin/embeddings/embeddingspace/change_list.html"
    change_form_template = "admin/embeddings/embeddingspace/change_form.html"

    embedded_count = _coverage_column("embedded", _("embedded"))
    stale_count = _coverage_column("stale", _("stale"))
    failed_count = _coverage_column("failed", _("failed"))
    missing_count = _coverage_column("missing", _("missing"))

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        table = EmbeddingSpace._meta.db_table
        return (
            super()
            .get_queryset(request)
            .annotate(
                **{
                    f"cov_{state}": RawSQL(pipeline.coverage_sql(state, f"{table}.id"), ())
                    for state in STATES
                }
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = ["is_default", "created_at"]
        if obj is not None:
            readonly += FIXED_FIELDS
        return readonly

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Spaces are dropped with the "drop" action, which also drops their index.
        return False

    def save_model(self, request: HttpRequest, obj: EmbeddingSpace, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Built concurrently once the form's transaction has committed.
        transaction.on_commit(lambda: services.ensure_index(obj))

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {**(extra_context or {}), "queue_depths": services.queue_depths()}
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        space = EmbeddingSpace.objects.filter(pk=object_id).first()
        if space is not None:
            rows = pipeline.coverage(space)
            extra_context.update(
                coverage_rows=[(Subject(r.subject).label, r) for r in rows],
                coverage_total=pipeline.coverage_total(space),
                index_state=services.index_state(space),
                index_name=space.index_name,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    # -- actions ---------------------------------------------------------------------------

    def _broker_error(self, request: HttpRequest, exc: Exception) -> None:
        self.message_user(
            request,
            _("Could not reach the task queue (%(error)s); the sweep will retry.") % {"error": exc},
            messages.ERROR,
        )

    @admin.action(description=_("Embed missing and stale items now"))
    def embed_missing(self, request: HttpRequest, queryset: QuerySet) -> None:
        for space in queryset:
            try:
                tasks = dispatch.enqueue_stale(space, retry_failed=True)
            except Exception as exc:
                self._broker_error(request, exc)
                return
            self.message_user(
                request,
                ngettext(
                    "%(space)s: queued %(count)d task.",
                    "%(space)s: queued %(count)d tasks.",
                    tasks,
                )
                % {"space": space.name, "count": tasks},
            )

    @admin.action(description=_("Re-embed all items"))
    def reembed_all(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(Item.objects.order_by("pk").values_list("pk", flat=True))
        for space in queryset:
            try:
                tasks = dispatch.enqueue(space, ids, force=True)
            except Exception as exc:
                self._broker_error(request, exc)
                return
            self.message_user(
                request,
                ngettext(
                    "%(space)s: queued %(count)d task.",
                    "%(space)s: queued %(count)d tasks.",
                    tasks,
                )
                % {"space": space.name, "count": tasks},
            )

    @admin.action(description=_("Make default for search"))
    def make_default(self, request: HttpRequest, queryset: QuerySet) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one space."), messages.WARNING)
            return
        space = queryset.get()
        services.activate_space(space)
        self.message_user(request, _("%(space)s is now the default space.") % {"space": space})

    @admin.action(description=_("Enable (embed items on save)"))
    def enable(self, request: HttpRequest, queryset: QuerySet) -> None:
        for space in queryset:
            services.set_enabled(space, True)
        self.message_user(request, _("Enabled."))

    @admin.action(description=_("Disable"))
    def disable(self, request: HttpRequest, queryset: QuerySet) -> None:
        for space in queryset:
            try:
                services.set_enabled(space, False)
            except services.SpaceError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        self.message_user(request, _("Disabled."))

    @admin.action(description=_("Drop space with its vectors"))
    def drop(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if request.POST.get("post") == "yes":
            for space in queryset:
                try:
                    services.drop_space(space)
                except services.SpaceError as exc:
                    self.message_user(request, f"{space.name}: {exc}", messages.ERROR)
                else:
                    self.message_user(request, _("%(space)s dropped.") % {"space": space.name})
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Drop embedding spaces?"),
            "opts": self.model._meta,
            "spaces": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/embeddings/embeddingspace/drop_confirmation.html", context
        )


@admin.register(EmbeddingFailure)
class EmbeddingFailureAdmin(admin.ModelAdmin):
    list_display = ["item", "subject", "space", "short_error", "attempts", "last_failed_at"]
    list_filter = ["space", "item__subject", "last_failed_at"]
    search_fields = ["item__external_id", "error"]
    list_select_related = ["item", "space"]
    readonly_fields = [
        "item",
        "space",
        "content_hash",
        "error",
        "attempts",
        "first_failed_at",
        "last_failed_at",
    ]
    actions = ["retry"]

    @admin.display(description=_("subject"), ordering="item__subject")
    def subject(self, obj: EmbeddingFailure) -> str:
        return obj.item.get_subject_display()

    @admin.display(description=_("reason"))
    def short_error(self, obj: EmbeddingFailure) -> str:
        return obj.error if len(obj.error) <= 120 else obj.error[:119] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description=_("Retry now"))
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        by_space: dict[int, list[int]] = defaultdict(list)
        for space_id, item_id in queryset.values_list("space_id", "item_id"):
            by_space[space_id].append(item_id)
        sent = 0
        try:
            for space in EmbeddingSpace.objects.filter(pk__in=by_space):
                sent += dispatch.enqueue(space, by_space[space.pk])
        except Exception as exc:
            self.message_user(
                request,
                _("Could not reach the task queue (%(error)s); the sweep will retry.")
                % {"error": exc},
                messages.ERROR,
            )
            return
        self.message_user(
            request,
            ngettext("Queued %(count)d task.", "Queued %(count)d tasks.", sent) % {"count": sent},
        )
