"""Search settings an admin can change, and the keyword tokens BM25 reads.

`SearchSettings` is a single row (`SearchSettings.load()`): the defaults of `search.engine`
(space, mode, α, k, reranker) and the similarity thresholds the duplicate checks use.
`ItemKeywords` keeps each item's Kiwi tokens with the content hash they were computed from, so
the in-process BM25 index is rebuilt from stored tokens instead of re-tokenising the bank.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from itembank.models import Item, Subject

DEFAULT_DUPLICATE_THRESHOLD = 0.92
DEFAULT_VARIANT_THRESHOLD = 0.80


class SearchMode(models.TextChoices):
    DENSE = "dense", _("Dense (embedding)")
    BM25 = "bm25", _("Keyword (BM25)")
    HYBRID = "hybrid", _("Hybrid (weighted)")
    RRF = "rrf", _("Hybrid (reciprocal rank fusion)")


class RerankerBackend(models.TextChoices):
    QWEN3_VL = "qwen3-vl-reranker", _("Qwen3-VL-Reranker")
    CROSS_ENCODER = "cross-encoder", _("Cross-encoder (sequence classification)")


def _check_thresholds(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError(_('Write an object such as {"수학": 0.92}.'))
    subjects = set(Subject.values)
    for subject, threshold in value.items():
        if subject not in subjects:
            raise ValidationError(_("Unknown subject %(name)s.") % {"name": subject})
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValidationError(
                _("The threshold of %(name)s must be a number.") % {"name": subject}
            )
        if not 0 <= threshold <= 1:
            raise ValidationError(
                _("The threshold of %(name)s must be between 0 and 1.") % {"name": subject}
            )


unit_interval = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class SearchSettings(models.Model):
    """The one row of search defaults (primary key 1)."""

    default_space = models.ForeignKey(
        "embeddings.EmbeddingSpace",
        verbose_name=_("default space"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: the embedding space marked as default."),
    )
    mode = models.CharField(
        _("default mode"), max_length=8, choices=SearchMode.choices, default=SearchMode.DENSE
    )
    alpha = models.FloatField(
        _("hybrid weight α"),
        default=0.7,
        validators=unit_interval,
        help_text=_("Weight of the dense score in hybrid search: α·dense + (1−α)·keyword."),
    )
    k = models.PositiveIntegerField(
        _("results per search"), default=10, validators=[MinValueValidator(1)]
    )
    max_k = models.PositiveIntegerField(
        _("most results per search"),
        default=200,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
    )
    rerank = models.BooleanField(_("rerank by default"), default=False)
    rerank_top_n = models.PositiveIntegerField(
        _("results to rerank"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("How many first-stage results the reranker re-scores."),
    )
    reranker_backend = models.CharField(
        _("reranker"),
        max_length=32,
        choices=RerankerBackend.choices,
        default=RerankerBackend.QWEN3_VL,
    )
    reranker_model_path = models.CharField(
        _("reranker model path"),
        max_length=500,
        blank=True,
        help_text=_("Local directory of the reranker's weights."),
    )
    reranker_device = models.CharField(
        _("reranker device"),
        max_length=32,
        default="cpu",
        help_text=_("cpu runs it in the web process; cuda runs it on the GPU worker."),
    )
    reranker_dtype = models.CharField(_("reranker dtype"), max_length=16, default="float32")
    query_timeout = models.FloatField(
        _("GPU worker timeout (seconds)"),
        default=10.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(300)],
        help_text=_("How long a search waits for the GPU worker to embed or rerank a query."),
    )
    duplicate_thresholds = models.JSONField(
        _("duplicate thresholds per subject"),
        default=dict,
        blank=True,
        validators=[_check_thresholds],
        help_text=_('Cosine similarity per subject, e.g. {"수학": 0.95}; others use the default.'),
    )
    duplicate_threshold_default = models.FloatField(
        _("duplicate threshold"), default=DEFAULT_DUPLICATE_THRESHOLD, validators=unit_interval
    )
    variant_thresholds = models.JSONField(
        _("variant thresholds per subject"),
        default=dict,
        blank=True,
        validators=[_check_thresholds],
    )
    variant_threshold_default = models.FloatField(
        _("variant threshold"), default=DEFAULT_VARIANT_THRESHOLD, validators=unit_interval
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("search settings")
        verbose_name_plural = _("search settings")

    def __str__(self) -> str:
        return str(_("Search settings"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.k and self.max_k and self.k > self.max_k:
            raise ValidationError({"k": _("Cannot be more than the most results per search.")})
        if self.variant_threshold_default > self.duplicate_threshold_default:
            raise ValidationError(
                {"variant_threshold_default": _("Must not be above the duplicate threshold.")}
            )

    @classmethod
    def load(cls) -> SearchSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj

    def duplicate_threshold(self, subject: str) -> float:
        """Cosine similarity at or above which two items of `subject` are probable duplicates."""
        return float(
            (self.duplicate_thresholds or {}).get(subject, self.duplicate_threshold_default)
        )

    def variant_threshold(self, subject: str) -> float:
        """Cosine similarity at or above which (and below the duplicate one) items are variants."""
        return float((self.variant_thresholds or {}).get(subject, self.variant_threshold_default))


class ItemKeywords(models.Model):
    """An item's BM25 tokens and the content hash they were computed from."""

    item = models.OneToOneField(
        Item, on_delete=models.CASCADE, primary_key=True, related_name="keywords"
    )
    content_hash = models.CharField(_("content hash"), max_length=64)
    tokens = models.JSONField(_("tokens"), default=list)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("item keywords")
        verbose_name_plural = _("item keywords")

    def __str__(self) -> str:
        return f"{self.item_id}: {len(self.tokens)} tokens"
