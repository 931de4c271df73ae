"""What text may enter the product, in one place: every text input — forms, review and duplicate
notes, the API, imports — is refused when it holds a NUL character (PostgreSQL cannot store one
in text; unchecked it was a DataError, a 500).

The message is Django's own (`ProhibitNullCharactersValidator`, translated by Django), so the
item form's plain fields, which Django already checks, and the fields checked here read alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

reject_nul = ProhibitNullCharactersValidator()


def has_nul(value: object) -> bool:
    return isinstance(value, str) and "\x00" in value


def check_text(*values: str | Iterable[str] | None) -> None:
    """Raise ValidationError (Django's NUL message) when any of the strings, or of the strings in
    the lists given, holds a NUL character."""
    for value in values:
        if value is None:
            continue
        for text in [value] if isinstance(value, str) else value:
            reject_nul(text)


def nul_message() -> str:
    """The message `check_text` raises, for callers that report errors their own way."""
    try:
        reject_nul("\x00")
    except ValidationError as exc:
        return exc.messages[0]
    return ""  # pragma: no cover
