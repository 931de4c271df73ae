"""A test double for an embedding model: hashes words (and image bytes) into a unit vector.

Deterministic, instant and torch-free, so the pipeline, tasks and admin can be tested against the
real database and a real worker. Options steer failures: `fail_load` (weights missing),
`oom` (every batch larger than one runs out of memory), `oom_text` (inputs containing that text
run out of memory even alone, raising an `OutOfMemoryError` as torch does), `fail_text` (inputs
containing that text raise). Options steer timing, for tests that interrupt a worker: `delay`
(seconds slept per batch) and `hold_file` (while that file exists, a batch waits before
embedding, bounded by HOLD_LIMIT, and touches `<hold_file>.held` to say so). With the
environment variable ITEMBANK_TEST_EMBED_LOG set, every embedded text is appended to that file
(one line each), so a test can count how often an item was embedded even in a worker process.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from embeddings.backends.base import BackendConfig, BackendError
from itembank.content import ModelInput

NAME = "test-hash"
PATH = "tests.embeddings.hashing_backend.HashingBackend"
HOLD_LIMIT = 120.0  # seconds a held batch waits at most


class OutOfMemoryError(RuntimeError):
    """Named as torch.cuda.OutOfMemoryError, which the pipeline recognises by name."""


def register() -> None:
    from embeddings.backends import registry

    registry.BACKENDS[NAME] = PATH
    registry.clear_cache()


class HashingBackend:
    name = NAME
    modalities = frozenset({"text", "image"})

    def __init__(self, config: BackendConfig) -> None:
        if config.options.get("fail_load"):
            raise BackendError(f"model weights not found in {config.model_path or '(none)'}")
        self.config = config
        self.dimensions = config.dimensions or 16
        self.revision = f"hash-v1-{self.dimensions}"

    def _vector(self, inp: ModelInput) -> np.ndarray:
        vec = np.zeros(self.dimensions, dtype=np.float32)
        tokens = inp.text.split()
        for path in inp.image_paths:
            with Image.open(path) as img:
                img.load()
                tokens.append(hashlib.sha256(img.tobytes()).hexdigest())
        for token in tokens:
            digest = hashlib.sha256(token.encode()).digest()
            vec[digest[0] % self.dimensions] += 1.0 if digest[1] % 2 else -1.0
        if not vec.any():
            vec[0] = 1.0
        return vec / np.linalg.norm(vec)

    def _wait(self) -> None:
        if delay := float(self.config.options.get("delay") or 0):
            time.sleep(delay)
        if hold := self.config.options.get("hold_file"):
            deadline = time.monotonic() + HOLD_LIMIT
            while os.path.exists(hold) and time.monotonic() < deadline:
                Path(f"{hold}.held").touch()
                time.sleep(0.05)

    def embed(self, inputs: Sequence[ModelInput], batch_size: int = 16) -> np.ndarray:
        self._wait()
        if self.config.options.get("oom") and len(inputs) > 1:
            raise MemoryError("CUDA out of memory (test)")
        oom_text = self.config.options.get("oom_text")
        if oom_text and any(oom_text in inp.text for inp in inputs):
            raise OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate 20.00 GiB (input with {oom_text!r})"
            )
        fail_text = self.config.options.get("fail_text")
        if fail_text and any(fail_text in inp.text for inp in inputs):
            raise ValueError(f"cannot embed text containing {fail_text!r}")
        out = np.stack([self._vector(inp) for inp in inputs])
        if log := os.environ.get("ITEMBANK_TEST_EMBED_LOG"):
            with open(log, "a", encoding="utf-8") as fh:
                for inp in inputs:
                    fh.write(inp.text.replace("\n", " ") + "\n")
        return out

    def embed_query(self, text: str = "", image_paths: Sequence[str] = ()) -> np.ndarray:
        return self._vector(ModelInput(text=text, image_paths=tuple(image_paths)))


def make_space(name: str = "hash16", dimensions: int = 16, **kwargs):
    """Register a space on the test backend (and build its index)."""
    from embeddings import services

    register()
    return services.register_space(name, NAME, dimensions=dimensions, **kwargs)
