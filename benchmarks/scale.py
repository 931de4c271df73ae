"""A bank at production scale (the POC's 176,443 items) for load and stability runs.

Items come from the demo templates (`itembank.demo`), so their text, LaTeX and figures look like
the demo bank's. The templates alone give only ~26,000 distinct questions (text subjects run out
of variety after a few hundred), so the bank is made of three kinds of item:

- **single**: one template draw, distinct from every other single (normalised stem + choices);
- **set**: when a draw repeats one already used, a "set item" (세트 문항) of two or three distinct
  draws of the same subject, each sub-question with its choices, answered as a short answer;
- **retyped**: about 4% are re-typed copies of an earlier single (`variations.make_duplicate`:
  spacing, punctuation, wording, choice order, LaTeX spelling, figure re-encoded), so duplicate
  search has real work at this size too.

Figures are bounded by a pool (default 2,000 distinct drawings): once the pool is full an item
gets an existing drawing of its own kind, so the stored files stay small (images are stored by
content hash, once).

Everything is deterministic in (count, seed) and written in chunks of `CHUNK` items, each its own
transaction, under external IDs `SCALE-…`; a chunk whose items all exist is skipped, so a run that
was interrupted resumes. Embedding (the default space, in this process) and BM25 tokens only
touch items that miss them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from random import Random
from typing import Any

from django.db import connection

from itembank.demo import figures
from itembank.demo.base import CIRCLED, Draft, Template
from itembank.demo.generator import SUBJECT_CODES, draw, signature, slots_of, subject_quotas
from itembank.demo.variations import make_duplicate
from itembank.images import check_image
from itembank.models import Item, ItemType
from itembank.services import BulkImage, BulkItem, bulk_save_items
from itembank.signals import item_content_changed

PREFIX = "SCALE-"
CHUNK = 5000
FIGURE_POOL = 2000
RETYPED_SHARE = 0.04
SET_ATTEMPTS = 40
SOURCES = ["중간고사", "기말고사", "단원평가", "수행평가", "전국연합학력평가", "모의고사"]

Log = Callable[[str], None]


@dataclass
class ScaleItem:
    fields: dict[str, Any]
    figure: tuple[str, str] | None = None  # (figure key, re-encoding or "")
    kind: str = "single"  # single | set | retyped


@dataclass
class ScaleBank:
    items: list[ScaleItem]
    figure_specs: dict[str, tuple[str, dict]]  # key -> (kind, params)
    kinds: Counter[str] = field(default_factory=Counter)


def figure_key(kind: str, params: dict) -> str:
    return json.dumps([kind, params], sort_keys=True, default=str)


class FigurePool:
    """Distinct drawings up to `size`; after that an item reuses a drawing of its kind."""

    def __init__(self, rng: Random, size: int) -> None:
        self.rng = rng
        self.size = size
        self.specs: dict[str, tuple[str, dict]] = {}
        self.by_kind: dict[str, list[str]] = {}

    def key_for(self, draft: Draft) -> str | None:
        if draft.figure is None:
            return None
        kind, params = draft.figure.kind, draft.figure.params
        key = figure_key(kind, params)
        if key in self.specs:
            return key
        if len(self.specs) < self.size or not self.by_kind.get(kind):
            self.specs[key] = (kind, params)
            self.by_kind.setdefault(kind, []).append(key)
            return key
        return self.rng.choice(self.by_kind[kind])


def _choices_block(draft: Draft) -> str:
    return "  ".join(f"{CIRCLED[i]} {c}" for i, c in enumerate(draft.choices[:5]))


def set_item(parts: Sequence[Draft]) -> Draft:
    """Two or three drafts of one subject as one item with sub-questions (1), (2), (3)."""
    lines = ["다음 물음에 답하시오."]
    answers = []
    for n, part in enumerate(parts, start=1):
        lines.append(f"({n}) {part.stem}")
        if part.choices:
            lines.append(_choices_block(part))
        answers.append(f"({n}) {part.answer}")
    first = parts[0]
    tags = tuple(dict.fromkeys(t for part in parts for t in part.tags))
    return first.with_changes(
        stem="\n".join(lines),
        item_type=ItemType.SHORT_ANSWER,
        choices=(),
        answer=" ".join(answers),
        explanation="\n".join(
            f"({n}) {p.explanation}" for n, p in enumerate(parts, 1) if p.explanation
        ),
        difficulty="hard",
        tags=tags,
        figure=next((p.figure for p in parts if p.figure is not None), None),
    )


class SubjectDrawer:
    def __init__(self, rng: Random, subject: str) -> None:
        self.rng = rng
        self.slots: list[tuple[Template, str]] = slots_of(subject)
        self.weights = [t.weight / len(t.topics) for t, _ in self.slots]

    def draw(self) -> Draft:
        template, topic = self.rng.choices(self.slots, self.weights)[0]
        return draw(template, topic, self.rng)


def plan(count: int, seed: int = 42, figure_pool: int = FIGURE_POOL) -> ScaleBank:
    """The whole bank's items, in a deterministic order, with external IDs."""
    rng = Random(seed)
    pool = FigurePool(rng, figure_pool)
    seen: set[str] = set()
    items: list[tuple[Draft, str, str]] = []  # (draft, kind, re-encoding)
    for subject, quota in subject_quotas(count).items():
        drawer = SubjectDrawer(rng, subject)
        singles: list[Draft] = []
        made = 0
        while made < quota:
            if singles and rng.random() < RETYPED_SHARE:
                duplicate, _changes, reencode = make_duplicate(rng, rng.choice(singles))
                items.append((duplicate, "retyped", reencode))
                made += 1
                continue
            draft = drawer.draw()
            sig = signature(draft)
            if sig not in seen:
                seen.add(sig)
                singles.append(draft)
                items.append((draft, "single", ""))
                made += 1
                continue
            combined = None
            for attempt in range(SET_ATTEMPTS):
                parts = [draft, drawer.draw()] + ([drawer.draw()] if attempt >= 8 else [])
                if len({signature(p) for p in parts}) < len(parts):
                    continue
                candidate = set_item(parts)
                sig = signature(candidate)
                if sig not in seen:
                    seen.add(sig)
                    combined = candidate
                    break
            # With no new combination left the repeat stays (counted as a single repeat).
            items.append((combined or draft, "set" if combined else "repeat", ""))
            made += 1
    rng.shuffle(items)
    bank = ScaleBank(items=[], figure_specs={})
    for n, (draft, kind, reencode) in enumerate(items, start=1):
        key = pool.key_for(draft)
        bank.items.append(
            ScaleItem(
                fields=_fields(draft, f"{PREFIX}{SUBJECT_CODES[draft.subject]}-{n:06d}", rng),
                figure=(key, reencode) if key else None,
                kind=kind,
            )
        )
        bank.kinds[kind] += 1
    bank.figure_specs = pool.specs
    return bank


def _fields(draft: Draft, external_id: str, rng: Random) -> dict[str, Any]:
    year, term = rng.choice([2021, 2022, 2023, 2024, 2025]), rng.choice([1, 2])
    return {
        "external_id": external_id,
        "subject": draft.subject,
        "school_level": draft.school_level,
        "grade": draft.grade,
        "unit": draft.unit,
        "achievement_standard": draft.achievement_standard,
        "item_type": draft.item_type,
        "stem": draft.stem,
        "choices": list(draft.choices),
        "answer": draft.answer,
        "explanation": draft.explanation,
        "difficulty": draft.difficulty,
        "source": f"{year} {term}학기 {rng.choice(SOURCES)}",
        "tags": list(draft.tags),
    }


class FigureFiles:
    """Rendered, checked figure bytes by (key, re-encoding), made when first needed."""

    def __init__(self, specs: dict[str, tuple[str, dict]]) -> None:
        self.specs = specs
        self.cache: dict[tuple[str, str], BulkImage] = {}

    def image(self, key: str, reencode: str) -> BulkImage:
        if (key, reencode) not in self.cache:
            kind, params = self.specs[key]
            data, ext = figures.png_bytes(figures.render(kind, params)), "png"
            if reencode:
                data, ext = figures.reencode(data, reencode)
            checked = check_image(data)
            self.cache[key, reencode] = BulkImage(
                original_name=f"figure-{checked.sha256[:12]}.{ext}",
                sha256=checked.sha256,
                format=checked.format,
                width=checked.width,
                height=checked.height,
                size_bytes=checked.size_bytes,
                read=lambda data=data: data,
            )
        return self.cache[key, reencode]


@contextmanager
def signals_paused() -> Iterator[None]:
    """No per-chunk embedding/keyword tasks: this command embeds and tokenises itself (and a
    `./dev manage` run has no worker that would take them)."""
    receivers = item_content_changed.receivers[:]
    item_content_changed.receivers.clear()
    item_content_changed.sender_receivers_cache.clear()
    try:
        yield
    finally:
        item_content_changed.receivers[:] = receivers
        item_content_changed.sender_receivers_cache.clear()


def write_items(bank: ScaleBank, *, log: Log, chunk: int = CHUNK, user=None) -> tuple[int, int]:
    """Write the bank chunk by chunk; returns (created, chunks skipped as already there)."""
    files = FigureFiles(bank.figure_specs)
    created = skipped = 0
    started = time.monotonic()
    total = len(bank.items)
    with signals_paused():
        for start in range(0, total, chunk):
            part = bank.items[start : start + chunk]
            ids = [entry.fields["external_id"] for entry in part]
            if Item.objects.filter(external_id__in=ids).count() == len(ids):
                skipped += 1
                continue
            entries = [
                BulkItem(
                    fields=entry.fields,
                    images=[files.image(*entry.figure)] if entry.figure else [],
                )
                for entry in part
            ]
            result = bulk_save_items(entries, user=user, via="seed_scale")
            created += len(result.created)
            done = start + len(part)
            elapsed = time.monotonic() - started
            log(
                f"  items {done:,}/{total:,}: {len(result.created):,} created in this chunk "
                f"({elapsed:.0f} s, {created / elapsed if elapsed else 0:.0f} items/s)"
            )
    return created, skipped


@contextmanager
def figure_hashes_cached() -> Iterator[None]:
    """The default backend hashes each figure file once instead of once per item using it.

    Stored images are named by their SHA-256 (`items/ab/<sha256>.png`), so one path is one
    content; the scale bank's ~95,000 figure references point at a few thousand files, and
    hashing them (decode + three perceptual hashes, ~9 ms) is about 40% of the embedding CPU.
    """
    from embeddings.backends import default

    original = default.image_features
    cache: dict[str, Any] = {}

    def cached(path: str):
        if path not in cache:
            cache[path] = original(path)
        return cache[path]

    default.image_features = cached
    try:
        yield
    finally:
        default.image_features = original


def embed_missing(space, *, log: Log, batch_size: int = 32, step: int = 2048) -> dict[str, Any]:
    """Embed the bank's missing or stale items into `space` here, in `step`-item chunks.

    With more than 20,000 items missing (and at least half the space), the space's HNSW index is
    dropped first and built once at the end: one build is much cheaper than 176k inserts.
    """
    with figure_hashes_cached():
        return _embed_missing(space, log=log, batch_size=batch_size, step=step)


def _embed_missing(space, *, log: Log, batch_size: int, step: int) -> dict[str, Any]:
    from embeddings import pipeline, services

    ids = list(pipeline.stale_or_missing(space).values_list("pk", flat=True))
    total_items = Item.objects.count()
    out: dict[str, Any] = {"missing": len(ids), "embedded": 0, "failed": 0, "index_s": 0.0}
    rebuild = len(ids) > 20_000 and len(ids) * 2 >= total_items
    if rebuild:
        services.drop_index(space)
        log(f"  dropped the HNSW index of {space.name} for the bulk load")
    started = time.monotonic()
    for start in range(0, len(ids), step):
        result = pipeline.embed_items(space, ids[start : start + step], batch_size=batch_size)
        out["embedded"] += result.embedded
        out["failed"] += result.failed
        done = min(start + step, len(ids))
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed else 0.0
        left = (len(ids) - done) / rate if rate else 0.0
        log(
            f"  embedded {done:,}/{len(ids):,} ({rate:.0f} items/s, "
            f"{elapsed / 60:.1f} min, about {left / 60:.1f} min left; failed {out['failed']})"
        )
    out["embed_s"] = time.monotonic() - started
    index_started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '2GB'")
    services.ensure_index(space)
    out["index_s"] = time.monotonic() - index_started
    return out


def tokenise_missing(*, log: Log, step: int = 10_000) -> int:
    """Store BM25 tokens for every item without current ones; returns rows written."""
    from search import keyword

    written = 0
    started = time.monotonic()
    while True:
        n = keyword.refresh(limit=step)
        if not n:
            return written
        written += n
        elapsed = time.monotonic() - started
        log(f"  tokenised {written:,} ({written / elapsed if elapsed else 0:.0f} items/s)")
