"""Near-identical duplicates: the same item as someone else re-typed it."""

from __future__ import annotations

import re
from random import Random

from .base import Draft

# Wording a re-typist changes without changing the question: endings, particles, connectives.
REWORDINGS = [
    ("것은?", "것은 무엇인가?"),
    ("고르면?", "고른 것은?"),
    ("값은?", "값을 구하면?"),
    ("구하시오.", "구하여라."),
    ("서술하시오.", "서술하여라."),
    ("쓰시오.", "쓰시오"),
    ("다음 중 ", "다음에서 "),
    ("그림과 같이 ", "그림처럼 "),
    ("그림은 ", "다음 그림은 "),
    ("이다.", "입니다."),
    ("이때, ", "이때 "),
    ("(단, ", "(단 "),
    ("을(를)", "를"),
    ("옳은 것은?", "바른 것은?"),
    ("가장 적절한 것은?", "가장 알맞은 것은?"),
]
LATEX_SEGMENT = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.DOTALL)


def respace(text: str, rng: Random) -> str:
    """Double one space, or drop the space after a comma, or add a trailing blank line."""
    spaces = [m.start() for m in re.finditer(" ", text)]
    choice = rng.randrange(3)
    if choice == 0 and spaces:
        at = rng.choice(spaces)
        return text[:at] + "  " + text[at + 1 :]
    if choice == 1 and ", " in text:
        return text.replace(", ", ",", 1)
    return text.replace("\n", "\n\n", 1) if "\n" in text else text + " "


def repunctuate(text: str, rng: Random) -> str:
    if text.rstrip().endswith("?"):
        return text.rstrip()[:-1] + rng.choice([" ?", "?  ", ""])
    if text.rstrip().endswith("."):
        return text.rstrip()[:-1]
    if "? (" in text:
        return text.replace("? (", "?(", 1)
    return text + "."


def reword(text: str, rng: Random) -> str:
    options = [(a, b) for a, b in REWORDINGS if a in text]
    if not options:
        return text
    a, b = rng.choice(options)
    return text.replace(a, b, 1)


def relatex(text: str, rng: Random) -> str:
    """Spell the same LaTeX differently: x^2 → x^{2}, \\frac → \\dfrac, spacing around = and +."""
    style = rng.randrange(3)

    def change(match: re.Match[str]) -> str:
        segment = match.group(0)
        if style == 0:
            return re.sub(r"\^(\w)", r"^{\1}", segment)
        if style == 1:
            return segment.replace("\\frac", "\\dfrac")
        return re.sub(r" ?([=+]) ?", r"\1", segment)

    changed = LATEX_SEGMENT.sub(change, text)
    if changed == text:  # nothing of that style here: try the spacing one
        changed = LATEX_SEGMENT.sub(lambda m: re.sub(r" ?([=+]) ?", r"\1", m.group(0)), text)
    return changed


def reorder(draft: Draft, rng: Random) -> Draft:
    choices = list(draft.choices)
    if len(choices) < 2 or not draft.answer.isdigit():
        return draft
    correct = choices[int(draft.answer) - 1]
    order = list(range(len(choices)))
    while order == list(range(len(choices))):
        rng.shuffle(order)
    new = [choices[i] for i in order]
    return draft.with_changes(choices=tuple(new), answer=str(new.index(correct) + 1))


def make_duplicate(rng: Random, original: Draft) -> tuple[Draft, tuple[str, ...], str]:
    """Returns the duplicate, the names of the changes made and how its figure is re-encoded
    ("jpeg", "resize", "border" or "" for the same file)."""
    available = ["whitespace", "punctuation", "wording"]
    if original.choices and original.answer.isdigit():
        available.append("choice_order")
    if LATEX_SEGMENT.search(original.stem) or any(
        LATEX_SEGMENT.search(c) for c in original.choices
    ):
        available.append("latex")
    picked = sorted(rng.sample(available, min(len(available), rng.choice([2, 2, 3]))))
    draft = original
    applied: list[str] = []
    for change in picked:
        before = draft
        if change == "whitespace":
            draft = draft.with_changes(stem=respace(draft.stem, rng))
        elif change == "punctuation":
            draft = draft.with_changes(stem=repunctuate(draft.stem, rng))
        elif change == "wording":
            draft = draft.with_changes(stem=reword(draft.stem, rng))
        elif change == "choice_order":
            draft = reorder(draft, rng)
        elif change == "latex":
            draft = draft.with_changes(
                stem=relatex(draft.stem, rng),
                choices=tuple(relatex(c, rng) for c in draft.choices),
            )
        if draft != before:
            applied.append(change)
    if draft.stem == original.stem and draft.choices == original.choices:
        draft = draft.with_changes(stem=draft.stem + " ")
        applied.append("whitespace")
    reencode = ""
    if original.figure is not None and rng.random() < 0.7:
        reencode = rng.choice(["jpeg", "resize", "border"])
    return draft, tuple(applied), reencode
