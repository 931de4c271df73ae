"""Settings from the environment, checked: a value that is not understood stops the start-up.

`env_bool("ITEMBANK_X")` with "ture" raises ImproperlyConfigured naming the variable, the value
and what it accepts, instead of reading it as off. Every variable the settings read goes through
one of these functions, and every one is listed in the README's "Settings" table (a test checks
both). An empty value counts as unset (docker-compose's `${VAR:-}` passes one), so the default
applies.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T", int, float)

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def _raw(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _refuse(name: str, value: str, accepted: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r} is not understood: {accepted}.")


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name, "")
    return value if value else default


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise _refuse(name, value, f"use {'/'.join(TRUE)} for on or {'/'.join(FALSE)} for off")


def _number(name: str, default: T, kind: Callable[[str], T], what: str, minimum: float | None) -> T:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        raise _refuse(name, value, f"it must be {what}") from None
    if minimum is not None and number < minimum:
        raise _refuse(name, value, f"it must be {what} of at least {minimum:g}")
    return number


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    return _number(name, default, int, "a whole number", minimum)


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    number = _number(name, default, float, "a number", minimum)
    if not math.isfinite(number):
        raise _refuse(name, os.environ[name], "it must be a finite number")
    return number


def env_list(name: str, default: str = "") -> list[str]:
    """Comma-separated values; blanks around and between commas are dropped."""
    return [part.strip() for part in env_str(name, default).split(",") if part.strip()]


def env_choice(name: str, default: str, choices: Collection[str]) -> str:
    """One of `choices`, compared without regard to case, returned as spelled in `choices`."""
    value = _raw(name)
    if value is None:
        return default
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    raise _refuse(name, value, f"use one of {', '.join(choices)}")


def env_time_zone(name: str, default: str) -> str:
    """An IANA time zone name such as Asia/Seoul."""
    value = _raw(name)
    if value is None:
        return default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _refuse(name, value, "use an IANA time zone name such as Asia/Seoul") from None
    return value


def env_path(name: str, default: str | os.PathLike[str]) -> Path:
    return Path(env_str(name, str(default)))
