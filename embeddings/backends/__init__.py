"""Embedding backends. A backend turns `ModelInput`s (text + ordered image paths, from
`itembank.content.model_input`) into L2-normalised float32 vectors of a fixed dimension.

Backends are registered by name in `BACKENDS`; `load_backend(config)` builds one from an
`EmbeddingSpace`-like config. Each worker process keeps loaded backends in a cache so a model is
loaded once per process, not per task.
"""
