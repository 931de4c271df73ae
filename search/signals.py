"""Signals the search layer sends; higher layers listen (monitoring, in its AppConfig.ready)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after every call of `search.engine.search`, whether it succeeded or failed, with
# `mode` (str), `milliseconds` (the wall time, float), `results` (the number of hits) and
# `error` (the exception's class name; "" when it succeeded). Receivers must not raise: an
# exception would reach the caller of the search.
search_timed = Signal()
