"""Generate the demo bank: items, figures and the planted ground truth, all from one seed.

Every template topic is a "slot". About one item in seven (80 of 600) seeds a *family* in a slot
of its own: the original, near-identical duplicates (the item re-typed: spacing, punctuation,
wording, choice order, LaTeX spelling, the figure re-encoded — relevance 2) and variants (the
same template and topic drawn again with other numbers or wording — relevance 1). The other
items come from slots no family uses, so nothing outside a family is a planted neighbour of it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from . import english, figures, history, korean, mathematics, science, social
from .base import Draft, Template
from .variations import make_duplicate

SUBJECT_CODES = {
    "국어": "KOR",
    "수학": "MATH",
    "영어": "ENG",
    "사회": "SOC",
    "과학": "SCI",
    "한국사": "HIST",
}
SUBJECT_SHARES = {
    "수학": 0.30,
    "과학": 0.22,
    "국어": 0.12,
    "영어": 0.12,
    "사회": 0.12,
    "한국사": 0.12,
}
LEVEL_CODES = {"초등": "E", "중등": "M", "고등": "H"}
TEMPLATES: list[Template] = [
    *mathematics.TEMPLATES,
    *science.TEMPLATES,
    *korean.TEMPLATES,
    *english.TEMPLATES,
    *social.TEMPLATES,
    *history.TEMPLATES,
]
FAMILY_SHARE = 80 / 600  # family seeds per item
MAX_FAMILY_SLOT_SHARE = 0.6  # at most this share of a subject's slots hold families
GRADES = {("original", "duplicate"): 2, ("duplicate", "duplicate"): 2}
FILES = ("items.jsonl", "ground_truth_planted.json", "families.json")
LATEX = re.compile(r"\$[^$]+\$")
FIGURE_NAME = re.compile(r"^[A-Z]+-[EMH]\d+-\d{4}-\d+\.(png|jpg)$")


@dataclass
class Entry:
    draft: Draft
    slot: tuple[str, str]
    family: int | None = None
    kind: str = "unrelated"  # original | duplicate | variant | unrelated
    changes: tuple[str, ...] = ()
    reencode: str = ""  # how a duplicate's figure was re-encoded ("" = same bytes)
    external_id: str = ""
    source: str = ""
    image: str = ""


@dataclass
class Summary:
    output: Path
    items: int
    figures: int
    families: int
    duplicates: int
    variants: int
    by_subject: dict[str, int] = field(default_factory=dict)
    with_latex: int = 0


def normalized(text: str) -> str:
    """Text with spacing, punctuation, braces and LaTeX spelling differences removed."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return re.sub(r"[\s{}.,?!·:;'\"()\[\]~]+", "", text)


def signature(draft: Draft) -> str:
    """What makes two drafts the same question: the normalized stem and the set of choices.
    (A variant whose text equals the original's, differing only in its figure, is refused.)"""
    choices = "|".join(sorted(normalized(c) for c in draft.choices))
    return f"{normalized(draft.stem)}#{choices}"


def subject_quotas(size: int) -> dict[str, int]:
    quotas = {s: int(size * share) for s, share in SUBJECT_SHARES.items()}
    order = sorted(SUBJECT_SHARES, key=lambda s: -SUBJECT_SHARES[s])
    for i in range(size - sum(quotas.values())):
        quotas[order[i % len(order)]] += 1
    return quotas


def slots_of(subject: str) -> list[tuple[Template, str]]:
    return [(t, topic) for t in TEMPLATES if t.subject == subject for topic in t.topics]


def family_counts(size: int, quotas: dict[str, int]) -> dict[str, int]:
    total = max(1, round(size * FAMILY_SHARE)) if size >= 2 else 0
    caps = {s: int(len(slots_of(s)) * MAX_FAMILY_SLOT_SHARE) for s in quotas}
    counts = {s: min(caps[s], quotas[s] // 4, round(total * SUBJECT_SHARES[s])) for s in quotas}
    order = sorted(quotas, key=lambda s: -SUBJECT_SHARES[s])
    while sum(counts.values()) < total:
        open_ = [s for s in order if counts[s] < min(caps[s], quotas[s] // 3)]
        if not open_:
            break
        counts[min(open_, key=lambda s: counts[s] / SUBJECT_SHARES[s])] += 1
    return counts


def draw(template: Template, topic: str, rng: Random) -> Draft:
    return template.build(Random(rng.getrandbits(64)), topic)


def plan(rng: Random, size: int) -> list[Entry]:
    """Choose the family slots, build the families, then fill each subject with other items."""
    quotas = subject_quotas(size)
    counts = family_counts(size, quotas)
    entries: list[Entry] = []
    seen: set[str] = set()
    family_id = 0
    spare: dict[str, list[tuple[Template, str]]] = {}
    for subject, quota in quotas.items():
        slots = slots_of(subject)
        rng.shuffle(slots)
        family_slots, other_slots = slots[: counts[subject]], slots[counts[subject] :]
        subject_entries: list[Entry] = []
        for template, topic in family_slots:
            members = build_family(rng, template, topic, seen)
            if len(subject_entries) + len(members) > quota:
                break
            family_id += 1
            for member in members:
                member.family = family_id
            subject_entries += members
        subject_entries += fill(rng, other_slots, quota - len(subject_entries), seen)
        spare[subject] = other_slots
        entries += subject_entries
    # Text subjects can run out of variety; mathematics and science make up the difference.
    for subject in ("수학", "과학"):
        entries += fill(rng, spare[subject], size - len(entries), seen)
    return entries


def fill(rng: Random, slots: list[tuple[Template, str]], count: int, seen: set[str]) -> list[Entry]:
    """Up to `count` unrelated items from `slots` (removing slots that stop giving new items)."""
    made: list[Entry] = []
    misses: Counter[tuple[str, str]] = Counter()
    while len(made) < count and slots:
        weights = [t.weight / len(t.topics) for t, _ in slots]
        template, topic = rng.choices(slots, weights)[0]
        draft = draw(template, topic, rng)
        sig = signature(draft)
        if sig in seen:  # this slot is running out of variety: stop drawing from it
            misses[template.name, topic] += 1
            if misses[template.name, topic] >= 8:
                slots.remove((template, topic))
            continue
        seen.add(sig)
        made.append(Entry(draft, (template.name, topic)))
    return made


def build_family(rng: Random, template: Template, topic: str, seen: set[str]) -> list[Entry]:
    slot = (template.name, topic)
    original = draw(template, topic, rng)
    members = [Entry(original, slot, kind="original")]
    seen.add(signature(original))
    duplicates = rng.choice([0, 1, 1, 2])
    variants = rng.choice([0, 1, 1, 2, 3])
    if not duplicates and not variants:
        duplicates = 1
    for _ in range(duplicates):
        draft, changes, reencode = make_duplicate(rng, original)
        members.append(Entry(draft, slot, kind="duplicate", changes=changes, reencode=reencode))
    for _ in range(variants):
        for _attempt in range(30):
            draft = draw(template, topic, rng)
            sig = signature(draft)
            if sig not in seen:
                seen.add(sig)
                members.append(Entry(draft, slot, kind="variant"))
                break
    if len(members) < 2:  # a template with too little variety for a variant
        draft, changes, reencode = make_duplicate(rng, original)
        members.append(Entry(draft, slot, kind="duplicate", changes=changes, reencode=reencode))
    return members


def source_for(rng: Random, draft: Draft) -> str:
    year = rng.choice([2023, 2024, 2025])
    term = rng.choice([1, 2])
    exams = ["중간고사", "기말고사", "단원평가", "수행평가"]
    if draft.school_level == "고등":
        exams += ["전국연합학력평가"]
    return f"{year} {term}학기 {rng.choice(exams)}"


def assign_ids(rng: Random, entries: list[Entry]) -> None:
    """Shuffle (so families do not sit together) and number the items per subject."""
    rng.shuffle(entries)
    counters: Counter[str] = Counter()
    for entry in entries:
        d = entry.draft
        counters[d.subject] += 1
        entry.external_id = (
            f"{SUBJECT_CODES[d.subject]}-{LEVEL_CODES[d.school_level]}{d.grade}-"
            f"{counters[d.subject]:04d}"
        )
        entry.source = source_for(rng, d)


def record(entry: Entry) -> dict[str, Any]:
    d = entry.draft
    return {
        "external_id": entry.external_id,
        "subject": d.subject,
        "school_level": d.school_level,
        "grade": d.grade,
        "unit": d.unit,
        "achievement_standard": d.achievement_standard,
        "item_type": d.item_type,
        "stem": d.stem,
        "choices": list(d.choices),
        "answer": d.answer,
        "explanation": d.explanation,
        "difficulty": d.difficulty,
        "images": [entry.image] if entry.image else [],
        "source": entry.source,
        "tags": list(d.tags),
    }


def write_figures(entries: list[Entry], folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    rendered: dict[str, bytes] = {}
    written: set[str] = set()
    for entry in entries:
        figure = entry.draft.figure
        if figure is None:
            continue
        key = json.dumps([figure.kind, figure.params], sort_keys=True, default=str)
        if key not in rendered:
            rendered[key] = figures.png_bytes(figures.render(figure.kind, figure.params))
        data, ext = rendered[key], "png"
        if entry.reencode:
            data, ext = figures.reencode(data, entry.reencode)
        name = f"{entry.external_id}-1.{ext}"
        path = folder / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        entry.image = f"figures/{name}"
        written.add(name)
    for stale in folder.iterdir():
        if FIGURE_NAME.match(stale.name) and stale.name not in written:
            stale.unlink()
    return len(written)


def grade_between(a: str, b: str) -> int:
    return GRADES.get((a, b)) or GRADES.get((b, a)) or 1


def ground_truth(entries: list[Entry]) -> dict[str, Any]:
    families: dict[int, list[Entry]] = {}
    for entry in entries:
        if entry.family is not None:
            families.setdefault(entry.family, []).append(entry)
    pairs: dict[str, dict[str, int]] = {}
    for members in families.values():
        for query in members:
            pairs[query.external_id] = {
                other.external_id: grade_between(query.kind, other.kind)
                for other in members
                if other is not query
            }
    return {"name": "planted", "kind": "planted", "pairs": dict(sorted(pairs.items()))}


def families_document(entries: list[Entry], seed: int, size: int) -> dict[str, Any]:
    families: dict[int, list[Entry]] = {}
    for entry in entries:
        if entry.family is not None:
            families.setdefault(entry.family, []).append(entry)
    order = {"original": 0, "duplicate": 1, "variant": 2}
    listed = []
    for family_id in sorted(families):
        members = sorted(families[family_id], key=lambda e: (order[e.kind], e.external_id))
        template, topic = members[0].slot
        listed.append(
            {
                "family": f"F{family_id:03d}",
                "subject": members[0].draft.subject,
                "template": template,
                "topic": topic,
                "members": [
                    {
                        "external_id": m.external_id,
                        "kind": m.kind,
                        **({"changes": list(m.changes)} if m.kind == "duplicate" else {}),
                        **(
                            {"figure": m.reencode or "same"}
                            if m.kind == "duplicate" and m.image
                            else {}
                        ),
                    }
                    for m in members
                ],
            }
        )
    return {"seed": seed, "size": size, "families": listed}


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1) + "\n"


def generate(output: Path, *, seed: int = 42, size: int = 600) -> Summary:
    """Write items.jsonl, figures/, ground_truth_planted.json and families.json into `output`."""
    if size < 1:
        raise ValueError("size must be at least 1")
    rng = Random(seed)
    entries = plan(rng, size)
    assign_ids(rng, entries)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    figure_count = write_figures(entries, output / "figures")
    lines = [json.dumps(record(e), ensure_ascii=False) for e in entries]
    (output / "items.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (output / "ground_truth_planted.json").write_text(dump(ground_truth(entries)), "utf-8")
    (output / "families.json").write_text(dump(families_document(entries, seed, size)), "utf-8")
    kinds = Counter(e.kind for e in entries)

    return Summary(
        output=output,
        items=len(entries),
        figures=figure_count,
        families=len({e.family for e in entries if e.family is not None}),
        duplicates=kinds["duplicate"],
        variants=kinds["variant"],
        by_subject=dict(Counter(e.draft.subject for e in entries)),
        with_latex=sum(
            1 for e in entries if LATEX.search("\n".join([e.draft.stem, *e.draft.choices]))
        ),
    )
