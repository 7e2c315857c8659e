"""Charts drawn on the server as SVG: no script, no external library, nothing fetched.

Each chart has a title and a description for screen readers; pages show the same
numbers in a table next to it for people who would rather read than look.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Colours with at least 3:1 contrast against white and against each other's
#: neighbours, safe for the common kinds of colour blindness (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 16, 64


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[int]


def _nice_ceiling(value: int) -> int:
    """A round number at or above `value`, for the top of the axis."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        ceiling = int(step * magnitude)
        if ceiling >= value:
            return ceiling
    return value


def stacked_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    format_value: Callable[[int], str] = str,
) -> Markup:
    """One bar per category, stacked by series, with a legend under the axis."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top = _nice_ceiling(max(totals, default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(categories), 1)
    bar = slot * 0.7
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
    ]
    for tick in range(5):
        value = top * tick // 4
        y = TOP + plot_height - plot_height * tick / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d0ccc4" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#4a4a4a">{escape(format_value(value))}</text>'
        )
    for index, category in enumerate(categories):
        x = LEFT + slot * index + (slot - bar) / 2
        base = float(TOP + plot_height)
        for number, line in enumerate(series):
            height = plot_height * line.values[index] / top
            if height <= 0:
                continue
            base -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{PALETTE[number % len(PALETTE)]}"><title>{escape(category)}, '
                f"{escape(line.label)}: {escape(format_value(line.values[index]))}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_height + 16}" text-anchor="middle" '
            f'font-size="11" fill="#1b1b1b">{escape(category)}</text>'
        )
    legend_y = HEIGHT - 18
    legend_x = float(LEFT)
    for number, line in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        parts.append(
            f'<rect x="{legend_x:.1f}" y="{legend_y - 10}" width="12" height="12" '
            f'fill="{colour}"/>'
            f'<text x="{legend_x + 16:.1f}" y="{legend_y}" font-size="12" '
            f'fill="#1b1b1b">{escape(line.label)}</text>'
        )
        legend_x += 24 + 7.5 * len(line.label)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every piece of text above is escaped
