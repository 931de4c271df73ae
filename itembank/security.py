"""Security pieces the settings plug in: the Permissions-Policy header, the login-lockout page
of django-axes and the client address axes counts failed logins against.

The Content-Security-Policy itself is django-csp's (settings.CONTENT_SECURITY_POLICY, sent by
csp.middleware.CSPMiddleware): the app's own scripts, styles, fonts and images only. KaTeX,
htmx and the Swagger UI are served from our static files, and no template carries an inline
script. django-csp has no Permissions-Policy, hence the small middleware below.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext

# Browser features no page of the item bank uses.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "serial",
        "bluetooth",
        "magnetometer",
        "gyroscope",
        "accelerometer",
    )
)


class PermissionsPolicyMiddleware:
    """Adds Permissions-Policy to every response that has none, error pages included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


# Login throttling (django-axes) ---------------------------------------------------------------


def client_ip(request: HttpRequest) -> str | None:
    """The address failed logins are counted against (AXES_CLIENT_IP_CALLABLE).

    Behind the TLS proxy (ITEMBANK_BEHIND_TLS_PROXY=1) REMOTE_ADDR is the proxy's, so take the
    last X-Forwarded-For entry: the address the proxy itself saw. Entries before it come from
    the client and could be forged to dodge the lockout."""
    if getattr(settings, "ITEMBANK_BEHIND_TLS_PROXY", False):
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        if forwarded and forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


def lockout_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    return max(1, math.ceil(cool_off.total_seconds() / 60))


def lockout_message() -> str:
    minutes = lockout_minutes()
    return ngettext(
        "Too many failed login attempts. Try again in %(minutes)d minute.",
        "Too many failed login attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """The login page again, with the lockout message instead of the form error
    (AXES_LOCKOUT_CALLABLE). Each further attempt restarts the cool-off, so the wait shown is
    the full cool-off time."""
    context = {
        "form": AuthenticationForm(request),
        "lockout_message": lockout_message(),
        "next": request.POST.get("next", "") if request.method == "POST" else "",
    }
    return render(
        request, "registration/login.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
