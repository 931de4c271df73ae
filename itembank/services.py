"""Changing items. Every writer — the authoring UI, the API, the admin, imports — goes through
`save_item` (or `set_status`), so the derived fields, the edit history and the "content changed"
signal that queues embedding are the same whoever makes the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .content import content_hash, item_text
from .images import CheckedImage
from .models import Item, ItemImage, ItemRevision, ItemStatus, User, has_latex
from .permissions import can_set_status
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


def delete_unreferenced_files(names: Iterable[str | None]) -> None:
    """Remove stored files no image row points at any more (runs after commit)."""
    for name in set(names):
        if name is not None and not ItemImage.objects.filter(file=name).exists():
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
    for gone in removed:
        gone.delete()
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


def check_status_change(user: User | AnonymousUser | None, current: str | None, new: str) -> None:
    """Refuse a status `user` may not set (`permissions.can_set_status`) with a
    ValidationError naming the rule. The form, the API, the import and `save_item`/`set_status`
    all ask this, so the rule is the same whichever way the change comes; `user=None` is the
    system itself (management commands, migrations) and is never refused."""
    if user is None or can_set_status(user, current, str(new)):
        return
    if str(new) == ItemStatus.RETIRED:
        raise ValidationError(_("Only administrators can retire items."), code="retire")
    raise ValidationError(
        _("Only administrators can make a retired item active or a draft again."),
        code="unretire",
    )


class StaleItem(Exception):
    """A save that expected a version of the item other than the stored one: someone else saved
    it in between. Nothing of the refused save is written."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"expected version {expected}, the item is at version {current}")
        self.expected = expected
        self.current = current


def _enforce_status(user: User | AnonymousUser | None, current: str | None, new: str) -> None:
    """`check_status_change` for the writers themselves: a refused change that got past a
    form or serializer is a 403, never written."""
    try:
        check_status_change(user, current, new)
    except ValidationError as exc:
        raise PermissionDenied(exc.messages[0]) from exc


@transaction.atomic
def save_item(
    item: Item,
    *,
    user: User | AnonymousUser | None = None,
    images: ImageChanges | None = None,
    via: str = "web",
    action: str | None = None,
    expected_version: int | None = None,
) -> ItemRevision | None:
    """Save an item (new or changed) with its image changes and record what changed.

    The caller has validated the fields (`item.full_clean()` or a form). Returns the revision
    written, or None when nothing changed. An existing item is saved under a row lock with its
    `version` raised by one; given `expected_version` (what the editor read: the form's hidden
    field, the API's If-Match), a stored item at another version raises `StaleItem` and nothing
    is written. Writers that apply a partial change read the row with `select_for_update`
    first and change only their fields on it (the API's PATCH), so no concurrent change is lost.
    """
    creating = item.pk is None
    old_hash = ""
    before: dict = {}
    if not creating:
        # The row lock orders concurrent saves of one item; the version read under it is the
        # one this save replaces, so the check and the write cannot be separated.
        stored = Item.objects.select_for_update().get(pk=item.pk)
        if expected_version is not None and stored.version != expected_version:
            raise StaleItem(expected_version, stored.version)
        before = snapshot(stored)
        old_hash = stored.content_hash
        item.version = stored.version + 1
    _enforce_status(user, before.get("status"), item.status)
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
    items: Iterable[Item],
    status: ItemStatus | str,
    *,
    user: User | AnonymousUser | None = None,
    via: str = "web",
) -> int:
    """Change the status of several items at once, with one history entry each."""
    changed = 0
    for item in items:
        if item.status == status:
            continue
        _enforce_status(user, item.status, status)
        old = item.status
        item.status = status
        item.save(update_fields=["status", "updated_at"])
        # A status change is a new version too: an editor who read the old one must not put the
        # old status back unseen.
        Item.objects.filter(pk=item.pk).update(version=models.F("version") + 1)
        item.refresh_from_db(fields=["version"])
        ItemRevision.objects.create(
            item=item,
            user=user if user is not None and user.is_authenticated else None,
            action=ItemRevision.Action.STATUS,
            via=via,
            changes={"status": {"old": old, "new": str(status)}},
        )
        changed += 1
    return changed


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# --- Bulk writes (imports) ---------------------------------------------------------------------


@dataclass(frozen=True)
class BulkImage:
    """An image checked before the write: its metadata, and how to read its bytes again (only
    called when no stored file has that checksum yet)."""

    original_name: str
    sha256: str
    format: str
    width: int
    height: int
    size_bytes: int
    read: Callable[[], bytes]


@dataclass(frozen=True)
class BulkItem:
    """One validated item: values for the tracked fields (status excepted) and its images."""

    fields: dict
    images: Sequence[BulkImage] = ()


@dataclass
class BulkResult:
    created: list[int]
    updated: list[int]
    unchanged: list[int]
    content_changed: list[int]


def _image_label(original_name: str, file_name: str | None, sha256: str) -> str:
    return f"{original_name or file_name} ({sha256[:8]})"


def _store_bulk_image(item: Item, new: BulkImage, position: int, saved: set[str]) -> ItemImage:
    img = ItemImage(
        item=item,
        position=position,
        original_name=new.original_name[:255],
        sha256=new.sha256,
        size_bytes=new.size_bytes,
        width=new.width,
        height=new.height,
        format=new.format,
    )
    name = img.file.field.generate_filename(img, new.original_name or "image")
    if name not in saved and not img.file.storage.exists(name):
        name = img.file.storage.save(name, ContentFile(new.read()))
    saved.add(name)
    img.file.name = name
    return img


@transaction.atomic
def bulk_save_items(
    entries: Sequence[BulkItem],
    *,
    user: User | AnonymousUser | None = None,
    via: str = "import",
    action: str = ItemRevision.Action.IMPORT,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 500,
) -> BulkResult:
    """Create or update many items by external ID with the guarantees of `save_item`.

    Derived fields come from the same `item_text`/`content_hash`/`has_latex`; every created or
    changed item gets one revision; unchanged items are not written at all; images are replaced
    by the given list unless their checksums are the same, in order; `item_content_changed` is
    sent after commit for the items whose content hash changed. `progress(done)` is called after
    each batch. The caller has validated the fields (`Item.full_clean`).
    """
    acting = user if user is not None and user.is_authenticated else None
    result = BulkResult(created=[], updated=[], unchanged=[], content_changed=[])
    removed_names: list[str] = []
    saved: set[str] = set()
    hash_changed: list[Item] = []
    editable = [name for name in TRACKED_FIELDS if name not in ("external_id", "status")]
    done = 0
    for start in range(0, len(entries), batch_size):
        batch = entries[start : start + batch_size]
        ids = [entry.fields["external_id"] for entry in batch]
        existing = {
            item.external_id: item
            for item in Item.objects.filter(external_id__in=ids)
            .select_for_update(of=("self",))
            .prefetch_related(
                models.Prefetch("images", queryset=ItemImage.objects.order_by("position", "id"))
            )
        }
        now = timezone.now()
        new_items: list[tuple[Item, BulkItem, dict]] = []
        changed: list[tuple[Item, BulkItem | None, dict]] = []
        replace_images: list[Item] = []
        for entry in batch:
            shas = [image.sha256 for image in entry.images]
            item = existing.get(entry.fields["external_id"])
            if item is None:
                item = Item(**entry.fields, author=acting)
                _enforce_status(acting, None, item.status)
                before: dict = {}
                old_hash = ""
                images_same = False
            else:
                old_images = list(item.images.all())
                before = {name: getattr(item, name) for name in TRACKED_FIELDS}
                before["images"] = [
                    _image_label(i.original_name, i.file.name, i.sha256) for i in old_images
                ]
                old_hash = item.content_hash
                images_same = [i.sha256 for i in old_images] == shas
                for name in editable:
                    setattr(item, name, entry.fields[name])
            text = item_text(item.stem, item.choices or [])
            item.content_hash = content_hash(text, shas)
            item.has_latex = has_latex(text)
            item.image_count = len(shas)
            after = {name: getattr(item, name) for name in TRACKED_FIELDS}
            after["images"] = (
                before["images"]
                if images_same
                else [_image_label(i.original_name, "", i.sha256) for i in entry.images]
            )
            changes = diff(before, after)
            if item.pk is None:
                new_items.append((item, entry, changes))
            elif changes or item.content_hash != old_hash:
                item.updated_at = now
                item.version += 1  # read under select_for_update above
                changed.append((item, None if images_same else entry, changes))
                if not images_same:
                    replace_images.append(item)
            else:
                result.unchanged.append(item.pk)
                continue
            if item.content_hash != old_hash:
                hash_changed.append(item)  # new items get their pk below
        Item.objects.bulk_create([item for item, _, _ in new_items])
        if changed:
            Item.objects.bulk_update(
                [item for item, _, _ in changed],
                [*editable, "content_hash", "has_latex", "image_count", "updated_at", "version"],
            )
        if replace_images:
            old = ItemImage.objects.filter(item__in=replace_images)
            removed_names += list(old.values_list("file", flat=True))
            old.delete()
        rows: list[ItemImage] = []
        revisions: list[ItemRevision] = []
        for item, stored, changes in [*new_items, *changed]:
            if stored is not None:
                rows += [
                    _store_bulk_image(item, image, position, saved)
                    for position, image in enumerate(stored.images)
                ]
            revisions.append(
                ItemRevision(
                    item=item, user=acting, action=action, via=via, changes=jsonable(changes)
                )
            )
        ItemImage.objects.bulk_create(rows)
        ItemRevision.objects.bulk_create(revisions)
        result.created += [item.pk for item, _, _ in new_items]
        result.updated += [item.pk for item, _, _ in changed]
        done += len(batch)
        if progress is not None:
            progress(done)
    content_changed = [item.pk for item in hash_changed]
    result.content_changed = content_changed
    if content_changed:
        transaction.on_commit(
            lambda: item_content_changed.send(sender=Item, item_ids=content_changed)
        )
    if removed_names:
        transaction.on_commit(lambda: delete_unreferenced_files(removed_names))
    return result
