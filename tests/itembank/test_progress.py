"""itembank.progress: the commands' tqdm bar fed (done, total) counts."""

from __future__ import annotations

import io

from django.core.management.base import OutputWrapper

from itembank.progress import ProgressBar


def test_draws_the_final_count_and_rate_on_a_pipe() -> None:
    out = io.StringIO()
    bar = ProgressBar(OutputWrapper(out), unit="queries")
    for done in range(6):
        bar(done, 5)
    bar(5, 5)  # reported again after the end: nothing more is drawn
    bar.close()
    text = out.getvalue()
    assert text.endswith("\n")
    assert text.count("5/5") == 1
    assert "queries/s" in text
    # OutputWrapper's own line ending is not added to every redraw
    assert text.count("\n") == 1


def test_small_totals_and_disabled_bars_draw_nothing() -> None:
    out = io.StringIO()
    small = ProgressBar(out, min_total=200)
    small(10, 10)
    small.close()
    off = ProgressBar(out, enabled=False)
    off(300, 300)
    with ProgressBar(out) as empty:
        empty(0, 0)
    assert out.getvalue() == ""
    big = ProgressBar(out, min_total=200)
    big(250, 250)
    assert "250/250" in out.getvalue()
