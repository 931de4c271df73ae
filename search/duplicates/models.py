"""Duplicate review: verdicts on pairs of items, and the scans that propose pairs to review.

A `PairDecision` is stored once per unordered pair (`item_a` has the smaller id) and every later
scan leaves decided pairs out, so a resolved group never comes back. A `DuplicateScan` writes its
candidate pairs and groups under itself; only a scan that finished (`succeeded`) is ever shown,
so an interrupted scan never passes for a complete one. A scan left running by a dead worker is
failed once its heartbeat is older than ITEMBANK_STALE_JOB_SECONDS (`itembank.jobs.fail_stale`).
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from embeddings.models import EmbeddingSpace
from itembank.jobs import Job
from itembank.models import Item


class PairDecision(models.Model):
    class Kind(models.TextChoices):
        DUPLICATE = "duplicate", _("Duplicate")
        VARIANT = "variant", _("Variant")
        ENEMY = "enemy", _("Enemy pair")
        NOT_DUPLICATE = "not_duplicate", _("Not a duplicate")

    item_a = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="pair_decisions_as_a", verbose_name=_("item")
    )
    item_b = models.ForeignKey(
        Item,
        on_delete=models.CASCADE,
        related_name="pair_decisions_as_b",
        verbose_name=_("other item"),
    )
    kind = models.CharField(_("decision"), max_length=16, choices=Kind.choices)
    keeper = models.ForeignKey(
        Item,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("item kept"),
        help_text=_("For a duplicate: the item that stays; the other one is retired."),
    )
    # The item this decision retired and the status it had, so undoing it can restore it.
    retired_item = models.ForeignKey(
        Item, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    retired_from = models.CharField(max_length=8, blank=True, editable=False)
    note = models.TextField(_("note"), blank=True, max_length=2000)
    decided_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pair_decisions",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("pair decision")
        verbose_name_plural = _("pair decisions")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["item_a", "item_b"], name="duplicates_one_per_pair"),
            models.CheckConstraint(
                condition=Q(item_a__lt=F("item_b")), name="duplicates_pair_ordered"
            ),
            models.CheckConstraint(
                condition=Q(keeper__isnull=True) | Q(keeper=F("item_a")) | Q(keeper=F("item_b")),
                name="duplicates_keeper_in_pair",
            ),
            models.CheckConstraint(
                condition=~Q(kind="duplicate") | Q(keeper__isnull=False),
                name="duplicates_duplicate_has_keeper",
            ),
        ]
        indexes = [models.Index(fields=["item_b", "kind"])]

    def __str__(self) -> str:
        return f"{self.item_a_id}–{self.item_b_id}: {self.kind}"

    @property
    def retired_id(self) -> int | None:
        if self.kind != self.Kind.DUPLICATE or self.keeper_id is None:
            return None
        return self.item_b_id if self.keeper_id == self.item_a_id else self.item_a_id


class DuplicateScan(Job):
    """A scan of the whole bank for candidate pairs (scan.py), run by the task
    `duplicates.run_scan`. A redelivered message reruns it from the start, also after it was
    failed as interrupted: it only ever writes rows of its own."""

    task_name = "duplicates.run_scan"
    kind = "scan"
    interrupted_error = _("Interrupted: the worker stopped before the scan finished.")
    rerun_failed = True

    class Phase(models.TextChoices):
        WAITING = "", _("Waiting")
        FINGERPRINTS = "fingerprints", _("Exact matches")
        NEIGHBOURS = "neighbours", _("Similar items")
        GROUPING = "grouping", _("Grouping")
        DONE = "done", _("Done")

    space = models.ForeignKey(
        EmbeddingSpace,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="duplicate_scans",
        verbose_name=_("embedding space"),
        help_text=_("Without a space only exact matches are found."),
    )
    phase = models.CharField(_("phase"), max_length=16, choices=Phase.choices, blank=True)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    pair_count = models.PositiveIntegerField(_("pairs"), default=0)
    group_count = models.PositiveIntegerField(_("groups"), default=0)

    class Meta(Job.Meta):
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")

    def __str__(self) -> str:
        return f"#{self.pk} ({self.status})"

    @classmethod
    def discard_partial(cls, pk: int) -> None:
        DuplicateGroup.objects.filter(scan_id=pk).delete()
        DuplicateCandidate.objects.filter(scan_id=pk).delete()


class DuplicateGroup(models.Model):
    """Items linked by candidate pairs (a connected component) found by one scan."""

    scan = models.ForeignKey(DuplicateScan, on_delete=models.CASCADE, related_name="groups")
    subject = models.CharField(_("subject"), max_length=16, db_index=True)
    max_score = models.FloatField(_("highest score"))
    size = models.PositiveIntegerField(_("items"))
    has_exact = models.BooleanField(_("exact match"), default=False)
    item_ids = models.JSONField(_("items"), default=list)
    newest_item_at = models.DateTimeField(_("newest item"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("duplicate group")
        verbose_name_plural = _("duplicate groups")
        ordering = ["-max_score", "id"]
        indexes = [
            models.Index(fields=["scan", "-max_score", "id"]),
            models.Index(fields=["scan", "-newest_item_at", "id"]),
        ]

    def __str__(self) -> str:
        return f"group {self.pk} ({self.size})"


class DuplicateCandidate(models.Model):
    """A proposed pair: its cosine similarity in the scan's space (when both items have a
    vector) and whether it is an exact match, and why."""

    class Exact(models.TextChoices):
        NONE = "", _("Model similarity")
        TEXT = "text", _("Same text")
        FIGURE = "figure", _("Same figures")

    scan = models.ForeignKey(DuplicateScan, on_delete=models.CASCADE, related_name="candidates")
    group = models.ForeignKey(
        DuplicateGroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="candidates",
    )
    item_a = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    item_b = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("similarity"), null=True, blank=True)
    exact = models.CharField(_("exact match"), max_length=8, choices=Exact.choices, blank=True)

    class Meta:
        verbose_name = _("candidate pair")
        verbose_name_plural = _("candidate pairs")
        constraints = [
            models.UniqueConstraint(
                fields=["scan", "item_a", "item_b"], name="duplicates_candidate_once"
            ),
            models.CheckConstraint(
                condition=Q(item_a__lt=F("item_b")), name="duplicates_candidate_ordered"
            ),
        ]
        indexes = [models.Index(fields=["item_a", "item_b"])]

    def __str__(self) -> str:
        return f"{self.item_a_id}–{self.item_b_id} ({self.score})"

    @property
    def is_exact(self) -> bool:
        return bool(self.exact)


class ItemFingerprint(models.Model):
    """What exact matching compares, cached per item until its content changes: a hash of the
    normalised text and the perceptual hashes of its figures, in order."""

    item = models.OneToOneField(
        Item, on_delete=models.CASCADE, primary_key=True, related_name="fingerprint"
    )
    content_hash = models.CharField(max_length=64)
    text_key = models.CharField(max_length=64, db_index=True)
    # [[sha256, phash], ...] of the figures in order.
    image_hashes = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("item fingerprint")
        verbose_name_plural = _("item fingerprints")

    def __str__(self) -> str:
        return f"{self.item_id}: {self.text_key[:12]}"
