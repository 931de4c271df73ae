"""Turning an item's revisions into what the item page shows: who, when, how, what changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .content import choice_label
from .models import Item, ItemRevision

# Values longer than this (or spanning lines) are reported as "changed" without old → new.
SHORT_VALUE = 80

VIA_LABELS = {
    "web": _("web"),
    "api": _("API"),
    "import": _("import"),
    "admin": _("admin site"),
    "demo": _("demo bank"),  # seed_demo's import
}


@dataclass
class FieldChange:
    label: str
    old: str | None = None
    new: str | None = None
    short: bool = True


@dataclass
class HistoryEntry:
    revision: ItemRevision
    via: str
    changes: list[FieldChange] = field(default_factory=list)


def field_label(name: str) -> str:
    if name == "images":
        return capfirst(str(_("images")))
    try:
        return capfirst(str(Item._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:
        return name


def display_value(name: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if name == "choices" and isinstance(value, list):
        return " ".join(f"{choice_label(i)} {v}" for i, v in enumerate(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    try:
        model_field = Item._meta.get_field(name)
    except FieldDoesNotExist:
        return str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)


def describe(revision: ItemRevision) -> HistoryEntry:
    entry = HistoryEntry(revision=revision, via=str(VIA_LABELS.get(revision.via, revision.via)))
    changes = revision.changes if isinstance(revision.changes, dict) else {}
    created = revision.action == ItemRevision.Action.CREATE or (
        isinstance(changes.get("external_id"), dict) and changes["external_id"].get("old") is None
    )
    if created:
        return entry  # a new item (typed or imported) lists no field-by-field changes
    for name, change in changes.items():
        if not isinstance(change, dict):
            continue
        old = display_value(name, change.get("old"))
        new = display_value(name, change.get("new"))
        short = all(len(v) <= SHORT_VALUE and "\n" not in v for v in (old, new))
        entry.changes.append(
            FieldChange(
                label=field_label(name),
                old=old if short else None,
                new=new if short else None,
                short=short,
            )
        )
    return entry


def item_history(revisions: Iterable[ItemRevision]) -> list[HistoryEntry]:
    return [describe(revision) for revision in revisions]
