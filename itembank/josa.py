"""Korean particles (조사) chosen from the word they follow.

Korean messages name things that are only known when the message is built (“%(path)s”, a
campaign's name, an id), so their translations write both forms: "%(name)s을(를) 지웠습니다".
`resolve` picks one after the values are filled in: 을/를, 이/가, 은/는, 과/와 by whether the
word's last syllable has a final consonant (받침), (으)로 also by whether that consonant is ㄹ.
Digits and Latin letters count as read aloud in Korean (1 일, 2 이, 10 십; L 엘, M 엠, R 알).
A word whose reading cannot be told (a symbol, nothing) keeps the two-form marker.

No PyPI package does this (checked: `pip index versions josa`, `korean-josa` find nothing), and
the rule is a page of code, so it is ours.
"""

from __future__ import annotations

import re

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
RIEUL = 8  # index of ㄹ among the final consonants of a Hangul syllable

# Final consonant of each digit read in Sino-Korean: 0 영, 1 일, 2 이, 3 삼, 4 사, 5 오, 6 육,
# 7 칠, 8 팔, 9 구. None: no final consonant; "ㄹ": ㄹ; True: another one.
DIGITS: dict[str, bool | str | None] = {
    "0": True,
    "1": "ㄹ",
    "2": None,
    "3": True,
    "4": None,
    "5": None,
    "6": True,
    "7": "ㄹ",
    "8": "ㄹ",
    "9": None,
}
# Powers of ten a number ending in zeros is read by: 10 십, 100 백, 1000 천; 만, 억, 조.
TENS: dict[int, bool | str | None] = {1: True, 2: True, 3: True}
MYRIADS: dict[int, bool | str | None] = {1: True, 2: True, 3: None}
# Latin letters read by name: L 엘, M 엠, N 엔, R 알 end in a consonant; the others (에이, 비,
# 씨, …, 에스, 엑스) do not.
LETTERS: dict[str, bool | str] = {"l": "ㄹ", "m": True, "n": True, "r": "ㄹ"}
# Closing marks between a word and its particle: “name”을, (a)를, 'x'가.
CLOSING = "\"'”’)]}」』>›»"

MARKERS = {
    "을(를)": ("을", "를"),
    "를(을)": ("을", "를"),
    "이(가)": ("이", "가"),
    "가(이)": ("이", "가"),
    "은(는)": ("은", "는"),
    "는(은)": ("은", "는"),
    "과(와)": ("과", "와"),
    "와(과)": ("과", "와"),
    "(으)로": ("으로", "로"),
}
MARKER_PATTERN = re.compile("|".join(re.escape(marker) for marker in MARKERS))


def final_consonant(word: str) -> bool | str | None:
    """How `word` ends when read aloud: None (a vowel), "ㄹ", or True (another consonant).
    Raises ValueError when it cannot be told."""
    word = word.rstrip(CLOSING)
    if not word:
        raise ValueError("no word")
    last = word[-1]
    code = ord(last)
    if HANGUL_FIRST <= code <= HANGUL_LAST:
        final = (code - HANGUL_FIRST) % 28
        return None if final == 0 else "ㄹ" if final == RIEUL else True
    if last.isascii() and last.isdigit():
        digits = re.search(r"[0-9]+$", word).group()  # type: ignore[union-attr]
        if int(digits) == 0:
            return DIGITS["0"]
        zeros = len(digits) - len(digits.rstrip("0"))
        if zeros == 0:
            return DIGITS[last]
        if zeros % 4:
            return TENS[zeros % 4]
        return MYRIADS[min(zeros // 4, 3)]
    if last.isascii() and last.isalpha():
        tail = re.search(r"[A-Za-z]+$", word).group()  # type: ignore[union-attr]
        if len(tail) == 1 or tail.isupper() or not re.search("[aeiouyAEIOUY]", tail):
            # an initial or an acronym (SQL, png): letters by name
            return LETTERS.get(last.lower())
        # an English word: -l, -m, -n, -ng end in a consonant when read (control, item, run,
        # ring); the others are taken as read ending in a vowel (default, space, user)
        if tail.lower().endswith("ng"):
            return True
        return None if last.lower() == "r" else LETTERS.get(last.lower())
    raise ValueError(f"cannot tell how {last!r} is read")


def particle(word: str, marker: str) -> str:
    """The particle of `marker` ("을(를)", "이(가)", "은(는)", "과(와)", "(으)로") for `word`;
    the marker itself when the word's reading cannot be told."""
    with_consonant, without = MARKERS[marker]
    try:
        final = final_consonant(word)
    except ValueError:
        return marker
    if with_consonant == "으로":
        return "으로" if final is True else "로"
    return with_consonant if final else without


def resolve(text: str) -> str:
    """`text` with every two-form particle marker replaced by the one its word takes."""

    def replace(match: re.Match[str]) -> str:
        return particle(text[: match.start()], match.group())

    return MARKER_PATTERN.sub(replace, text)
