"""Views that fail the way they do while PostgreSQL is away, for test_database_unavailable.py."""

from __future__ import annotations

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


def django_error(cause: psycopg.Error) -> OperationalError:
    """What Django raises for a psycopg error: its own class, `from` psycopg's."""
    try:
        raise OperationalError(*cause.args) from cause
    except OperationalError as exc:
        return exc


def refused(request: HttpRequest) -> HttpResponse:
    raise django_error(psycopg.OperationalError("connection failed: Connection refused"))


def shutting_down(request: HttpRequest) -> HttpResponse:
    raise django_error(
        psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    )


def closed(request: HttpRequest) -> HttpResponse:
    raise InterfaceError("connection already closed")


def deadlock(request: HttpRequest) -> HttpResponse:
    raise django_error(psycopg.errors.DeadlockDetected("deadlock detected"))


def session_write(request: HttpRequest) -> HttpResponse:
    request.session["seen"] = True  # saved by SessionMiddleware after the view
    return HttpResponse("ok")


class DrfRefused(APIView):
    permission_classes = [AllowAny]

    def get(self, request) -> Response:
        raise django_error(psycopg.OperationalError("server closed the connection unexpectedly"))


urlpatterns = [
    path("refused/", refused),
    path("shutting-down/", shutting_down),
    path("closed/", closed),
    path("deadlock/", deadlock),
    path("session/", session_write),
    path("api/refused/", DrfRefused.as_view()),
]
