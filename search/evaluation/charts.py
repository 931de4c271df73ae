"""Small charts as inline SVG, drawn on the server (no chart library, no JavaScript). Values are
in [0, 1] (metric values); every label is escaped."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
WIDTH = 560
HEIGHT = 240
PAD_LEFT = 44
PAD_RIGHT = 12
PAD_TOP = 12
PAD_BOTTOM = 48


def _frame(title: str, body: list[str], legend: Sequence[str]) -> SafeString:
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 20 * ((len(legend) + 2) // 3)}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = PAD_TOP + plot_h * (1 - tick)
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#6b7280">{int(tick * 100)}%</text>'
        )
    parts += body
    for i, name in enumerate(legend):
        x = PAD_LEFT + (i % 3) * 170
        y = HEIGHT + 4 + 20 * (i // 3)
        parts.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 18}" y="{y + 11}" font-size="12">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated label is escaped


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
                f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{escape(name)} · {escape(group)}: {value:.1%}</title></rect>"
            )
        body.append(
            f'<text x="{x0 + (group_w - 12) / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
            f'font-size="12" text-anchor="middle">{escape(group)}</text>'
        )
    return _frame(title, body, names)


def line_chart(
    title: str, x_labels: Sequence[str], series: dict[str, Sequence[float | None]]
) -> SafeString:
    """Lines over the positions of `x_labels` (α values, dates), one per series; gaps where a
    value is None."""
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = len(x_labels)

    def x_at(i: int) -> float:
        return PAD_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    body = []
    step = max(1, n // 11)
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            body.append(
                f'<text x="{x_at(i):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" font-size="11" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for s, (name, values) in enumerate(series.items()):
        color = PALETTE[s % len(PALETTE)]
        points = [
            (x_at(i), PAD_TOP + plot_h * (1 - max(0.0, min(1.0, v))), v)
            for i, v in enumerate(values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _v in points)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        for x, y, v in points:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                f"<title>{escape(name)}: {v:.1%}</title></circle>"
            )
    return _frame(title, body, list(series))
