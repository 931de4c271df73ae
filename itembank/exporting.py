"""Exporting items in the JSON Lines format of `shared/design/formats.md`.

`PATH.zip` holds `items.jsonl` and `images/...`; `PATH.jsonl` is written with an `images` folder
beside it. Every record has exactly the format's keys, in the format's order, with empty values
as "" / [] / null, and images are named by their checksum, so exporting, importing into an empty
bank and exporting again gives the same bytes.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from .importing import FORMAT_KEYS
from .models import Item, ItemImage

ITEMS_NAME = "items.jsonl"
IMAGES_FOLDER = "images"
# Fixed timestamps make the archive itself reproducible.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class ExportFailed(Exception):
    pass


@dataclass(frozen=True)
class ExportResult:
    items: int
    images: int


def image_export_name(image: ItemImage) -> str:
    return f"{IMAGES_FOLDER}/{image.sha256}{Path(image.file.name).suffix.lower()}"


def item_record(item: Item, image_names: list[str]) -> dict:
    values = {
        "external_id": item.external_id,
        "subject": item.subject,
        "school_level": item.school_level,
        "grade": item.grade,
        "unit": item.unit,
        "achievement_standard": item.achievement_standard,
        "item_type": item.item_type,
        "stem": item.stem,
        "choices": list(item.choices or []),
        "answer": item.answer,
        "explanation": item.explanation,
        "difficulty": item.difficulty,
        "images": image_names,
        "source": item.source,
        "tags": list(item.tags or []),
    }
    return {key: values[key] for key in FORMAT_KEYS}


def _lines(
    queryset: QuerySet[Item], files: dict[str, ItemImage], progress: Callable[[int], None] | None
) -> Iterator[bytes]:
    images = Prefetch("images", queryset=ItemImage.objects.order_by("position", "id"))
    items = queryset.order_by("external_id").prefetch_related(images)
    for count, item in enumerate(items.iterator(chunk_size=1000), start=1):
        names = []
        for image in item.images.all():
            name = image_export_name(image)
            files.setdefault(name, image)
            names.append(name)
        record = item_record(item, names)
        yield (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        if progress is not None:
            progress(count)


def export_items(
    path: Path,
    queryset: QuerySet[Item] | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the items (all of them by default) to PATH.zip or PATH.jsonl."""
    path = Path(path)
    queryset = Item.objects.all() if queryset is None else queryset
    suffix = path.suffix.lower()
    if suffix not in (".zip", ".jsonl"):
        raise ExportFailed(_("Export to a .zip or a .jsonl file."))
    if not path.parent.is_dir():
        raise ExportFailed(_("The folder %(folder)s does not exist.") % {"folder": path.parent})
    files: dict[str, ItemImage] = {}
    count = 0
    partial = path.with_name(path.name + ".part")
    try:
        if suffix == ".zip":
            with zipfile.ZipFile(partial, "w") as archive:
                info = zipfile.ZipInfo(ITEMS_NAME, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=True) as out:
                    for line in _lines(queryset, files, progress):
                        out.write(line)
                        count += 1
                for name in sorted(files):
                    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                    info.compress_type = zipfile.ZIP_STORED
                    with files[name].file.open("rb") as src, archive.open(info, "w") as out:
                        shutil.copyfileobj(src, out)
        else:
            with open(partial, "wb") as out:
                for line in _lines(queryset, files, progress):
                    out.write(line)
                    count += 1
            folder = path.parent / IMAGES_FOLDER
            for name in sorted(files):
                target = path.parent / name
                image = files[name]
                if target.is_file() and target.stat().st_size == image.size_bytes:
                    continue  # named by checksum: the same figure is already there
                folder.mkdir(exist_ok=True)
                with image.file.open("rb") as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(items=count, images=len(files))
