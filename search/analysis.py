"""Turning Korean item text (with LaTeX) into keyword tokens for BM25.

Korean: Kiwi morphemes, keeping content morphemes (nouns, numerals, foreign words, Hanja, verb and
adjective stems) and dropping particles, endings and punctuation, so `광합성에` and `광합성을` both
give `광합성`. Domain words Kiwi splits (삼각형 → 삼각 + 형) are added to its user dictionary.

LaTeX: math is not Korean, so it is cut out before Kiwi sees it and tokenised on its own:
commands become tokens (`\\frac` → `\\frac`), numbers and single-letter variables become tokens,
braces and spacing disappear — `$x^2$` and `$x^{2}$` give the same tokens.
"""

from __future__ import annotations

import re
import threading

from kiwipiepy import Kiwi

from itembank.models import LATEX_PATTERN

KEEP_TAGS = {"NNG", "NNP", "NNB", "NR", "NP", "XR", "SL", "SN", "SH", "VV", "VA"}
# Nouns that are only ever a particle-like function word in item stems.
STOP_FORMS = {"것", "수", "중", "등", "때", "다음", "하", "되", "있", "없", "이", "보"}
# Curriculum words Kiwi would split into a root and a suffix.
USER_WORDS = [
    "삼각형",
    "사각형",
    "오각형",
    "육각형",
    "다각형",
    "정삼각형",
    "이등변삼각형",
    "직각삼각형",
    "평행사변형",
    "직사각형",
    "정사각형",
    "마름모",
    "사다리꼴",
    "원기둥",
    "원뿔",
    "각기둥",
    "각뿔",
    "꼭짓점",
    "대각선",
    "이차방정식",
    "일차방정식",
    "연립방정식",
    "이차함수",
    "일차함수",
    "최댓값",
    "최솟값",
    "광합성",
    "세포막",
    "화학반응식",
    "산화환원",
]

LATEX_TOKEN = re.compile(r"\\[A-Za-z]+|\d+(?:\.\d+)?|[A-Za-z]|[=<>+\-*/^_|!]")
LATEX_DROP = {"\\left", "\\right", "\\displaystyle", "\\mathrm", "\\text", "\\quad", "\\,"}

_local = threading.local()


def kiwi():
    """One Kiwi per thread (loading takes about a second)."""
    instance = getattr(_local, "kiwi", None)
    if instance is None:
        instance = Kiwi()
        for word in USER_WORDS:
            instance.add_user_word(word, "NNG", 0)
        _local.kiwi = instance
    return instance


def latex_tokens(math: str) -> list[str]:
    tokens = []
    for token in LATEX_TOKEN.findall(math):
        if token in LATEX_DROP:
            continue
        tokens.append(token.lower() if len(token) > 1 and token[0] != "\\" else token)
    return tokens


def split_latex(text: str) -> tuple[str, list[str]]:
    """Return (text with the math replaced by spaces, the math's tokens)."""
    math_tokens: list[str] = []

    def replace(match: re.Match) -> str:
        math = match.group(0)
        math = math.strip("$") if math.startswith("$") else math[2:-2]
        math_tokens.extend(latex_tokens(math))
        return " "

    return LATEX_PATTERN.sub(replace, text), math_tokens


def tokenize(text: str) -> list[str]:
    """Keyword tokens of one text, in order (duplicates kept: BM25 counts them)."""
    prose, math = split_latex(text)
    tokens = []
    for token in kiwi().tokenize(prose):
        if token.tag.split("-")[0] not in KEEP_TAGS:
            continue
        form = token.form
        if token.tag == "SL":
            form = form.lower()
        if form in STOP_FORMS:
            continue
        tokens.append(form)
    return tokens + math


def tokenize_many(texts: list[str]) -> list[list[str]]:
    return [tokenize(text) for text in texts]
