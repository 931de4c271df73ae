"""Ground-truth sets (which items are relevant to which query item) and evaluation runs (how a
search configuration scores against a set).

A `GroundTruthSet` holds graded pairs (`GroundTruthPair`, relevance ≥ 1; a pair that is not
there is not relevant). Sets come in kinds: built from TF-IDF, judged by an LLM, planted by the
demo generator, labelled by experts, imported, or combined from two others (intersection is
the POC's "hybrid GT"). `provenance` records how a set was built.

An `EvaluationRun` is one configuration (space, mode, α, reranker, k) scored against one set, or
a run file scored without searching. Its metrics are shown only once it has succeeded; a run
that was interrupted is marked failed, never shown as complete.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from embeddings.models import EmbeddingSpace
from itembank.jobs import Job
from itembank.models import Item

MAX_RELEVANCE = 10


class GroundTruthSet(models.Model):
    class Kind(models.TextChoices):
        TFIDF = "tfidf", _("TF-IDF (automatic)")
        LLM = "llm", _("LLM judge")
        IMAGE = "image", _("Image judge")
        HYBRID = "hybrid", _("Hybrid")
        EXPERT = "expert", _("Expert labels")
        PLANTED = "planted", _("Planted (demo bank)")
        UNION = "union", _("Union of two sets")
        INTERSECTION = "intersection", _("Intersection of two sets")
        IMPORTED = "imported", _("Imported")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    description = models.TextField(_("description"), blank=True)
    provenance = models.JSONField(_("provenance"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("ground-truth set")
        verbose_name_plural = _("ground-truth sets")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroundTruthPair(models.Model):
    gt_set = models.ForeignKey(
        GroundTruthSet,
        on_delete=models.CASCADE,
        related_name="pairs",
        verbose_name=_("ground-truth set"),
    )
    query = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="+", verbose_name=_("query item")
    )
    relevant = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="+", verbose_name=_("relevant item")
    )
    relevance = models.PositiveSmallIntegerField(_("relevance"), default=1)

    class Meta:
        verbose_name = _("ground-truth pair")
        verbose_name_plural = _("ground-truth pairs")
        constraints = [
            models.UniqueConstraint(
                fields=["gt_set", "query", "relevant"], name="evaluation_pair_unique"
            ),
            models.CheckConstraint(
                condition=~Q(query=F("relevant")), name="evaluation_pair_not_self"
            ),
            models.CheckConstraint(
                condition=Q(relevance__gte=1) & Q(relevance__lte=MAX_RELEVANCE),
                name="evaluation_pair_relevance_range",
            ),
        ]
        indexes = [models.Index(fields=["gt_set", "query"])]

    def __str__(self) -> str:
        return f"{self.query_id} → {self.relevant_id} ({self.relevance})"


class EvaluationRun(Job):
    """One configuration scored against a set (`evaluate.execute`, the task `evaluation.run`).
    A redelivered message recomputes it from the start, also after it was failed as
    interrupted: it writes nothing but its own row."""

    task_name = "evaluation.run"
    kind = "evaluation"
    interrupted_error = _("Interrupted: the worker stopped before the run finished.")
    rerun_failed = True

    gt_set = models.ForeignKey(
        GroundTruthSet,
        on_delete=models.CASCADE,
        related_name="runs",
        verbose_name=_("ground-truth set"),
    )
    space = models.ForeignKey(
        EmbeddingSpace,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("embedding space"),
    )
    space_name = models.CharField(_("space name"), max_length=100, blank=True)
    mode = models.CharField(_("mode"), max_length=16)
    alpha = models.FloatField(_("α"), null=True, blank=True)
    rerank = models.BooleanField(_("reranker"), default=False)
    k = models.PositiveIntegerField(_("results per query"), default=100)
    sweep = models.CharField(_("sweep"), max_length=100, blank=True, db_index=True)
    config = models.JSONField(_("configuration"), default=dict, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    per_query = models.JSONField(_("per-query values"), null=True, blank=True)
    timings = models.JSONField(_("timings"), default=dict, blank=True)

    class Meta(Job.Meta):
        verbose_name = _("evaluation run")
        verbose_name_plural = _("evaluation runs")

    def __str__(self) -> str:
        return f"#{self.pk} {self.label} on {self.gt_set_id} ({self.status})"

    @property
    def label(self) -> str:
        """The configuration in a few characters: space · mode α · +rerank."""
        parts = [self.space_name or "run file", self.mode]
        if self.alpha is not None and self.mode == "hybrid":
            parts[-1] += f" α={self.alpha:g}"
        if self.rerank:
            parts[-1] += "+rerank"
        return " · ".join(parts)
