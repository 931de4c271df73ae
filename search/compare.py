"""What differs between two items: the compare view's logic, as plain functions.

- Text: a token diff (difflib over tokens that keep LaTeX commands, numbers, Hangul words and
  Latin words whole), so `$37+25$` against `$38+25$` shows one changed number, not a changed
  formula. Numbers that were replaced by other numbers are listed on their own.
- Choices: matched by content first (a choice that only moved is "moved", not "changed"), then by
  position for the rest (a changed choice gets its own token diff); leftovers are added/removed.
- Metadata: field by field, with display values.
- Figures: the same SHA-256 is "identical"; a perceptual-hash (pHash, 64 bits) Hamming distance
  up to NEAR_IDENTICAL_DISTANCE is "near-identical" (re-encoded, resized, lightly retouched);
  anything else is "different".

Tokens are compared after a light normalisation (`x^{2}` and `x^2`, `\\left(` and `(` compare
equal) so that re-typing does not show as a change.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import imagehash
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from itembank.content import choice_label
from itembank.models import Item, ItemImage

# pHash distance (of 64 bits) up to which two figures count as the same picture.
NEAR_IDENTICAL_DISTANCE = 8
# Below this token similarity a choice at the same position is "replaced", not "changed".
CHOICE_CHANGED_RATIO = 0.4

TOKEN = re.compile(
    r"""
    \\[A-Za-z]+              # a LaTeX command: \frac, \sqrt
  | \\.                      # an escaped symbol: \{ \, \%
  | \d+(?:[.,]\d+)*          # a number: 12, 3.5, 1,200
  | [가-힣ㄱ-ㅎㅏ-ㅣ]+        # a run of Hangul
  | [A-Za-z]+                # a Latin word or variable
  | \$\$                     # display-math delimiter
  | \S                       # any other single character
    """,
    re.VERBOSE,
)
NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
# Tokens that only space or size a formula; dropped before comparing.
IGNORED_TOKENS = {
    "\\left",
    "\\right",
    "\\displaystyle",
    "\\textstyle",
    "\\,",
    "\\;",
    "\\:",
    "\\!",
    "\\ ",
    "\\quad",
    "\\qquad",
}


@dataclass(frozen=True)
class Token:
    text: str  # as written, with the whitespace that followed it
    key: str  # what is compared

    @property
    def is_number(self) -> bool:
        return bool(NUMBER.match(self.key))


@dataclass(frozen=True)
class Segment:
    """A run of tokens on one side: `equal`, `delete` (left only), `insert` (right only) or
    `replace`; `number` marks a number replaced by another number."""

    op: str
    text: str
    number: bool = False


@dataclass
class TextDiff:
    left: list[Segment]
    right: list[Segment]
    ratio: float  # token similarity 0..1 (difflib's ratio)
    numbers: list[tuple[str, str]]  # (old, new) numbers that replaced each other

    @property
    def identical(self) -> bool:
        return all(s.op == "equal" for s in self.left + self.right)


def tokenize(text: str) -> list[Token]:
    """Tokens with their trailing whitespace; `x^{2}` and `x^2` give the same keys."""
    text = re.sub(r"\{(\w)\}", r"\1", text or "")
    tokens: list[Token] = []
    for match in TOKEN.finditer(text):
        end = match.end()
        while end < len(text) and text[end].isspace():
            end += 1
        raw = text[match.start() : end]
        key = match.group(0)
        if key in IGNORED_TOKENS:
            if tokens:  # keep the written text on the previous token so nothing is lost
                prev = tokens[-1]
                tokens[-1] = Token(prev.text + raw, prev.key)
            continue
        key = key.replace(",", "") if NUMBER.match(key) else key
        tokens.append(Token(raw, key))
    return tokens


def _join(tokens: list[Token]) -> str:
    return "".join(t.text for t in tokens)


def text_diff(a: str, b: str) -> TextDiff:
    ta, tb = tokenize(a), tokenize(b)
    matcher = difflib.SequenceMatcher(None, [t.key for t in ta], [t.key for t in tb], False)
    left: list[Segment] = []
    right: list[Segment] = []
    numbers: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            left.append(Segment("equal", _join(ta[i1:i2])))
            right.append(Segment("equal", _join(tb[j1:j2])))
        elif op == "delete":
            left.append(Segment("delete", _join(ta[i1:i2])))
        elif op == "insert":
            right.append(Segment("insert", _join(tb[j1:j2])))
        else:
            old, new = ta[i1:i2], tb[j1:j2]
            if len(old) == len(new):
                # Token by token, so each changed number is marked on its own.
                for x, y in zip(old, new, strict=True):
                    number = x.is_number and y.is_number
                    if number and x.key != y.key:
                        numbers.append((x.key, y.key))
                    same = x.key == y.key
                    left.append(Segment("equal" if same else "replace", x.text, number))
                    right.append(Segment("equal" if same else "replace", y.text, number))
            else:
                left.append(Segment("replace", _join(old)))
                right.append(Segment("replace", _join(new)))
                old_numbers = [t.key for t in old if t.is_number]
                new_numbers = [t.key for t in new if t.is_number]
                if len(old_numbers) == len(new_numbers):
                    numbers += [
                        (x, y) for x, y in zip(old_numbers, new_numbers, strict=True) if x != y
                    ]
    return TextDiff(_merge(left), _merge(right), matcher.ratio(), numbers)


def _merge(segments: list[Segment]) -> list[Segment]:
    """Join neighbouring segments of the same kind (numbers stay on their own)."""
    out: list[Segment] = []
    for seg in segments:
        if not seg.text:
            continue
        if out and out[-1].op == seg.op and not out[-1].number and not seg.number:
            out[-1] = Segment(seg.op, out[-1].text + seg.text)
        else:
            out.append(seg)
    return out


def comparable(text: str) -> str:
    """The comparison key of a whole text (used to match choices)."""
    return " ".join(t.key for t in tokenize(text))


# Choices ---------------------------------------------------------------------------------------


@dataclass
class ChoiceRow:
    status: str  # same, moved, changed, added, removed
    left_index: int | None
    right_index: int | None
    left: str = ""
    right: str = ""
    diff: TextDiff | None = None

    @property
    def left_label(self) -> str:
        return choice_label(self.left_index) if self.left_index is not None else ""

    @property
    def right_label(self) -> str:
        return choice_label(self.right_index) if self.right_index is not None else ""


@dataclass
class ChoiceComparison:
    rows: list[ChoiceRow]

    @property
    def reordered(self) -> bool:
        return any(row.status == "moved" for row in self.rows)

    @property
    def identical(self) -> bool:
        return all(row.status == "same" for row in self.rows)

    @property
    def changed(self) -> int:
        return sum(row.status != "same" for row in self.rows)


def compare_choices(a: list[str], b: list[str]) -> ChoiceComparison:
    keys_a = [comparable(c) for c in a]
    keys_b = [comparable(c) for c in b]
    right_of: dict[int, int] = {}
    taken: set[int] = set()
    # 1. Same content at the same position, then same content elsewhere (moved).
    for i, key in enumerate(keys_a):
        if i < len(keys_b) and keys_b[i] == key and i not in taken:
            right_of[i] = i
            taken.add(i)
    for i, key in enumerate(keys_a):
        if i in right_of:
            continue
        for j, other in enumerate(keys_b):
            if j not in taken and other == key:
                right_of[i] = j
                taken.add(j)
                break
    # 2. The rest: the choice at the same position when similar enough, else the most similar.
    for i in range(len(a)):
        if i in right_of:
            continue
        free = [j for j in range(len(b)) if j not in taken]
        if i in free and text_diff(a[i], b[i]).ratio >= CHOICE_CHANGED_RATIO:
            best: int | None = i
        else:
            scored = [(text_diff(a[i], b[j]).ratio, -j) for j in free]
            ratio, neg_j = max(scored, default=(0.0, 0))
            best = -neg_j if ratio >= CHOICE_CHANGED_RATIO else None
        if best is not None:
            right_of[i] = best
            taken.add(best)
    rows: list[ChoiceRow] = []
    for i, text in enumerate(a):
        j = right_of.get(i)
        if j is None:
            rows.append(ChoiceRow("removed", i, None, left=text))
        elif keys_a[i] == keys_b[j]:
            rows.append(ChoiceRow("same" if i == j else "moved", i, j, text, b[j]))
        else:
            rows.append(ChoiceRow("changed", i, j, text, b[j], text_diff(text, b[j])))
    for j, text in enumerate(b):
        if j not in taken:
            rows.append(ChoiceRow("added", None, j, right=text))
    rows.sort(
        key=lambda r: (r.left_index if r.left_index is not None else 10_000, r.right_index or 0)
    )
    return ChoiceComparison(rows)


# Metadata --------------------------------------------------------------------------------------

META_FIELDS = [
    "subject",
    "school_level",
    "grade",
    "unit",
    "achievement_standard",
    "item_type",
    "difficulty",
    "status",
    "source",
]


@dataclass(frozen=True)
class MetaRow:
    label: str
    left: str
    right: str

    @property
    def same(self) -> bool:
        return self.left == self.right


def _display(item: Item, name: str) -> str:
    getter = getattr(item, f"get_{name}_display", None)
    value = getter() if getter is not None else getattr(item, name)
    return "" if value is None else str(value)


def compare_metadata(a: Item, b: Item) -> list[MetaRow]:
    rows = [
        MetaRow(str(Item._meta.get_field(name).verbose_name), _display(a, name), _display(b, name))
        for name in META_FIELDS
    ]
    rows.append(MetaRow(_("tags"), ", ".join(a.tags or []), ", ".join(b.tags or [])))
    return rows


def answer_texts(item: Item) -> list[str]:
    """A multiple-choice answer "2,4" as the texts of those choices; else the answer itself."""
    parts = [p.strip() for p in (item.answer or "").split(",") if p.strip()]
    choices = item.choices or []
    if parts and all(p.isdigit() and 1 <= int(p) <= len(choices) for p in parts):
        return sorted(comparable(choices[int(p) - 1]) for p in parts)
    return [comparable(item.answer or "")]


# Figures ---------------------------------------------------------------------------------------


@dataclass
class ImageRow:
    status: str  # identical, near, different, only_left, only_right, unreadable
    left: ItemImage | None
    right: ItemImage | None
    distance: int | None = None


def perceptual_hash(image: ItemImage):
    """pHash of a stored figure, or None when the file cannot be read."""
    try:
        with image.file.open("rb") as handle, Image.open(handle) as img:
            img.load()
            return imagehash.phash(img.convert("RGB"))
    except (OSError, ValueError, UnidentifiedImageError):
        return None


def compare_images(left: list[ItemImage], right: list[ItemImage]) -> list[ImageRow]:
    rows: list[ImageRow] = []
    taken: set[int] = set()
    hashes: dict[int, object] = {}

    def phash(img: ItemImage):
        if img.pk not in hashes:
            hashes[img.pk] = perceptual_hash(img)
        return hashes[img.pk]

    for img in left:
        same = next(
            (j for j, other in enumerate(right) if j not in taken and other.sha256 == img.sha256),
            None,
        )
        if same is not None:
            taken.add(same)
            rows.append(ImageRow("identical", img, right[same], 0))
            continue
        mine = phash(img)
        best, best_distance = None, None
        for j, other in enumerate(right):
            theirs = phash(other) if j not in taken else None
            if mine is None or theirs is None:
                continue
            distance = int(mine - theirs)
            if best_distance is None or distance < best_distance:
                best, best_distance = j, distance
        if best is None:
            status = "unreadable" if mine is None else "only_left"
            rows.append(ImageRow(status, img, None))
            continue
        taken.add(best)
        assert best_distance is not None
        status = "near" if best_distance <= NEAR_IDENTICAL_DISTANCE else "different"
        rows.append(ImageRow(status, img, right[best], best_distance))
    for j, other in enumerate(right):
        if j not in taken:
            rows.append(ImageRow("only_right", None, other))
    return rows


# The whole comparison --------------------------------------------------------------------------


@dataclass
class Comparison:
    left: Item
    right: Item
    stem: TextDiff
    choices: ChoiceComparison
    metadata: list[MetaRow]
    images: list[ImageRow]
    explanation: TextDiff
    same_answer: bool
    summary: list[str] = field(default_factory=list)


def compare_items(a: Item, b: Item) -> Comparison:
    images_a = list(a.images.order_by("position", "id"))
    images_b = list(b.images.order_by("position", "id"))
    comparison = Comparison(
        left=a,
        right=b,
        stem=text_diff(a.stem, b.stem),
        choices=compare_choices(list(a.choices or []), list(b.choices or [])),
        metadata=compare_metadata(a, b),
        images=compare_images(images_a, images_b),
        explanation=text_diff(a.explanation or "", b.explanation or ""),
        same_answer=answer_texts(a) == answer_texts(b),
    )
    comparison.summary = summarise(comparison)
    return comparison


def summarise(c: Comparison) -> list[str]:
    """Short sentences a teacher reads first."""
    lines: list[str] = []
    if c.stem.identical:
        lines.append(_("The question text is the same."))
    else:
        lines.append(
            _("The question text is %(percent)d%% the same.")
            % {"percent": round(100 * c.stem.ratio)}
        )
    if c.stem.numbers:
        changes = ", ".join(f"{old} → {new}" for old, new in c.stem.numbers)
        lines.append(_("Numbers changed: %(changes)s.") % {"changes": changes})
    if c.choices.rows:
        if c.choices.identical:
            lines.append(_("The choices are the same."))
        elif c.choices.reordered and all(r.status in ("same", "moved") for r in c.choices.rows):
            lines.append(_("The same choices in a different order."))
        else:
            lines.append(_("%(count)d of the choices differ.") % {"count": c.choices.changed})
    lines.append(
        _("The answers point to the same content.")
        if c.same_answer
        else _("The answers are different.")
    )
    statuses = {row.status for row in c.images}
    if c.images:
        if statuses == {"identical"}:
            lines.append(_("The figures are identical."))
        elif statuses <= {"identical", "near"}:
            lines.append(_("The figures are nearly identical."))
        else:
            lines.append(_("The figures differ."))
    differing = [row.label for row in c.metadata if not row.same]
    if differing:
        lines.append(_("Details that differ: %(fields)s.") % {"fields": ", ".join(differing)})
    return lines
