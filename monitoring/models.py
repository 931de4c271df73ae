"""Search latency: one row per search served to a user (see monitoring.timing)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchTiming(models.Model):
    class Source(models.TextChoices):
        WEB = "web", _("Search page")
        API = "api", _("API")
        SIMILAR = "similar", _("Similar items panel")
        AUTHORING = "authoring", _("Duplicate check while authoring")

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    mode = models.CharField(_("mode"), max_length=32, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    milliseconds = models.FloatField(_("milliseconds"))
    results = models.PositiveIntegerField(_("results"), default=0)
    ok = models.BooleanField(_("succeeded"), default=True)
    error = models.CharField(_("error"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("search timing")
        verbose_name_plural = _("search timings")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} {self.mode} {self.milliseconds:.1f} ms"
