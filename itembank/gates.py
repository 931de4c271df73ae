"""What the item form asks before it saves, plugged in by a higher layer.

itembank is the bottom layer and cannot import the duplicate check while authoring
(`search.authoring`); search registers it in SearchConfig.ready with `register_save_gate`.
With nothing registered every valid form saves as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from django.forms import ModelForm
from django.http import HttpRequest

from .models import Item


class SaveGate(Protocol):
    """The answer for one valid POST of the item form (see search.authoring.Gate)."""

    check: Any  # shown to the teacher as the "duplicates" of the form page when blocked

    @property
    def blocked(self) -> bool:
        """Show `check` instead of saving."""
        ...

    def record(self, request: HttpRequest, item: Item) -> int:
        """Called inside the save's transaction once the item is saved."""
        ...


class OpenGate:
    """Nothing to ask: save."""

    check = None
    blocked = False

    def record(self, request: HttpRequest, item: Item) -> int:
        return 0


GateFactory = Callable[[HttpRequest, ModelForm], SaveGate]
_factory: GateFactory | None = None


def register_save_gate(factory: GateFactory) -> None:
    """Make `factory(request, form)` the gate of the item form's create and edit views."""
    global _factory
    _factory = factory


def save_gate(request: HttpRequest, form: ModelForm) -> SaveGate:
    return OpenGate() if _factory is None else _factory(request, form)
