"""Small charts as inline SVG, drawn on the server (no chart library, no JavaScript). Values are
in [0, 1] (metric values); every label is escaped. Bars stand on 0 %; a line chart's value axis
is fitted to its data, with a dark baseline where it starts. Every series is in the legend, and
every bar and point names its value in a tooltip."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Twelve colours; past them a series is told apart by its dash pattern, so every series keeps
# its own look and its own legend entry.
PALETTE = (
    "#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2",
    "#db2777", "#4b5563", "#65a30d", "#9333ea", "#0d9488", "#b45309",
)  # fmt: skip
DASHES = ("", "6 3", "2 3")
WIDTH = 560
HEIGHT = 240
PAD_LEFT = 52
PAD_RIGHT = 12
PAD_TOP = 12
PAD_BOTTOM = 48
LEGEND_COLUMNS = 3
TICK_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25)


def _style(i: int) -> tuple[str, str]:
    return PALETTE[i % len(PALETTE)], DASHES[(i // len(PALETTE)) % len(DASHES)]


def axis_range(values: Iterable[float | None]) -> tuple[float, float, float]:
    """(bottom, top, tick step) of a value axis fitted to the data within [0, 1]: close values
    such as 0.914 and 0.928 are drawn apart instead of flattened on a 0–100 % axis."""
    present = [min(1.0, max(0.0, v)) for v in values if v is not None]
    if not present:
        return 0.0, 1.0, 0.25
    low, high = min(present), max(present)
    margin = max((high - low) * 0.1, 0.005)
    low, high = max(0.0, low - margin), min(1.0, high + margin)
    step = next((t for t in TICK_STEPS if (high - low) / t <= 5), 0.25)
    bottom = max(0.0, math.floor(low / step + 1e-9) * step)
    top = min(1.0, math.ceil(high / step - 1e-9) * step)
    if top <= bottom:
        top = min(1.0, bottom + step)
        bottom = top - step
    return round(bottom, 6), round(top, 6), step


def _percent(value: float, step: float) -> str:
    digits = 0 if step >= 0.01 else 1
    return f"{value * 100:.{digits}f}%"


def _frame(
    title: str,
    body: list[str],
    legend: Sequence[str],
    axis: tuple[float, float, float] = (0.0, 1.0, 0.25),
    marker: str = "rect",
) -> SafeString:
    bottom, top, step = axis
    rows = (len(legend) + LEGEND_COLUMNS - 1) // LEGEND_COLUMNS
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 20 * rows}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'data-axis-min="{bottom:g}" data-axis-max="{top:g}">',
        f"<title>{escape(title)}</title>",
    ]
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    ticks = round((top - bottom) / step)
    for n in range(ticks + 1):
        tick = bottom + n * step
        y = PAD_TOP + plot_h * (1 - n / ticks)
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#6b7280">{_percent(tick, step)}</text>'
        )
    # The baseline: where the value axis starts, drawn dark so an axis that does not start at
    # 0 % is seen to (its label is the lowest tick's).
    base_y = PAD_TOP + plot_h
    parts.append(
        f'<line class="chart-baseline" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
        f'y1="{base_y}" y2="{base_y}" stroke="#374151" stroke-width="1.5"/>'
    )
    parts += body
    width = (WIDTH - PAD_LEFT - PAD_RIGHT) / LEGEND_COLUMNS
    for i, name in enumerate(legend):
        x = PAD_LEFT + (i % LEGEND_COLUMNS) * width
        y = HEIGHT + 4 + 20 * (i // LEGEND_COLUMNS)
        color, dash = _style(i)
        if marker == "line":
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            swatch = (
                f'<line x1="{x:.1f}" x2="{x + 14:.1f}" y1="{y + 6}" y2="{y + 6}" '
                f'stroke="{color}" stroke-width="3"{dashed}/>'
            )
        else:
            swatch = f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{color}"/>'
        parts.append(
            f'<g class="chart-legend-entry">{swatch}'
            f'<text x="{x + 18:.1f}" y="{y + 11}" font-size="12">{escape(_clip(name))}'
            f"<title>{escape(name)}</title></text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated label is escaped


def _clip(name: str, limit: int = 24) -> str:
    """A legend entry fits its column; the whole name is in its tooltip."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def bar_chart(
    title: str, groups: Sequence[str], series: dict[str, Sequence[float | None]]
) -> SafeString:
    """Grouped bars: one group per entry of `groups`, one bar per series."""
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    names = list(series)
    group_w = plot_w / max(1, len(groups))
    bar_w = max(2.0, (group_w - 12) / max(1, len(names)))
    body = []
    for g, group in enumerate(groups):
        x0 = PAD_LEFT + g * group_w + 6
        for s, name in enumerate(names):
            value = series[name][g]
            if value is None:
                continue
            h = plot_h * max(0.0, min(1.0, value))
            x = x0 + s * bar_w
            body.append(
                f'<rect x="{x:.1f}" y="{PAD_TOP + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="{_style(s)[0]}">'
                f"<title>{escape(name)} · {escape(group)}: {value:.1%}</title></rect>"
            )
        body.append(
            f'<text x="{x0 + (group_w - 12) / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
            f'font-size="12" text-anchor="middle">{escape(group)}</text>'
        )
    return _frame(title, body, names)


def line_chart(
    title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[float | None]]
) -> SafeString:
    """Lines over the positions of `x_labels` (α values, dates), one per series; gaps where a
    value is None. The value axis spans the data (see `axis_range`)."""
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = len(x_labels)
    axis = axis_range(v for values in series.values() for v in values)
    bottom, top, _step = axis

    def x_at(i: int) -> float:
        return PAD_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y_at(v: float) -> float:
        share = (min(top, max(bottom, v)) - bottom) / (top - bottom)
        return PAD_TOP + plot_h * (1 - share)

    body = []
    step = max(1, n // 11)
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            body.append(
                f'<text x="{x_at(i):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" font-size="11" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for s, (name, values) in enumerate(series.items()):
        color, dash = _style(s)
        points = [(x_at(i), y_at(v), i, v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _i, _v in points)
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dashed}/>'
            )
        for x, y, i, v in points:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}">'
                f"<title>{escape(name)} · {escape(x_labels[i])}: {v:.1%}</title></circle>"
            )
    return _frame(title, body, list(series), axis, marker="line")
