"""The demo item bank: a deterministic generator of realistic items, figures and planted
ground truth (`generate`), loaded by `manage.py seed_demo`."""

from .generator import Summary, generate, normalized

__all__ = ["Summary", "generate", "normalized"]
