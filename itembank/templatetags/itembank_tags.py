"""Template helpers of the authoring UI: choice numbering, short stems, badge classes."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.http import QueryDict

from .. import josa as _josa
from ..content import choice_label as _choice_label
from ..models import LATEX_PATTERN

register = template.Library()

SUBJECT_CLASSES = {
    "국어": "kor",
    "수학": "math",
    "영어": "eng",
    "사회": "soc",
    "과학": "sci",
    "한국사": "hist",
    "정보": "info",
}


@register.filter
def choice_label(index: int) -> str:
    """0 → ①, 1 → ②, …"""
    return _choice_label(int(index))


@register.filter
def subject_class(subject: str) -> str:
    return SUBJECT_CLASSES.get(subject, "other")


@register.filter
def short_stem(text: str, limit: int = 160) -> str:
    """The stem cut near `limit` characters, never inside a LaTeX formula."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = limit
    for match in LATEX_PATTERN.finditer(text):
        if match.start() < cut < match.end():
            cut = match.end() if match.end() - limit <= 200 else match.start()
            break
        if match.start() >= cut:
            break
    return text[:cut].rstrip() + " …"


@register.filter
def answer_labels(answer: str) -> str:
    """A multiple-choice answer "2,4" shown as "②, ④"; anything else is shown as typed."""
    parts = [p.strip() for p in str(answer).split(",")]
    if parts and all(p.isdigit() and 1 <= int(p) <= 99 for p in parts):
        return ", ".join(_choice_label(int(p) - 1) for p in parts)
    return str(answer)


@register.simple_tag
def query_with(query: QueryDict, **changes) -> str:
    """The current query string with some parameters replaced (None removes them)."""
    params = query.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(sorted(params.lists()), doseq=True) if params else "?"


@register.filter
def person(user) -> str:
    """A user's full name, else their username; empty for no user."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter(is_safe=True)
def josa(value: object) -> str:
    """Korean particles chosen from the word before them: "파일 a.csv을(를)" → "a.csv를"
    (itembank.josa)."""
    return _josa.resolve(str(value))
