"""Expert verification: campaigns of sampled query–candidate pairs, reviewers' labels and the
admins' adjudications of conflicting labels.

A pair keeps the external ids of its two items next to the foreign keys, so deleting an item
loses neither the pair nor its labels (the keys become null; the export still names the items).
`ReviewPair.applied_*` remembers what the pair's final verdict wrote into the expert ground
truth, so that undoing a label or changing an adjudication can take it back exactly.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from itembank.jobs import Job
from itembank.models import Item

MAX_GRADE = 3
MAX_REVIEWERS_PER_PAIR = 10


class LabelValue(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate")
    SIMILAR = "similar", _("Similar")
    NOT_SIMILAR = "not_similar", _("Not similar")


class Stratum(models.TextChoices):
    TP = "tp", _("True positive (in ground truth and in the top 3)")
    FP = "fp", _("Suspected false positive (top 3, not in ground truth)")
    FN = "fn", _("False negative (in ground truth, outside the top 10)")


class Campaign(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    guidelines = models.TextField(
        _("guidelines"),
        blank=True,
        max_length=50000,
        help_text=_("Shown beside the labelling form and before a reviewer's first pair."),
    )
    reviewers_per_pair = models.PositiveSmallIntegerField(
        _("reviewers per pair"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REVIEWERS_PER_PAIR)],
        help_text=_("How many reviewers label each pair independently."),
    )
    show_model_score = models.BooleanField(
        _("show the model's similarity to reviewers"), default=False
    )
    show_gt_label = models.BooleanField(
        _("show whether the pair is in the ground truth to reviewers"), default=False
    )
    gt_set = models.ForeignKey(
        "evaluation.GroundTruthSet",
        verbose_name=_("ground truth set"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_campaigns",
    )
    search_config = models.JSONField(_("search configuration"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )

    class Meta:
        verbose_name = _("review campaign")
        verbose_name_plural = _("review campaigns")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewers_per_pair__gte=1)
                & Q(reviewers_per_pair__lte=MAX_REVIEWERS_PER_PAIR),
                name="review_campaign_reviewers_range",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class SamplingJob(Job):
    """Drawing a new campaign's sample in the background (`sampling.run_sampling_job`, the task
    `review.sample_campaign`): it searches with every query of the ground truth set, which takes
    seconds to minutes, and then creates the campaign (in one transaction: nothing partial)."""

    task_name = "review.sample_campaign"
    kind = "sampling"
    interrupted_error = _("Interrupted: the worker stopped before the sample was drawn.")

    name = models.CharField(_("campaign name"), max_length=100)
    gt_set = models.ForeignKey(
        "evaluation.GroundTruthSet",
        verbose_name=_("ground truth set"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # sampling.SearchConfig as a dict, with the seed and the size of each stratum.
    search_config = models.JSONField(_("search configuration"), default=dict)
    reviewers_per_pair = models.PositiveSmallIntegerField(_("reviewers per pair"), default=1)
    # The campaign's other fields: description, guidelines, show_model_score, show_gt_label.
    campaign_fields = models.JSONField(default=dict, blank=True)
    campaign = models.OneToOneField(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sampling_job",
    )
    pair_count = models.PositiveIntegerField(_("pairs"), default=0)

    class Meta(Job.Meta):
        verbose_name = _("campaign sampling")
        verbose_name_plural = _("campaign samplings")

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class ReviewPair(models.Model):
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="pairs"
    )
    query = models.ForeignKey(
        Item,
        verbose_name=_("query item"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    candidate = models.ForeignKey(
        Item,
        verbose_name=_("candidate item"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    query_external_id = models.CharField(_("query external ID"), max_length=64)
    candidate_external_id = models.CharField(_("candidate external ID"), max_length=64)
    stratum = models.CharField(_("stratum"), max_length=32, blank=True)
    similarity = models.FloatField(_("search similarity"), null=True, blank=True)
    rank = models.PositiveIntegerField(_("rank in the search"), null=True, blank=True)
    in_ground_truth = models.BooleanField(_("in the ground truth"), default=False)
    position = models.PositiveIntegerField(_("position"))
    # What the final verdict wrote into the expert ground truth (see services.sync_pair).
    applied_label = models.CharField(max_length=16, blank=True, editable=False)
    applied_relevance = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    previous_relevance = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    recorded_not_duplicate = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("review pair")
        verbose_name_plural = _("review pairs")
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "position"], name="review_pair_unique_position"
            ),
            models.UniqueConstraint(
                fields=["campaign", "query_external_id", "candidate_external_id"],
                name="review_pair_unique_items",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.query_external_id} ↔ {self.candidate_external_id}"

    @property
    def items_exist(self) -> bool:
        return self.query_id is not None and self.candidate_id is not None

    @property
    def stratum_label(self) -> str:
        return stratum_label(self.stratum)


def stratum_label(code: str) -> str:
    """The stratum in words; a code no longer among the choices reads as itself."""
    return str(Stratum(code).label) if code in Stratum.values else code


class Label(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        SKIPPED = "skipped", _("Skipped")

    pair = models.ForeignKey(
        ReviewPair, verbose_name=_("pair"), on_delete=models.CASCADE, related_name="labels"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="review_labels",
    )
    label = models.CharField(_("label"), max_length=16, choices=LabelValue.choices, blank=True)
    grade = models.PositiveSmallIntegerField(
        _("grade"), null=True, blank=True, validators=[MaxValueValidator(MAX_GRADE)]
    )
    note = models.TextField(_("note"), blank=True, max_length=2000)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    seconds_spent = models.PositiveIntegerField(_("seconds spent"), default=0)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        ordering = ["pair", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["pair", "reviewer"], name="review_label_once"),
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__lte=MAX_GRADE),
                name="review_label_grade_range",
            ),
            models.CheckConstraint(
                condition=~Q(status="submitted") | ~Q(label=""),
                name="review_label_submitted_has_label",
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "status", "finished_at"])]

    def __str__(self) -> str:
        return f"{self.pair} · {self.reviewer} · {self.label or '—'}"


class Adjudication(models.Model):
    pair = models.OneToOneField(
        ReviewPair, verbose_name=_("pair"), on_delete=models.CASCADE, related_name="adjudication"
    )
    label = models.CharField(_("final label"), max_length=16, choices=LabelValue.choices)
    grade = models.PositiveSmallIntegerField(
        _("grade"), null=True, blank=True, validators=[MaxValueValidator(MAX_GRADE)]
    )
    note = models.TextField(_("note"), blank=True, max_length=2000)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), auto_now=True)

    class Meta:
        verbose_name = _("adjudication")
        verbose_name_plural = _("adjudications")
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__lte=MAX_GRADE),
                name="review_adjudication_grade_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pair}: {self.label}"
