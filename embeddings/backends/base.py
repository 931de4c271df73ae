"""The backend protocol every embedding model implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from itembank.content import ModelInput


class BackendError(Exception):
    """A model could not be loaded or run; the message is shown to admins as is."""


@dataclass(frozen=True)
class BackendConfig:
    """What a backend needs to load: mirrors the fields of an embedding space."""

    backend: str
    model_path: str = ""  # local directory (or package name for packaged models)
    dimensions: int | None = None  # Matryoshka truncation; None = the model's full size
    instruction: str = ""
    dtype: str = "float32"  # float32 | float16 | bfloat16
    device: str = "cpu"  # cpu | cuda | cuda:N
    options: dict = field(default_factory=dict)


class EmbeddingBackend(Protocol):
    name: str
    dimensions: int  # length of the vectors embed() returns
    modalities: frozenset[str]  # subset of {"text", "image"}
    revision: str  # identifies the weights (e.g. a checksum of the config + weights)

    def embed(self, inputs: Sequence[ModelInput], batch_size: int = 16) -> np.ndarray:
        """Return an array (len(inputs), dimensions) of float32 unit vectors."""
        ...

    def embed_query(self, text: str = "", image_paths: Sequence[str] = ()) -> np.ndarray:
        """Embed a search query (may use a query-side instruction); shape (dimensions,)."""
        ...
