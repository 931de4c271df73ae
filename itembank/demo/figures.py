"""Figures for the demo items, drawn with Pillow only.

Only Latin letters, digits and a few symbols the default font carries (°, ±) appear in the
figures: a fresh machine has no Korean font. Drawing is plain pixel work (no clock, no random
state), so the same parameters always give the same PNG bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

INK = (20, 20, 20)
GREY = (150, 150, 150)
LIGHT = (225, 225, 225)
BLUE = (40, 80, 190)
RED = (190, 40, 40)
FILLS = [(120, 150, 210), (230, 160, 90), (130, 190, 130), (200, 120, 160), (160, 160, 160)]


@lru_cache(maxsize=32)
def font(size: int = 18) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def canvas(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (width, height), "white")
    return img, ImageDraw.Draw(img)


def text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    label: str,
    *,
    size: int = 18,
    anchor: str = "mm",
    fill: tuple[int, int, int] = INK,
) -> None:
    draw.text(xy, label, font=font(size), fill=fill, anchor=anchor)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def dot(draw: ImageDraw.ImageDraw, xy: tuple[float, float], r: int = 4, *, fill=INK) -> None:
    x, y = xy
    draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=INK)


def arrow_head(draw, tip: tuple[float, float], direction: tuple[float, float], size=10) -> None:
    dx, dy = direction
    length = math.hypot(dx, dy) or 1
    ux, uy = dx / length, dy / length
    left = (tip[0] - size * ux + size * 0.5 * uy, tip[1] - size * uy - size * 0.5 * ux)
    right = (tip[0] - size * ux - size * 0.5 * uy, tip[1] - size * uy + size * 0.5 * ux)
    draw.polygon([tip, left, right], fill=INK)


def nice_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# ---------------------------------------------------------------- coordinate graphs


def evaluate(curve: dict[str, Any], x: float) -> float | None:
    kind = curve["kind"]
    if kind == "linear":
        return curve["a"] * x + curve["b"]
    if kind == "quadratic":
        return curve["a"] * (x - curve["p"]) ** 2 + curve["q"]
    if kind == "inverse":
        return None if abs(x) < 1e-9 else curve["a"] / x
    if kind == "sine":
        return curve["a"] * math.sin(curve["b"] * x)
    if kind == "exponential":
        return curve["a"] ** x
    raise ValueError(kind)


def draw_graph(params: dict[str, Any]) -> Image.Image:
    """Axes with ticks, one or more curves, labelled points."""
    width, height = params.get("width", 520), params.get("height", 460)
    x0, x1 = params["x_range"]
    y0, y1 = params["y_range"]
    margin = 40
    img, draw = canvas(width, height)

    def px(x: float, y: float) -> tuple[float, float]:
        return (
            margin + (x - x0) / (x1 - x0) * (width - 2 * margin),
            height - margin - (y - y0) / (y1 - y0) * (height - 2 * margin),
        )

    if params.get("grid"):
        for gx in range(math.ceil(x0), math.floor(x1) + 1):
            draw.line([px(gx, y0), px(gx, y1)], fill=LIGHT)
        for gy in range(math.ceil(y0), math.floor(y1) + 1):
            draw.line([px(x0, gy), px(x1, gy)], fill=LIGHT)
    ox, oy = px(0, 0)
    draw.line([px(x0, 0), px(x1, 0)], fill=INK, width=2)
    draw.line([px(0, y0), px(0, y1)], fill=INK, width=2)
    arrow_head(draw, px(x1, 0), (1, 0))
    arrow_head(draw, px(0, y1), (0, -1))
    text(draw, (px(x1, 0)[0] - 4, oy + 16), "x", size=20)
    text(draw, (ox - 16, px(0, y1)[1] + 6), "y", size=20)
    text(draw, (ox - 12, oy + 14), "O", size=18)
    step = params.get("tick", 1)
    tick = x0 - x0 % step
    while tick <= x1:
        if tick and x0 < tick < x1:
            tx, ty = px(tick, 0)
            draw.line([(tx, ty - 4), (tx, ty + 4)], fill=INK)
            if params.get("tick_labels", True):
                text(draw, (tx, ty + 14), nice_label(tick), size=14)
        tick += step
    tick = y0 - y0 % step
    while tick <= y1:
        if tick and y0 < tick < y1:
            tx, ty = px(0, tick)
            draw.line([(tx - 4, ty), (tx + 4, ty)], fill=INK)
            if params.get("tick_labels", True):
                text(draw, (tx - 14, ty), nice_label(tick), size=14, anchor="rm")
        tick += step
    for index, curve in enumerate(params.get("curves", [])):
        colour = BLUE if index == 0 else RED
        samples = 400
        segment: list[tuple[float, float]] = []
        for i in range(samples + 1):
            x = x0 + (x1 - x0) * i / samples
            y = evaluate(curve, x)
            if y is None or not (y0 - 1 <= y <= y1 + 1):
                if len(segment) > 1:
                    draw.line(segment, fill=colour, width=3)
                segment = []
                continue
            segment.append(px(x, max(y0, min(y1, y))))
        if len(segment) > 1:
            draw.line(segment, fill=colour, width=3)
        if label := curve.get("label"):
            lx = curve.get("label_x", x1 - (x1 - x0) * 0.15)
            ly = evaluate(curve, lx)
            if ly is not None:
                text(draw, (px(lx, ly)[0] + 8, px(lx, ly)[1] - 16), label, size=16, fill=colour)
    for point in params.get("points", []):
        x, y = point["xy"]
        p = px(x, y)
        if point.get("dashed"):
            dashed(draw, p, px(x, 0))
            dashed(draw, p, px(0, y))
        dot(draw, p)
        text(draw, (p[0] + 14, p[1] - 14), point["label"], size=18)
    return img


def dashed(draw, a: tuple[float, float], b: tuple[float, float], dash: float = 6) -> None:
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    if not length:
        return
    count = int(length // dash)
    for i in range(0, count, 2):
        t0, t1 = i / count, min(1.0, (i + 1) / count)
        draw.line(
            [
                (a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0),
                (a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1),
            ],
            fill=GREY,
            width=1,
        )


# ---------------------------------------------------------------- geometry


def fit(points: Sequence[tuple[float, float]], width: int, height: int, margin: int = 50):
    """Scale model coordinates (y up) into the picture (y down), keeping the aspect ratio."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1
    scale = min((width - 2 * margin) / span, (height - 2 * margin) / span)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def px(p: tuple[float, float]) -> tuple[float, float]:
        return (width / 2 + (p[0] - cx) * scale, height / 2 - (p[1] - cy) * scale)

    return px


def label_outside(draw, p, centre, label: str, distance: float = 18, size: int = 20) -> None:
    dx, dy = p[0] - centre[0], p[1] - centre[1]
    length = math.hypot(dx, dy) or 1
    text(draw, (p[0] + dx / length * distance, p[1] + dy / length * distance), label, size=size)


def draw_polygon(params: dict[str, Any]) -> Image.Image:
    """A triangle or polygon from vertex coordinates, with vertex labels, side labels, an
    optional right-angle mark, angle labels and extra segments."""
    width, height = params.get("width", 520), params.get("height", 420)
    vertices = [tuple(v) for v in params["vertices"]]
    extra_points = {k: tuple(v) for k, v in params.get("points", {}).items()}
    px = fit(vertices + list(extra_points.values()), width, height, params.get("margin", 60))
    img, draw = canvas(width, height)
    pts = [px(v) for v in vertices]
    centre = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
    if params.get("fill"):
        draw.polygon(pts, fill=(235, 240, 250))
    draw.line([*pts, pts[0]], fill=INK, width=3, joint="curve")
    labels = params.get("labels", [chr(65 + i) for i in range(len(pts))])
    for p, label in zip(pts, labels, strict=False):
        label_outside(draw, p, centre, label)
    named = dict(zip(labels, pts, strict=False))
    for name, v in extra_points.items():
        p = px(v)
        named[name] = p
        dot(draw, p, 3)
        label_outside(draw, p, centre, name)
    for a, b in params.get("segments", []):
        draw.line([named[a], named[b]], fill=INK, width=2)
    for a, b in params.get("dashed", []):
        dashed(draw, named[a], named[b])
    for a, b, label in params.get("side_labels", []):
        pa, pb = named[a], named[b]
        mid = ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2)
        label_outside(draw, mid, centre, label, distance=18, size=18)
    for corner in params.get("right_angles", []):
        b, a, c = (named[n] for n in corner)
        right_angle_mark(draw, a, b, c)
    for corner, label in params.get("angle_labels", []):
        b, a, c = (named[n] for n in corner)
        angle_arc(draw, a, b, c, label)
    return img


def unit(a, b) -> tuple[float, float]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1
    return dx / length, dy / length


def right_angle_mark(draw, vertex, p1, p2, size: float = 14) -> None:
    u, v = unit(vertex, p1), unit(vertex, p2)
    a = (vertex[0] + u[0] * size, vertex[1] + u[1] * size)
    c = (vertex[0] + v[0] * size, vertex[1] + v[1] * size)
    b = (a[0] + v[0] * size, a[1] + v[1] * size)
    draw.line([a, b, c], fill=INK, width=2)


def angle_arc(draw, vertex, p1, p2, label: str, radius: float = 28) -> None:
    a1 = math.degrees(math.atan2(p1[1] - vertex[1], p1[0] - vertex[0]))
    a2 = math.degrees(math.atan2(p2[1] - vertex[1], p2[0] - vertex[0]))
    start, end = sorted((a1, a2))
    if end - start > 180:
        start, end = end, start + 360
    box = (vertex[0] - radius, vertex[1] - radius, vertex[0] + radius, vertex[1] + radius)
    draw.arc(box, start, end, fill=INK, width=2)
    mid = math.radians((start + end) / 2)
    text(
        draw,
        (vertex[0] + math.cos(mid) * (radius + 18), vertex[1] + math.sin(mid) * (radius + 18)),
        label,
        size=16,
    )


def draw_circle(params: dict[str, Any]) -> Image.Image:
    """A circle with centre O, named points on it at given angles, chords and angle labels."""
    width, height = params.get("width", 480), params.get("height", 460)
    img, draw = canvas(width, height)
    cx, cy, r = width / 2, height / 2, min(width, height) / 2 - 60
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=INK, width=3)
    named: dict[str, tuple[float, float]] = {"O": (cx, cy)}
    if params.get("show_centre", True):
        dot(draw, (cx, cy), 3)
        text(draw, (cx + 14, cy + 14), "O", size=18)
    for name, angle in params["points"]:
        rad = math.radians(angle)
        p = (cx + r * math.cos(rad), cy - r * math.sin(rad))
        named[name] = p
        dot(draw, p, 3)
        label_outside(draw, p, (cx, cy), name)
    for a, b in params.get("segments", []):
        draw.line([named[a], named[b]], fill=INK, width=2)
    for corner, label in params.get("angle_labels", []):
        b, a, c = (named[n] for n in corner)
        angle_arc(draw, a, b, c, label, radius=24)
    return img


# ---------------------------------------------------------------- charts and tables


def draw_bar_chart(params: dict[str, Any]) -> Image.Image:
    """Vertical bars (or a histogram when `gap` is 0) with a labelled value axis."""
    width, height = params.get("width", 560), params.get("height", 400)
    labels, values = params["labels"], params["values"]
    top = params.get("y_max") or max(values) * 1.2
    step = params.get("y_step") or max(1, round(top / 5))
    left, bottom, right, up = 70, 60, 30, 40
    img, draw = canvas(width, height)
    plot_w, plot_h = width - left - right, height - bottom - up

    def y_px(v: float) -> float:
        return height - bottom - v / top * plot_h

    tick = 0
    while tick <= top + 1e-9:
        y = y_px(tick)
        draw.line([(left, y), (width - right, y)], fill=LIGHT)
        text(draw, (left - 8, y), nice_label(tick), size=14, anchor="rm")
        tick += step
    draw.line([(left, up), (left, height - bottom)], fill=INK, width=2)
    draw.line([(left, height - bottom), (width - right, height - bottom)], fill=INK, width=2)
    gap = params.get("gap", 0.35)
    slot = plot_w / len(values)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x_a = left + i * slot + slot * gap / 2
        x_b = left + (i + 1) * slot - slot * gap / 2
        draw.rectangle(
            (x_a, y_px(value), x_b, height - bottom),
            fill=FILLS[i % len(FILLS)] if params.get("colours", True) else (170, 190, 225),
            outline=INK,
        )
        if params.get("value_labels", True):
            text(draw, ((x_a + x_b) / 2, y_px(value) - 12), nice_label(value), size=14)
        if gap:
            text(draw, ((x_a + x_b) / 2, height - bottom + 16), str(label), size=15)
    if not gap:  # histogram: class boundaries under the edges
        for i, edge in enumerate(params.get("edges", [])):
            text(draw, (left + i * slot, height - bottom + 16), nice_label(edge), size=14)
    if x_title := params.get("x_title"):
        text(draw, (left + plot_w / 2, height - 16), x_title, size=15)
    if y_title := params.get("y_title"):
        text(draw, (left - 6, up - 22), y_title, size=15, anchor="lm")
    return img


def draw_line_chart(params: dict[str, Any]) -> Image.Image:
    """A measured quantity against time (e.g. temperature while heating), points joined."""
    width, height = params.get("width", 560), params.get("height", 400)
    xs, ys = params["x"], params["y"]
    left, bottom, right, up = 70, 60, 30, 40
    y_lo, y_hi = params["y_range"]
    x_hi = params.get("x_max", max(xs))
    img, draw = canvas(width, height)

    def px(x: float, y: float) -> tuple[float, float]:
        return (
            left + x / x_hi * (width - left - right),
            height - bottom - (y - y_lo) / (y_hi - y_lo) * (height - bottom - up),
        )

    y_step = params.get("y_step", 10)
    tick = y_lo
    while tick <= y_hi:
        y = px(0, tick)[1]
        draw.line([(left, y), (width - right, y)], fill=LIGHT)
        text(draw, (left - 8, y), nice_label(tick), size=14, anchor="rm")
        tick += y_step
    x_step = params.get("x_step", 1)
    tick = 0
    while tick <= x_hi:
        x = px(tick, y_lo)[0]
        draw.line([(x, height - bottom), (x, height - bottom + 5)], fill=INK)
        text(draw, (x, height - bottom + 16), nice_label(tick), size=14)
        tick += x_step
    draw.line([(left, up), (left, height - bottom)], fill=INK, width=2)
    draw.line([(left, height - bottom), (width - right, height - bottom)], fill=INK, width=2)
    for series, colour in zip(params.get("series", [ys]), (BLUE, RED, INK), strict=False):
        pts = [px(x, y) for x, y in zip(xs, series, strict=True)]
        draw.line(pts, fill=colour, width=3)
        for p in pts:
            dot(draw, p, 3, fill=colour)
    for name, (x, y) in params.get("marks", {}).items():
        p = px(x, y)
        text(draw, (p[0], p[1] - 18), name, size=17)
    if x_title := params.get("x_title"):
        text(draw, (left + (width - left - right) / 2, height - 16), x_title, size=15)
    if y_title := params.get("y_title"):
        text(draw, (left - 6, up - 22), y_title, size=15, anchor="lm")
    return img


def draw_table(params: dict[str, Any]) -> Image.Image:
    """A ruled data table; the first row (and first column) shaded as headers."""
    rows: list[list[str]] = [list(map(str, row)) for row in params["rows"]]
    cell_w, cell_h = params.get("cell_width", 90), params.get("cell_height", 44)
    cols = max(len(r) for r in rows)
    first_w = params.get("first_width", cell_w)
    width = first_w + cell_w * (cols - 1) + 40
    height = cell_h * len(rows) + 40
    img, draw = canvas(width, height)
    x_edges = [20, 20 + first_w] + [20 + first_w + cell_w * i for i in range(1, cols)]
    for r, row in enumerate(rows):
        y = 20 + r * cell_h
        for c, value in enumerate(row):
            box = (x_edges[c], y, x_edges[c + 1], y + cell_h)
            header = r == 0 or (c == 0 and params.get("header_column", True))
            draw.rectangle(box, fill=(238, 238, 238) if header else "white", outline=INK, width=2)
            text(draw, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), value, size=17)
    return img


def draw_number_line(params: dict[str, Any]) -> Image.Image:
    """A number line with ticks, named points and shaded intervals with open/closed ends."""
    width, height = params.get("width", 600), params.get("height", 150)
    lo, hi = params["range"]
    img, draw = canvas(width, height)
    base = height * 0.62

    def px(v: float) -> float:
        return 40 + (v - lo) / (hi - lo) * (width - 80)

    draw.line([(20, base), (width - 20, base)], fill=INK, width=2)
    arrow_head(draw, (width - 18, base), (1, 0))
    for v in range(math.ceil(lo), math.floor(hi) + 1):
        draw.line([(px(v), base - 6), (px(v), base + 6)], fill=INK, width=2)
        text(draw, (px(v), base + 22), str(v), size=15)
    for index, interval in enumerate(params.get("intervals", [])):
        a, b = interval["from"], interval["to"]
        lift = 22 + 16 * index
        colour = BLUE if index == 0 else RED
        xa = px(lo - 0.5) if a is None else px(a)
        xb = px(hi + 0.5) if b is None else px(b)
        draw.line([(xa, base - lift), (xb, base - lift)], fill=colour, width=3)
        for end, closed in ((a, interval.get("closed_from")), (b, interval.get("closed_to"))):
            if end is None:
                continue
            x = px(end)
            draw.line([(x, base), (x, base - lift)], fill=colour, width=2)
            r = 6
            draw.ellipse(
                (x - r, base - lift - r, x + r, base - lift + r),
                fill=colour if closed else "white",
                outline=colour,
                width=2,
            )
    for name, value in params.get("points", []):
        dot(draw, (px(value), base), 5, fill=RED)
        text(draw, (px(value), base - 22), name, size=18)
    return img


# ---------------------------------------------------------------- science apparatus


def resistor(draw, a: tuple[float, float], b: tuple[float, float], label: str) -> None:
    """A zig-zag resistor between a and b (horizontal or vertical)."""
    horizontal = abs(b[0] - a[0]) >= abs(b[1] - a[1])
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    ux, uy = unit(a, b)
    lead = (length - 60) / 2
    p = (a[0] + ux * lead, a[1] + uy * lead)
    pts = [a, p]
    for i in range(1, 7):
        side = 10 if i % 2 else -10
        t = lead + i * 60 / 7
        pts.append((a[0] + ux * t - uy * side, a[1] + uy * t + ux * side))
    q = (a[0] + ux * (lead + 60), a[1] + uy * (lead + 60))
    pts += [q, b]
    draw.line(pts, fill=INK, width=2)
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    offset = (0, -26) if horizontal else (30, 0)
    text(draw, (mid[0] + offset[0], mid[1] + offset[1]), label, size=17)


def meter(draw, centre: tuple[float, float], letter: str) -> None:
    x, y = centre
    draw.ellipse((x - 16, y - 16, x + 16, y + 16), fill="white", outline=INK, width=2)
    text(draw, (x, y), letter, size=18)


def draw_circuit(params: dict[str, Any]) -> Image.Image:
    """A battery with resistors in series or in parallel, an ammeter and maybe a voltmeter."""
    width, height = 560, 380
    img, draw = canvas(width, height)
    left, right, top, bottom = 80, 480, 80, 300
    labels: list[str] = params["resistors"]
    # battery on the bottom wire
    bx = (left + right) / 2
    draw.line([(left, bottom), (bx - 12, bottom)], fill=INK, width=2)
    draw.line([(bx + 12, bottom), (right, bottom)], fill=INK, width=2)
    draw.line([(bx - 12, bottom - 24), (bx - 12, bottom + 24)], fill=INK, width=3)
    draw.line([(bx + 12, bottom - 12), (bx + 12, bottom + 12)], fill=INK, width=5)
    text(draw, (bx, bottom + 42), params.get("battery", "6 V"), size=17)
    text(draw, (bx - 26, bottom - 30), "+", size=18)
    # left wire with the ammeter
    draw.line([(left, bottom), (left, top)], fill=INK, width=2)
    meter(draw, (left, (top + bottom) / 2), "A")
    if params.get("layout", "series") == "series":
        count = len(labels)
        span = (right - left) / count
        for i, label in enumerate(labels):
            resistor(draw, (left + i * span, top), (left + (i + 1) * span, top), label)
        draw.line([(right, top), (right, bottom)], fill=INK, width=2)
    else:
        rows = [top + i * 70 for i in range(len(labels))]
        draw.line([(left, top), (left + 80, top)], fill=INK, width=2)
        draw.line([(left + 80, rows[0]), (left + 80, rows[-1])], fill=INK, width=2)
        draw.line([(right - 80, rows[0]), (right - 80, rows[-1])], fill=INK, width=2)
        for y, label in zip(rows, labels, strict=True):
            resistor(draw, (left + 80, y), (right - 80, y), label)
        draw.line([(right - 80, top), (right, top)], fill=INK, width=2)
        draw.line([(right, top), (right, bottom)], fill=INK, width=2)
    if params.get("voltmeter"):
        vx = right + 40
        draw.line(
            [(right, top + 40), (vx, top + 40), (vx, bottom - 40), (right, bottom - 40)],
            fill=INK,
            width=2,
        )
        meter(draw, (vx, (top + bottom) / 2), "V")
    for d in (left, right):
        for y in (top, bottom):
            dot(draw, (d, y), 3)
    return img


def draw_incline(params: dict[str, Any]) -> Image.Image:
    """A block on a slope of a given angle, with the mass and the angle written on it."""
    width, height = 560, 360
    img, draw = canvas(width, height)
    angle = math.radians(params["angle"])
    base_left, base_right = (60, 300), (500, 300)
    rise = (base_right[0] - base_left[0]) * math.tan(angle)
    top = (base_right[0], base_right[1] - rise)
    draw.polygon([base_left, base_right, top], fill=(235, 235, 235), outline=INK)
    draw.line([base_left, base_right, top, base_left], fill=INK, width=3)
    angle_arc(draw, base_left, base_right, top, f"{params['angle']}°", radius=60)
    right_angle_mark(draw, base_right, base_left, top)
    # the block, sitting on the slope two thirds of the way up
    t = params.get("position", 0.55)
    foot = (base_left[0] + (top[0] - base_left[0]) * t, base_left[1] + (top[1] - base_left[1]) * t)
    ux, uy = unit(base_left, top)
    nx, ny = uy, -ux  # normal pointing away from the slope
    if ny > 0:
        nx, ny = -nx, -ny
    size = 54
    corners = [
        (foot[0] - ux * size / 2, foot[1] - uy * size / 2),
        (foot[0] + ux * size / 2, foot[1] + uy * size / 2),
        (foot[0] + ux * size / 2 + nx * size, foot[1] + uy * size / 2 + ny * size),
        (foot[0] - ux * size / 2 + nx * size, foot[1] - uy * size / 2 + ny * size),
    ]
    draw.polygon(corners, fill=(170, 190, 225), outline=INK)
    centre = (foot[0] + nx * size / 2, foot[1] + ny * size / 2)
    text(draw, centre, params.get("label", "m"), size=18)
    if params.get("show_weight"):
        end = (centre[0], centre[1] + 80)
        draw.line([centre, end], fill=RED, width=3)
        arrow_head(draw, end, (0, 1))
        text(draw, (end[0] + 18, end[1]), "W", size=17, fill=RED)
    return img


def draw_spring(params: dict[str, Any]) -> Image.Image:
    """Springs hanging from a ceiling, each with a weight and its stretched length marked."""
    masses: list[str] = params["labels"]
    lengths: list[float] = params["lengths"]
    width, height = 140 + 150 * len(masses), 420
    img, draw = canvas(width, height)
    draw.rectangle((20, 20, width - 20, 34), fill=(200, 200, 200), outline=INK)
    for i, (label, length) in enumerate(zip(masses, lengths, strict=True)):
        x = 110 + 150 * i
        end = 40 + length
        coils = 12
        pts = [(x, 34), (x, 50)]
        for k in range(1, coils):
            pts.append((x + (12 if k % 2 else -12), 50 + (end - 60) * k / coils))
        pts += [(x, end - 10), (x, end)]
        draw.line(pts, fill=INK, width=2)
        draw.rectangle((x - 26, end, x + 26, end + 44), fill=(170, 190, 225), outline=INK, width=2)
        text(draw, (x, end + 22), label, size=16)
    return img


def draw_timeline(params: dict[str, Any]) -> Image.Image:
    """A horizontal time axis with years and lettered events (A, B, C …)."""
    width, height = 640, 170
    img, draw = canvas(width, height)
    years: list[int] = params["years"]
    lo, hi = min(years) - params.get("pad", 20), max(years) + params.get("pad", 20)
    base = 95

    def px(year: float) -> float:
        return 40 + (year - lo) / (hi - lo) * (width - 80)

    draw.line([(30, base), (width - 30, base)], fill=INK, width=3)
    arrow_head(draw, (width - 28, base), (1, 0))
    for i, year in enumerate(years):
        x = px(year)
        dot(draw, (x, base), 5, fill=BLUE)
        text(draw, (x, base + 24), str(year), size=15)
        text(draw, (x, base - 26), params.get("labels", "ABCDEFG")[i], size=18)
    for name, (a, b) in params.get("spans", {}).items():
        draw.line([(px(a), base - 50), (px(b), base - 50)], fill=RED, width=2)
        text(draw, ((px(a) + px(b)) / 2, base - 64), name, size=16, fill=RED)
    return img


DRAWERS: dict[str, Callable[[dict[str, Any]], Image.Image]] = {
    "graph": draw_graph,
    "polygon": draw_polygon,
    "circle": draw_circle,
    "bar_chart": draw_bar_chart,
    "line_chart": draw_line_chart,
    "table": draw_table,
    "number_line": draw_number_line,
    "circuit": draw_circuit,
    "incline": draw_incline,
    "spring": draw_spring,
    "timeline": draw_timeline,
}


def render(kind: str, params: dict[str, Any]) -> Image.Image:
    return DRAWERS[kind](params)


def reencode(data: bytes, how: str) -> tuple[bytes, str]:
    """The same figure as a re-typed duplicate would carry it: JPEG'd, resized or re-framed.
    Returns the bytes and the file extension."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if how == "jpeg":
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        return buf.getvalue(), "jpg"
    if how == "resize":
        w, h = img.size
        img = img.resize((round(w * 0.85), round(h * 0.85)), Image.Resampling.LANCZOS)
        return png_bytes(img), "png"
    if how == "border":
        framed = Image.new("RGB", (img.width + 24, img.height + 24), "white")
        framed.paste(img, (12, 12))
        return png_bytes(framed), "png"
    raise ValueError(how)
