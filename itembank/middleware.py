"""A database that cannot be reached answers 503 with a retry hint instead of a 500.

While PostgreSQL is down or restarting, every request that touches it (the session lookup behind
`request.user` is enough) raises `OperationalError` or `InterfaceError`; this middleware
turns those into a 503 with `Retry-After`: a standalone page (`templates/503.html`, rendered
without the database, the user or the context processors) or, for `/api/` and JSON clients,
`{"detail": ...}` — Korean unless the request asks for English. Each failure is logged once at
WARNING with the request path.

Only connection-level errors count: a connection refused or closed, or the server shutting down
or starting up (SQLSTATE class 08 and 57P01–57P03). Other database errors (a deadlock, a
statement timeout) stay 500s.

Recovery needs no restart: a connection that failed is closed at the start of the next request
(`CONN_MAX_AGE` with `conn_health_checks`), and the next query connects anew.

It sits near the top of MIDDLEWARE. Views are covered by `process_exception` (Django's and DRF's:
DRF re-raises errors it does not handle); an error inside an inner middleware (the session saved
in `process_response`) has already been turned into a 500 by Django when it reaches this one, so
`got_request_exception` marks the request and the 500 is replaced.
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER = 30  # seconds, sent as Retry-After
# Server-reported SQLSTATEs meaning "not available right now": admin_shutdown, crash_shutdown,
# cannot_connect_now (starting up or shutting down). Class 08 is "connection exception".
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
_MARK = "_itembank_database_unavailable"


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached (rather than a failed query)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    # Django re-raises psycopg's error `from` it; a connection failure has no SQLSTATE.
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES


def wants_json(request: HttpRequest) -> bool:
    if request.path.startswith("/api/"):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def unavailable_response(request: HttpRequest) -> HttpResponse:
    language = translation.get_language_from_request(request)
    with translation.override(language):
        if wants_json(request):
            response: HttpResponse = JsonResponse(
                {
                    "detail": _(
                        "The database is temporarily unavailable; try again in %(seconds)d seconds."
                    )
                    % {"seconds": RETRY_AFTER}
                },
                status=503,
            )
        else:
            html = render_to_string(
                "503.html",
                {"retry_after": RETRY_AFTER, "language": translation.get_language()},
            )
            response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
        response.headers["Content-Language"] = translation.get_language()
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Vary"] = "Accept-Language, Accept, Cookie"
    return response


def _mark_request(sender, request: HttpRequest | None = None, **kwargs) -> None:
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and is_unavailable(exc):
        setattr(request, _MARK, exc)


got_request_exception.connect(_mark_request, dispatch_uid="itembank.middleware.mark_request")


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        except (OperationalError, InterfaceError) as exc:  # with DEBUG_PROPAGATE_EXCEPTIONS
            if not is_unavailable(exc):
                raise
            return self._unavailable(request, exc)
        exc = getattr(request, _MARK, None)
        if exc is not None and response.status_code == 500:
            return self._unavailable(request, exc)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_unavailable(exception):
            return self._unavailable(request, exception)
        return None

    def _unavailable(self, request: HttpRequest, exc: BaseException) -> HttpResponse:
        logger.warning(
            "database unavailable during %s %s: %s",
            request.method,
            request.path,
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
        )
        response = unavailable_response(request)
        # Logged above, once: django.request would log every 5xx again at ERROR.
        response._has_been_logged = True
        return response
