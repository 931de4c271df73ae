"""Changing items. Every writer — the authoring UI, the API, the admin, imports — goes through
`save_item` (or `set_status`), so the derived fields, the edit history and the "content changed"
signal that queues embedding are the same whoever makes the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction

from .content import content_hash, item_text
from .images import CheckedImage
from .models import Item, ItemImage, ItemRevision, ItemStatus, has_latex
from .signals import item_content_changed

# Fields shown in the history; images are tracked by name and checksum.
TRACKED_FIELDS = [
    "external_id",
    "subject",
    "school_level",
    "grade",
    "unit",
    "achievement_standard",
    "item_type",
    "stem",
    "choices",
    "answer",
    "explanation",
    "difficulty",
    "source",
    "tags",
    "status",
]


@dataclass(frozen=True)
class NewImage:
    image: CheckedImage
    original_name: str = ""


@dataclass
class ImageChanges:
    """What to do with an item's images: keep `order` (existing image ids, in the new order;
    ids not listed are removed), then append `added`. `order=None` keeps existing ones as they are.
    """

    order: Sequence[int] | None = None
    added: Sequence[NewImage] = ()


def snapshot(item: Item) -> dict:
    data = {name: getattr(item, name) for name in TRACKED_FIELDS}
    if item.pk:
        data["images"] = [
            f"{img.original_name or img.file.name} ({img.sha256[:8]})"
            for img in item.images.order_by("position", "id")
        ]
    else:
        data["images"] = []
    return data


def diff(before: dict, after: dict) -> dict:
    return {
        key: {"old": before.get(key), "new": value}
        for key, value in after.items()
        if before.get(key) != value
    }


def refresh_derived(item: Item) -> None:
    """Recompute content hash, has-LaTeX and image count from the stored item."""
    shas = list(item.images.order_by("position", "id").values_list("sha256", flat=True))
    text = item_text(item.stem, item.choices or [])
    item.content_hash = content_hash(text, shas)
    item.has_latex = has_latex(text)
    item.image_count = len(shas)


def store_image(item: Item, new: NewImage, position: int) -> ItemImage:
    img = ItemImage(
        item=item,
        position=position,
        original_name=new.original_name[:255],
        sha256=new.image.sha256,
        size_bytes=new.image.size_bytes,
        width=new.image.width,
        height=new.image.height,
        format=new.image.format,
    )
    name = img.file.field.generate_filename(img, new.original_name or "image")
    if img.file.storage.exists(name):
        img.file.name = name  # the same figure is already stored
    else:
        img.file.save(name, ContentFile(new.image.data), save=False)
    img.save()
    return img


def delete_unreferenced_files(names: Iterable[str]) -> None:
    """Remove stored files no image row points at any more (runs after commit)."""
    from django.core.files.storage import default_storage

    for name in set(names):
        if not ItemImage.objects.filter(file=name).exists():
            default_storage.delete(name)


def apply_image_changes(item: Item, changes: ImageChanges) -> None:
    existing = {img.pk: img for img in item.images.all()}
    order = (
        list(changes.order)
        if changes.order is not None
        else [img.pk for img in sorted(existing.values(), key=lambda i: (i.position, i.pk))]
    )
    removed = [img for pk, img in existing.items() if pk not in order]
    removed_names = [img.file.name for img in removed]
    for img in removed:
        img.delete()
    position = 0
    for pk in order:
        img = existing.get(pk)
        if img is None:
            continue
        if img.position != position:
            img.position = position
            img.save(update_fields=["position"])
        position += 1
    for new in changes.added:
        store_image(item, new, position)
        position += 1
    if removed_names:
        transaction.on_commit(lambda: delete_unreferenced_files(removed_names))


@transaction.atomic
def save_item(
    item: Item,
    *,
    user=None,
    images: ImageChanges | None = None,
    via: str = "web",
    action: str | None = None,
) -> ItemRevision | None:
    """Save an item (new or changed) with its image changes and record what changed.

    The caller has validated the fields (`item.full_clean()` or a form). Returns the revision
    written, or None when nothing changed.
    """
    creating = item.pk is None
    before = {} if creating else snapshot(Item.objects.get(pk=item.pk))
    old_hash = (
        "" if creating else Item.objects.values_list("content_hash", flat=True).get(pk=item.pk)
    )
    if creating and item.author_id is None and user is not None and user.is_authenticated:
        item.author = user
    item.save()
    if images is not None:
        apply_image_changes(item, images)
    refresh_derived(item)
    Item.objects.filter(pk=item.pk).update(
        content_hash=item.content_hash, has_latex=item.has_latex, image_count=item.image_count
    )
    after = snapshot(item)
    changes = diff(before, after)
    revision = None
    if creating or changes:
        if action is None:
            action = ItemRevision.Action.CREATE if creating else ItemRevision.Action.UPDATE
        revision = ItemRevision.objects.create(
            item=item,
            user=user if user is not None and user.is_authenticated else None,
            action=action,
            via=via,
            changes=jsonable(changes),
        )
    if item.content_hash != old_hash:
        pk = item.pk
        transaction.on_commit(lambda: item_content_changed.send(sender=Item, item_ids=[pk]))
    return revision


@transaction.atomic
def set_status(
    items: Iterable[Item], status: ItemStatus | str, *, user=None, via: str = "web"
) -> int:
    """Change the status of several items at once, with one history entry each."""
    changed = 0
    for item in items:
        if item.status == status:
            continue
        old = item.status
        item.status = status
        item.save(update_fields=["status", "updated_at"])
        ItemRevision.objects.create(
            item=item,
            user=user if user is not None and user.is_authenticated else None,
            action=ItemRevision.Action.STATUS,
            via=via,
            changes={"status": {"old": old, "new": str(status)}},
        )
        changed += 1
    return changed


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
