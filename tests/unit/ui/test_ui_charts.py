"""The overview's SVG bars: scaled to the largest total, stacked, and escaped."""

from __future__ import annotations

import re

from ccbridge.api.ui.charts import Series, bars


def test_bars_scale_to_the_largest_total_and_stack() -> None:
    """The tallest bar fills the height; parts stack from the axis up."""
    svg = bars(
        [(1, 1), (4, 0)], (Series("ok", "ok"), Series("bad", "bad")), ["a", "b"], title="t", height=100
    )
    heights = [float(h) for h in re.findall(r'class="(?:ok|bad)"[^>]* height="([\d.]+)"', svg)]
    assert heights == [25.0, 25.0, 100.0, 0.0]
    assert "<title>b: ok 4, bad 0</title>" in svg


def test_labels_and_titles_are_escaped() -> None:
    """A label cannot inject markup into the page."""
    svg = bars([(1,)], (Series("x", "in"),), ["<script>"], title='"><b>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert '"><b>' not in svg
