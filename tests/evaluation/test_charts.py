"""The dashboard's inline SVG charts: a line chart's value axis follows its data (0.914 and
0.928 are drawn apart, not flattened on 0–100 %), a dark baseline marks where the axis starts,
every series has a legend entry, and every point names its value in a tooltip."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from django.test import SimpleTestCase

from search.evaluation import charts, evaluate, groundtruth
from search.evaluation.views import SWEEP_METRICS
from tests.evaluation.base import BankTestCase

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def legend(root: ET.Element) -> list[str]:
    return [
        g.find(f"{SVG}text/{SVG}title").text
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "chart-legend-entry"
    ]


def point_ys(root: ET.Element) -> list[float]:
    return [float(c.get("cy")) for c in root.iter(f"{SVG}circle")]


class LineChartTestCase(SimpleTestCase):
    def test_axis_follows_the_data(self) -> None:
        root = parse(charts.line_chart("t", ["0", "0.5", "1"], {"mrr": [0.914, 0.921, 0.928]}))
        low, high = float(root.get("data-axis-min")), float(root.get("data-axis-max"))
        self.assertTrue(0.85 <= low <= 0.914 and 0.928 <= high <= 0.98, (low, high))
        # Apart on the page: the two ends are more than a third of the plot apart.
        ys = point_ys(root)
        plot_h = charts.HEIGHT - charts.PAD_TOP - charts.PAD_BOTTOM
        self.assertGreater(ys[0] - ys[-1], plot_h / 3)
        ticks = [t.text for t in root.iter(f"{SVG}text") if (t.text or "").endswith("%")]
        self.assertNotIn("0%", ticks)
        self.assertNotIn("100%", ticks)
        # The baseline is drawn, at the bottom of the plot, labelled with where the axis starts.
        baseline = [ln for ln in root.iter(f"{SVG}line") if ln.get("class") == "chart-baseline"]
        self.assertEqual(len(baseline), 1)
        self.assertEqual(float(baseline[0].get("y1")), charts.PAD_TOP + plot_h)
        self.assertEqual(ticks[0], f"{low * 100:.1f}%")

    def test_wide_data_keeps_the_whole_axis(self) -> None:
        root = parse(charts.line_chart("t", ["a", "b"], {"x": [0.05, 0.97]}))
        self.assertEqual((root.get("data-axis-min"), root.get("data-axis-max")), ("0", "1"))

    def test_every_series_in_the_legend_with_values_on_hover(self) -> None:
        series = {f"config {i}": [0.5 + i / 100, 0.6] for i in range(14)}
        root = parse(charts.line_chart("t", ["0.3", "0.7"], series))
        self.assertEqual(legend(root), list(series))
        titles = [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")]
        self.assertEqual(len(titles), 28)
        self.assertIn("config 3 · 0.3: 53.0%", titles)
        # Fourteen series, twelve colours: the last two are dashed, so none looks like another.
        looks = {(p.get("stroke"), p.get("stroke-dasharray")) for p in root.iter(f"{SVG}polyline")}
        self.assertEqual(len(looks), 14)
        # The legend fits: its rows lie inside the drawing.
        height = float(root.get("viewBox").split()[3])
        ys = [float(t.get("y")) for g in root.iter(f"{SVG}g") for t in g.iter(f"{SVG}text")]
        self.assertLessEqual(max(ys), height)

    def test_bars_stand_on_zero(self) -> None:
        root = parse(charts.bar_chart("t", ["a"], {"x": [0.92], "y": [0.93]}))
        self.assertEqual(root.get("data-axis-min"), "0")
        self.assertEqual(legend(root), ["x", "y"])


class SweepChartOnDashboardTestCase(BankTestCase):
    with_vectors = True

    def setUp(self) -> None:
        super().setUp()
        self.gt, _ = groundtruth.import_json(
            {"name": "gt", "pairs": {"M-1": ["M-2"], "S-1": ["S-2"], "M-3": ["M-4"]}}
        )

    def test_sweep_chart_lists_every_metric_and_fits_its_values(self) -> None:
        for run in evaluate.plan_alpha_sweep(self.gt, "eval-hash", k=10):
            evaluate.execute(run.pk)
        self.login(self.reviewer)
        page = self.client.get("/evaluation/?gt=gt", HTTP_ACCEPT_LANGUAGE="en")
        section = page.content.decode().split('id="sweep-chart"', 1)[1]
        svg = section[section.index("<svg") : section.index("</svg>") + 6]
        root = parse(svg)
        self.assertEqual(legend(root), list(SWEEP_METRICS))
        values = [
            float(c.find(f"{SVG}title").text.rsplit(": ", 1)[1].rstrip("%")) / 100
            for c in root.iter(f"{SVG}circle")
        ]
        low, high = float(root.get("data-axis-min")), float(root.get("data-axis-max"))
        self.assertLessEqual(low, min(values) + 0.0005)
        self.assertGreaterEqual(high, max(values) - 0.0005)
        expected = charts.axis_range(values)
        self.assertAlmostEqual(low, expected[0], delta=0.01)
