"""Structured logs: every log line carries the id of the web request or Celery task it belongs
to, so one search or one item save can be followed from the web process to the workers.

- `RequestIdMiddleware` (first in MIDDLEWARE) takes the caller's ``X-Request-ID`` when it is a
  plausible id (at most 64 characters of ``A-Z a-z 0-9 . _ -``) or makes one (uuid4 hex), keeps
  it for the duration of the request and answers it in the ``X-Request-ID`` response header.
- Tasks published while a request (or a task) runs carry its id in a message header
  (``request_id``); `task_prerun` binds that id, the task id and the task name in the worker.
- `ContextFilter` copies the ids onto every record a handler sees; `PlainFormatter` (the default,
  readable in ``./dev run``) shows them in brackets, `JsonFormatter` (``LOG_FORMAT=json``, for
  production) writes one JSON object a line: ts, level, logger, message, request_id, task_id,
  task, exc.
- Celery's worker and beat use the same configuration (settings.LOGGING) instead of their own.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime

from celery import signals
from django.conf import settings
from django.utils.log import log_response

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)
task_name: ContextVar[str | None] = ContextVar("task_name", default=None)
# The URL name of the view serving the current request ("search:search"); see current_view().
view_name: ContextVar[str | None] = ContextVar("view_name", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "request_id"  # the Celery message header that carries the request id
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def valid_request_id(value: str | None) -> str | None:
    """`value` when it is usable as a request id, else None."""
    if value and _VALID_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_view() -> str | None:
    return view_name.get()


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Bind request_id / task_id / task_name / view_name for the duration of a block (for code
    that runs outside a request or task, such as management commands and tests)."""
    variables = {
        "request_id": request_id,
        "task_id": task_id,
        "task_name": task_name,
        "view_name": view_name,
    }
    tokens = [(variables[name], variables[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


# -- web requests -------------------------------------------------------------------------------


class RequestIdMiddleware:
    """First in MIDDLEWARE: binds the request id (and, once resolved, the view name)."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        rid = valid_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        request.request_id = rid
        rid_token = request_id.set(rid)
        view_token = view_name.set(None)
        try:
            response = self.get_response(request)
            # Django logs 4xx/5xx answers after the middleware has returned, when the id is no
            # longer bound; log them here instead (log_response marks them as logged).
            if response.status_code >= 400:
                log_response(
                    "%s: %s",
                    response.reason_phrase,
                    request.path,
                    response=response,
                    request=request,
                )
        finally:
            view_name.reset(view_token)
            request_id.reset(rid_token)
        response[REQUEST_ID_HEADER] = rid
        return response

    def process_view(self, request, view_func, view_args, view_kwargs) -> None:
        match = getattr(request, "resolver_match", None)
        view_name.set(match.view_name if match is not None else None)
        return None


# -- Celery -------------------------------------------------------------------------------------

_task_tokens: dict[str, list[tuple[ContextVar, Token]]] = {}


def _before_task_publish(headers: dict | None = None, **kwargs) -> None:
    rid = request_id.get()
    if rid and headers is not None:
        headers.setdefault(TASK_HEADER, rid)


def _task_prerun(sender=None, **kwargs) -> None:
    task = kwargs.get("task") or sender
    sent_by = getattr(getattr(task, "request", None), TASK_HEADER, None)
    values = [
        (task_id, kwargs.get("task_id")),
        (task_name, getattr(task, "name", None)),
        (request_id, valid_request_id(sent_by) or request_id.get()),
    ]
    tokens = [(variable, variable.set(value)) for variable, value in values]
    _task_tokens[str(kwargs.get("task_id"))] = tokens


def _task_postrun(sender=None, **kwargs) -> None:
    for variable, token in reversed(_task_tokens.pop(str(kwargs.get("task_id")), [])):
        try:
            variable.reset(token)
        except ValueError:  # set in another context (should not happen); clear it instead
            variable.set(None)


def _setup_logging(**kwargs) -> None:
    """Celery's worker and beat log through settings.LOGGING, like the web process."""
    logging.config.dictConfig(settings.LOGGING)


def connect_celery_signals() -> None:
    """Called once from itembank.celery, before any worker sets up its logging."""
    signals.setup_logging.connect(_setup_logging, weak=False)
    signals.before_task_publish.connect(_before_task_publish, weak=False)
    signals.task_prerun.connect(_task_prerun, weak=False)
    signals.task_postrun.connect(_task_postrun, weak=False)


# -- records and formats ------------------------------------------------------------------------


def _context(record: logging.LogRecord) -> dict[str, str | None]:
    """The ids of a record: those the filter stored on it, else the ones bound right now."""
    return {
        "request_id": getattr(record, "request_id", None) or request_id.get(),
        "task_id": getattr(record, "task_id", None) or task_id.get(),
        "task": getattr(record, "task", None) or task_name.get(),
    }


class ContextFilter(logging.Filter):
    """Adds request_id, task_id and task (None when unbound) to every record; put it on a
    handler so that it also sees records propagated from other loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context(record).items():
            setattr(record, name, value)
        return True


class PlainFormatter(logging.Formatter):
    """``ts LEVEL logger [req=… task=name[id]] message``; the brackets only when ids are bound."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **kwargs) -> None:
        super().__init__(
            fmt or "%(asctime)s %(levelname)s %(name)s %(context)s%(message)s", datefmt, **kwargs
        )

    def format(self, record: logging.LogRecord) -> str:
        ctx = _context(record)
        parts = []
        if ctx["request_id"]:
            parts.append(f"req={ctx['request_id']}")
        if ctx["task_id"]:
            parts.append(f"task={ctx['task'] or '?'}[{ctx['task_id']}]")
        record.context = f"[{' '.join(parts)}] " if parts else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (UTC, ISO 8601), level, logger, message, request_id, task_id,
    task, exc (the formatted traceback, or null)."""

    def format(self, record: logging.LogRecord) -> str:
        exc = None
        if record.exc_info:
            exc = self.formatException(record.exc_info)
        elif record.exc_text:
            exc = record.exc_text
        if record.stack_info:
            stack = self.formatStack(record.stack_info)
            exc = f"{exc}\n{stack}" if exc else stack
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
            "exc": exc,
        }
        return json.dumps(payload, default=str)
