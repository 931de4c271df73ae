"""Embedding spaces and the vectors items have in them.

A space is one model with one configuration (backend, weights, dimension, instruction). Several
live side by side so a new model can be embedded, evaluated and switched to without downtime.
All vectors share one table with a dimension-less `halfvec` column; each space gets its own
partial HNSW expression index on `(embedding::halfvec(D)) WHERE space_id = N`, created and
dropped by `embeddings.services` (see shared/design/pgvector.md).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pgvector.django import HalfVectorField

from embeddings.backends.base import BackendConfig
from itembank.models import Item

# halfvec stores up to 16,000 dimensions; HNSW indexes halfvec up to 4,000.
MAX_DIMENSIONS = 16000
MAX_INDEXED_DIMENSIONS = 4000
MODALITIES = ("text", "image")


def default_modalities() -> list[str]:
    return ["text"]


class EmbeddingSpace(models.Model):
    name = models.SlugField(_("name"), max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=200, blank=True)
    backend = models.CharField(
        _("backend"), max_length=64, help_text=_("Name of a registered embedding backend.")
    )
    model_path = models.CharField(
        _("model path"),
        max_length=500,
        blank=True,
        help_text=_("Local directory of the model weights (or package name)."),
    )
    dimensions = models.PositiveIntegerField(
        _("dimensions"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DIMENSIONS)],
        help_text=_("Length of the stored vectors."),
    )
    modalities = models.JSONField(_("modalities"), default=default_modalities, blank=True)
    instruction = models.TextField(_("instruction"), blank=True)
    query_instruction = models.TextField(_("query instruction"), blank=True)
    dtype = models.CharField(_("dtype"), max_length=16, default="float32")
    device = models.CharField(_("device"), max_length=32, default="cpu")
    options = models.JSONField(_("options"), default=dict, blank=True)
    enabled = models.BooleanField(
        _("enabled"), default=True, help_text=_("Items are embedded into this space when saved.")
    )
    is_default = models.BooleanField(
        _("default"), default=False, help_text=_("The space similar-item search uses.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("embedding space")
        verbose_name_plural = _("embedding spaces")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="embeddings_one_default_space",
            ),
        ]

    def __str__(self) -> str:
        return self.label or self.name

    def config(self) -> BackendConfig:
        """What `embeddings.backends.registry.load_backend` needs to load this space's model.

        The query-side instruction travels in `options["query_instruction"]`.
        """
        options = dict(self.options or {})
        if self.query_instruction:
            options["query_instruction"] = self.query_instruction
        return BackendConfig(
            backend=self.backend,
            model_path=self.model_path,
            dimensions=self.dimensions,
            instruction=self.instruction,
            dtype=self.dtype,
            device=self.device,
            options=options,
        )

    @property
    def index_name(self) -> str:
        return f"embeddings_space_{self.pk}_hnsw"

    @property
    def indexable(self) -> bool:
        return self.dimensions <= MAX_INDEXED_DIMENSIONS


class ItemEmbedding(models.Model):
    """An item's vector in one space, and the content hash of the input it was computed from."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="embeddings")
    space = models.ForeignKey(EmbeddingSpace, on_delete=models.CASCADE, related_name="embeddings")
    embedding = HalfVectorField(_("embedding"))
    content_hash = models.CharField(_("content hash"), max_length=64)
    model_revision = models.CharField(_("model revision"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("item embedding")
        verbose_name_plural = _("item embeddings")
        constraints = [
            # space first: the same index serves "WHERE space_id = N" counts and joins.
            models.UniqueConstraint(fields=["space", "item"], name="embeddings_one_per_space"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} @ {self.space_id}"


class EmbeddingFailure(models.Model):
    """Why an item could not be embedded into a space; deleted once it embeds."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="embedding_failures")
    space = models.ForeignKey(EmbeddingSpace, on_delete=models.CASCADE, related_name="failures")
    content_hash = models.CharField(_("content hash"), max_length=64)
    error = models.TextField(_("error"))
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    first_failed_at = models.DateTimeField(_("first failed"), auto_now_add=True)
    last_failed_at = models.DateTimeField(_("last failed"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("embedding failure")
        verbose_name_plural = _("embedding failures")
        ordering = ["-last_failed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["space", "item"], name="embeddings_one_failure"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} @ {self.space_id}: {self.error[:60]}"
