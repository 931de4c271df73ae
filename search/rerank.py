"""Second-stage reranking: re-score the top results of a first-stage search.

Two backends, chosen in `SearchSettings`:

- ``qwen3-vl-reranker``: `embeddings.backends.qwen3_vl_reranker.Qwen3VLReranker` — the official
  yes/no recipe, text and images on both sides; the score is P(yes).
- ``cross-encoder``: any `AutoModelForSequenceClassification` checkpoint in a local directory,
  fed (query text, item text) pairs; one logit → sigmoid, two or more → softmax of the last label
  (the "relevant" class). Text only.

A model is loaded once per process (`get_reranker`). When the configured device is not ``cpu``
the scoring runs on the GPU worker (`search.tasks.rerank_task`, gpu queue) and the web process
waits for the answer; the web process never loads a GPU model.
"""

from __future__ import annotations

import base64
import tempfile
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from django.utils.translation import gettext as _

from embeddings.backends.base import BackendConfig, BackendError
from embeddings.backends.qwen3_vl import torch_device, torch_dtype
from embeddings.backends.qwen3_vl_reranker import Qwen3VLReranker
from itembank.content import ModelInput, model_input
from itembank.models import Item

QWEN3_VL = "qwen3-vl-reranker"
CROSS_ENCODER = "cross-encoder"
BACKENDS = (QWEN3_VL, CROSS_ENCODER)


@dataclass(frozen=True)
class RerankerConfig:
    backend: str
    model_path: str
    device: str = "cpu"
    dtype: str = "float32"

    @property
    def local(self) -> bool:
        return (self.device or "cpu") == "cpu"


@dataclass(frozen=True)
class RerankQuery:
    """What the reranker sees of a query: typed text, an uploaded image, or an existing item.
    Plain data, so it can travel to the GPU worker in a task message."""

    text: str = ""
    image_b64: str = ""  # the uploaded image's bytes, base64
    item_id: int | None = None

    @classmethod
    def build(cls, text: str = "", image: bytes | None = None, item_id: int | None = None):
        return cls(
            text=text or "",
            image_b64=base64.b64encode(image).decode("ascii") if image else "",
            item_id=item_id,
        )

    def as_dict(self) -> dict:
        return asdict(self)


class CrossEncoder:
    """A sequence-classification model from a local directory; scores (query, document) text."""

    def __init__(self, config: RerankerConfig) -> None:
        # Here, not at the top: torch and transformers take seconds to import and only the
        # process that loads a cross-encoder needs them (search.engine imports this module).
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(config.model_path or "").expanduser()
        if not config.model_path or not (path / "config.json").is_file():
            raise BackendError(
                _("No cross-encoder weights found in %(path)s.")
                % {"path": config.model_path or "—"}
            )
        self.device = torch_device(config.device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                str(path), local_files_only=True, dtype=torch_dtype(config.dtype)
            )
        except Exception as exc:  # transformers raises OSError, ValueError, KeyError...
            raise BackendError(
                _("Could not load the cross-encoder from %(path)s: %(error)s")
                % {"path": path, "error": exc}
            ) from exc
        self.model.to(self.device).eval()
        self.max_length = min(int(getattr(self.tokenizer, "model_max_length", 512) or 512), 512)
        self._torch = torch

    def score(
        self, query: ModelInput, documents: Sequence[ModelInput], batch_size: int = 16
    ) -> np.ndarray:
        torch = self._torch
        out = np.zeros(len(documents), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(documents), batch_size):
                chunk = documents[start : start + batch_size]
                batch = self.tokenizer(
                    [query.text] * len(chunk),
                    [doc.text for doc in chunk],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(**batch).logits.float()
                if logits.shape[-1] == 1:
                    probs = torch.sigmoid(logits[:, 0])
                else:
                    probs = torch.softmax(logits, dim=-1)[:, -1]
                out[start : start + len(chunk)] = probs.cpu().numpy()
        return out


_cache: dict[RerankerConfig, object] = {}
_lock = threading.Lock()


def get_reranker(config: RerankerConfig):
    """The loaded reranker for this config, loaded on first use in this process."""
    if config.backend not in BACKENDS:
        raise BackendError(_("Unknown reranker %(name)s.") % {"name": config.backend})
    with _lock:
        if config not in _cache:
            if config.backend == QWEN3_VL:
                _cache[config] = Qwen3VLReranker(
                    BackendConfig(
                        backend=QWEN3_VL,
                        model_path=config.model_path,
                        device=config.device,
                        dtype=config.dtype,
                    )
                )
            else:
                _cache[config] = CrossEncoder(config)
        return _cache[config]


def clear_cache() -> None:
    with _lock:
        _cache.clear()


@contextmanager
def query_input(query: RerankQuery):
    """The query as a ModelInput; an uploaded image lives in a temporary file meanwhile."""
    if query.item_id is not None:
        item = Item.objects.filter(pk=query.item_id).first()
        if item is None:
            raise BackendError(_("The query item no longer exists."))
        yield model_input(item)
        return
    if not query.image_b64:
        yield ModelInput(text=query.text)
        return
    with tempfile.TemporaryDirectory(prefix="rerank-") as tmp:
        path = Path(tmp) / "query-image"
        path.write_bytes(base64.b64decode(query.image_b64))
        yield ModelInput(text=query.text, image_paths=(str(path),))


def score_items(config: RerankerConfig, query: RerankQuery, item_ids: Sequence[int]) -> list[float]:
    """Reranker scores (probabilities) of the items for the query, in the order of `item_ids`,
    computed in this process. Raises BackendError when the model cannot be loaded or run."""
    reranker = get_reranker(config)
    items = Item.objects.in_bulk(list(item_ids))
    documents = []
    for pk in item_ids:
        item = items.get(pk)
        documents.append(model_input(item) if item is not None else ModelInput(text=""))
    with query_input(query) as q:
        if config.backend == CROSS_ENCODER and not q.text.strip():
            raise BackendError(_("The cross-encoder reranker reads text only; type a query."))
        try:
            scores = reranker.score(q, documents)
        except BackendError:
            raise
        except (RuntimeError, ValueError, OSError, MemoryError) as exc:
            raise BackendError(_("The reranker failed: %(error)s") % {"error": exc}) from exc
    return [float(s) for s in scores]
