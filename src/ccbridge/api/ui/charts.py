"""Small server-rendered SVG bar charts: no chart library, no script.

`bars` draws one bar per value (stacked when a value has several parts), scaled to the largest
total, with a `<title>` per bar so hovering shows the figure. Every number and label is escaped
by construction (numbers are formatted, labels go through `markupsafe.escape`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked part of every bar: its name (in the legend and tooltips) and CSS class."""

    name: str
    css: str


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def bars(
    values: Sequence[Sequence[float]],
    series: Sequence[Series],
    labels: Sequence[str],
    *,
    title: str,
    width: int = 600,
    height: int = 120,
) -> Markup:
    """A figure of `len(values)` bars; `values[i][j]` is part `j` (of `series`) of bar `i`, labelled
    `labels[i]` in its tooltip. The SVG stretches to the page's width; the scale and the first and
    last labels are HTML around it, so text is never stretched."""
    top = max((sum(v) for v in values), default=0.0) or 1.0
    slot = width / max(len(values), 1)
    gap = 1 if slot > 3 else 0
    parts: list[str] = [
        f'<figure class="chart"><span class="scale top">{escape(_fmt(top))}</span>',
        f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, value in enumerate(values):
        x = i * slot
        y = float(height)
        tip = ", ".join(f"{s.name} {_fmt(v)}" for s, v in zip(series, value, strict=True))
        parts.append(f"<g><title>{escape(labels[i])}: {escape(tip)}</title>")
        # a full-height transparent slot, so the tooltip shows over empty minutes too
        parts.append(f'<rect class="slot" x="{x:.1f}" y="0" width="{slot:.1f}" height="{height}"/>')
        for s, v in zip(series, value, strict=True):
            h = height * v / top
            y -= h
            parts.append(
                f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{max(slot - gap, 0.5):.1f}" height="{h:.1f}"/>'
            )
        parts.append("</g>")
    parts.append(f'<line class="axis" x1="0" y1="{height}" x2="{width}" y2="{height}"/></svg>')
    if labels:
        parts.append(
            f"<figcaption><span>{escape(labels[0])}</span><span>{escape(labels[-1])}</span></figcaption>"
        )
    parts.append("</figure>")
    return Markup("".join(parts))
