"""Korean names for the third-party apps the admin lists (django-axes, django-celery-results,
DRF's tokens, Django's users).

django-axes names its app "Axes" without marking it for translation, so INSTALLED_APPS uses
`AxesConfig` below instead of "axes". The model names those apps mark for translation have no
Korean catalogue (axes, celery results) or one that says "토큰(들)" / "사용자(들)": they are listed
here so `scripts/i18n.py` extracts them into our catalogue, whose translations come first
(LOCALE_PATHS), and locale/ko/LC_MESSAGES/parts/admin.po gives their Korean.
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class AxesConfig(AxesAppConfig):
    verbose_name = _("Login throttling")


THIRD_PARTY_NAMES = (
    # django.contrib.auth (AbstractUser's Meta)
    gettext_noop("user"),
    gettext_noop("users"),
    # rest_framework.authtoken
    gettext_noop("Auth Token"),
    gettext_noop("Token"),
    gettext_noop("Tokens"),
    # django_celery_results
    gettext_noop("Celery Results"),
    gettext_noop("task result"),
    gettext_noop("task results"),
    gettext_noop("group result"),
    gettext_noop("group results"),
    # axes
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
)
