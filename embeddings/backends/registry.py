"""Backend names → classes, and a per-process cache so each model is loaded once per worker."""

from __future__ import annotations

import dataclasses
import json
import threading
from importlib import import_module

from .base import BackendConfig, BackendError, EmbeddingBackend

BACKENDS: dict[str, str] = {
    # name: "module.Class"; the class is constructed as Class(config: BackendConfig)
    "qwen3-vl": "embeddings.backends.qwen3_vl.Qwen3VLEmbedder",
    "local-text": "embeddings.backends.local.TextEncoder",
    "local-image": "embeddings.backends.local.ImageEncoder",
    "concat": "embeddings.backends.local.ConcatEncoder",
    "default": "embeddings.backends.default.DefaultBackend",
}

_cache: dict[str, EmbeddingBackend] = {}
_lock = threading.Lock()


def backend_class(name: str) -> type:
    try:
        path = BACKENDS[name]
    except KeyError:
        raise BackendError(f"unknown embedding backend {name!r}") from None
    module, _, cls = path.rpartition(".")
    return getattr(import_module(module), cls)


def load_backend(config: BackendConfig) -> EmbeddingBackend:
    """Return the loaded backend for this config, loading it on first use in this process."""
    key = json.dumps(dataclasses.asdict(config), sort_keys=True, default=str)
    with _lock:
        if key not in _cache:
            _cache[key] = backend_class(config.backend)(config)
        return _cache[key]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
