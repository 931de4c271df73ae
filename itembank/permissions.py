"""Who may do what. Views, the admin and the API all ask these functions.

- teacher: authors items (create, edit, draft/active); reads everything in the bank
- reviewer: expert labeller; reads items, labels pairs
- admin: everything
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .models import ItemStatus, Role


def can_read_items(user) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_edit_items(user) -> bool:
    return bool(
        user.is_authenticated and user.is_active and user.role in (Role.TEACHER, Role.ADMIN)
    )


def can_review(user) -> bool:
    return bool(
        user.is_authenticated and user.is_active and user.role in (Role.REVIEWER, Role.ADMIN)
    )


def can_administer(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role == Role.ADMIN)


def can_set_status(user, current: str | None, new: str) -> bool:
    """Whether `user` may give an item (`current` is None for a new one) the status `new`.

    Teachers move items between draft and active; retiring an item and making a retired item
    draft or active again are for admins only (a retired item leaves every search and test).
    `itembank.services.check_status_change` applies this to every writer.
    """
    if current == new:
        return True
    if ItemStatus.RETIRED in (current, new):
        return can_administer(user)
    return can_edit_items(user)


def accept_token(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """View decorator for files the API links to (item images): an `Authorization: Token …`
    header signs the request in the way the API's TokenAuthentication does; a wrong or revoked
    token is 401, as in the API. Without the header the session applies as usual."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        authenticator = TokenAuthentication()
        try:
            # None without a "Token" header; it reads only the request's headers
            signed_in = authenticator.authenticate(request)  # type: ignore[arg-type]
        except AuthenticationFailed as exc:
            response = HttpResponse(str(exc.detail), status=401, content_type="text/plain")
            header = authenticator.authenticate_header(request)  # type: ignore[arg-type]
            response["WWW-Authenticate"] = header or "Token"
            return response
        if signed_in is not None:
            request.user = signed_in[0]
        return view(request, *args, **kwargs)

    return wrapper


def require(check: Callable[[object], bool]):
    """View decorator: log in first, then `check(request.user)` or 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
