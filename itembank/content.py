"""What an embedding model sees of an item, and the hash that changes exactly when that changes.

`item_text` is the one place that turns an item into model text; every backend that takes text
calls it (directly or through `model_input`). The content hash covers that text and the ordered
image checksums, so an edit to the answer, tags or status leaves the vectors valid, while an edit
to the stem, the choices or the figures makes them stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"


def choice_label(index: int) -> str:
    """Korean tests number choices ①, ②, ...; past ten fall back to (11)."""
    return CIRCLED[index] if index < len(CIRCLED) else f"({index + 1})"


def item_text(stem: str, choices: Sequence[str]) -> str:
    """The stem, then one line per choice labelled ①②③…; LaTeX stays as written."""
    lines = [stem.strip()]
    lines += [f"{choice_label(i)} {str(c).strip()}" for i, c in enumerate(choices)]
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class ModelInput:
    text: str
    image_paths: tuple[str, ...] = ()
    image_sha256s: tuple[str, ...] = field(default=())


def content_hash(text: str, image_sha256s: Sequence[str]) -> str:
    payload = json.dumps({"text": text, "images": list(image_sha256s)}, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def model_input(item) -> ModelInput:
    """The model's view of a saved item: its text and its images in order."""
    images = list(item.images.order_by("position", "id"))
    return ModelInput(
        text=item_text(item.stem, item.choices or []),
        image_paths=tuple(img.file.path for img in images),
        image_sha256s=tuple(img.sha256 for img in images),
    )
