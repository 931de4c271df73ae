from django.http import HttpRequest

from . import permissions


def roles(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "can_edit_items": permissions.can_edit_items(user),
        "can_review": permissions.can_review(user),
        "can_administer": permissions.can_administer(user),
    }
