"""Template helpers of the search UI: how a hit's score reads."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


def _percent(value: float) -> str:
    return f"{round(100 * max(0.0, min(1.0, value)))}%"


@register.filter
def score_label(hit) -> str:
    """The score as a teacher reads it: a percentage where the score is a similarity or a
    probability (dense, hybrid, reranked), the raw number for BM25 and RRF."""
    mode = str(hit.mode)
    if mode.endswith("+rerank") or mode in ("dense", "hybrid"):
        return _percent(hit.score)
    if mode == "rrf":
        return f"{hit.score:.4f}"
    return f"{hit.score:.2f}"


@register.filter
def score_parts(hit) -> str:
    """The parts behind a score, for its tooltip."""
    parts = []
    if hit.dense is not None:
        parts.append(_("embedding similarity %(value).3f") % {"value": hit.dense})
    if hit.keyword is not None:
        parts.append(_("keyword (BM25) %(value).2f") % {"value": hit.keyword})
    if hit.rerank is not None:
        parts.append(_("reranker %(value).3f") % {"value": hit.rerank})
    return " · ".join(parts)


@register.filter
def mode_label(mode: str) -> str:
    names = {
        "dense": _("embedding"),
        "bm25": _("keyword"),
        "hybrid": _("hybrid"),
        "rrf": _("rank fusion"),
    }
    base, _sep, rerank = str(mode).partition("+")
    label = names.get(base, base)
    return _("%(mode)s + reranker") % {"mode": label} if rerank else label


@register.filter
def pair(left, right) -> list:
    """`a|pair:b` → [a, b], to draw two things side by side with one loop."""
    return [left, right]
