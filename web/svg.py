"""Server-rendered SVG charts: pure functions from numbers to markup.

Layer: ``web.svg`` (presentation only). No Flask, no database, no clock: a chart is built from data
the view already queried, so it is trivial to test. The strict Content-Security-Policy forbids
inline styles, so every colour comes from a class in ``static/style.css``; the markup carries a
``<title>``, a ``<desc>`` and an ``aria-label`` per bar so screen readers get the numbers, and
callers render the same numbers as a table below the chart for anyone who cannot see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# Geometry in user units; the chart scales to its container through ``viewBox``.
WIDTH = 720
HEIGHT = 260
MARGIN_LEFT = 44
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 48
TICKS = 4


@dataclass(frozen=True)
class Bar:
    """One bar: its axis label, a longer label for assistive technology, and stacked values."""

    label: str
    long_label: str
    values: tuple[int, ...]

    @property
    def total(self) -> int:
        """The bar's height in data units."""
        return sum(self.values)


@dataclass(frozen=True)
class Series:
    """A stacked segment kind: its name (legend, labels) and CSS class suffix."""

    name: str
    css: str


def _nice_max(value: int) -> int:
    """The smallest round number at or above ``value`` that divides into ``TICKS`` steps."""
    if value <= TICKS:
        return TICKS
    step = -(-value // TICKS)
    magnitude: int = 10 ** (len(str(step)) - 1)
    for nice in (1, 2, 5, 10):
        if step <= nice * magnitude:
            return nice * magnitude * TICKS
    return step * TICKS  # pragma: no cover (the loop always returns)


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def stacked_bar_chart(
    bars: Sequence[Bar],
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    y_label: str,
    css_id: str = "chart",
) -> Markup:
    """An accessible stacked bar chart, one ``<g class="bar">`` per entry of ``bars``.

    Each bar's segments follow ``series`` order from the axis up; zero segments are omitted.
    """
    for bar in bars:
        if len(bar.values) != len(series):
            raise ValueError(f"bar {bar.label!r} has {len(bar.values)} values for {len(series)}")
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = _nice_max(max((bar.total for bar in bars), default=0))
    slot = plot_w / max(len(bars), 1)
    bar_w = slot * 0.7
    baseline = MARGIN_TOP + plot_h

    def y_of(value: float) -> float:
        return baseline - plot_h * value / top

    title_id, desc_id = f"{css_id}-title", f"{css_id}-desc"
    out: list[str] = [
        f'<svg class="chart" id="{_attr(css_id)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{_attr(title_id)} {_attr(desc_id)}">',
        f'<title id="{_attr(title_id)}">{escape(title)}</title>',
        f'<desc id="{_attr(desc_id)}">{escape(description)}</desc>',
    ]
    # Grid lines and the value axis.
    out.append('<g class="chart-axis" aria-hidden="true">')
    for tick in range(TICKS + 1):
        value = top * tick // TICKS
        y = y_of(value)
        out.append(
            f'<line class="chart-grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(
            f'<text class="chart-tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{value}</text>'
        )
    out.append(
        f'<text class="chart-axis-label" x="12" y="{MARGIN_TOP + plot_h / 2:.1f}" '
        f'text-anchor="middle" transform="rotate(-90 12 {MARGIN_TOP + plot_h / 2:.1f})">'
        f"{escape(y_label)}</text>"
    )
    out.append("</g>")
    out.append('<g class="chart-bars" role="list">')
    for index, bar in enumerate(bars):
        x = MARGIN_LEFT + slot * index + (slot - bar_w) / 2
        parts = ", ".join(f"{v} {s.name}" for v, s in zip(bar.values, series, strict=True))
        label = f"{bar.long_label}: {parts}"
        out.append(f'<g class="bar" role="listitem" aria-label="{_attr(label)}">')
        out.append(f"<title>{escape(label)}</title>")
        stacked = 0
        for value, kind in zip(bar.values, series, strict=True):
            if value <= 0:
                continue
            y_top = y_of(stacked + value)
            height = y_of(stacked) - y_top
            out.append(
                f'<rect class="seg seg-{_attr(kind.css)}" x="{x:.1f}" y="{y_top:.1f}" '
                f'width="{bar_w:.1f}" height="{height:.1f}"/>'
            )
            stacked += value
        out.append(
            f'<text class="chart-tick" x="{x + bar_w / 2:.1f}" y="{baseline + 16}" '
            f'text-anchor="middle" aria-hidden="true">{escape(bar.label)}</text>'
        )
        out.append("</g>")
    out.append("</g>")
    out.append(
        f'<line class="chart-baseline" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
        f'y1="{baseline}" y2="{baseline}" aria-hidden="true"/>'
    )
    # Legend along the bottom.
    out.append('<g class="chart-legend" aria-hidden="true">')
    for index, kind in enumerate(series):
        lx = MARGIN_LEFT + index * 150
        ly = HEIGHT - 14
        out.append(
            f'<rect class="seg seg-{_attr(kind.css)}" x="{lx}" y="{ly - 10}" '
            'width="12" height="12"/>'
        )
        out.append(f'<text class="chart-tick" x="{lx + 18}" y="{ly}">{escape(kind.name)}</text>')
    out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 (every interpolated text is escaped above)
