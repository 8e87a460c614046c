"""The histogram of a class's totals, drawn two ways from the same bins: a bar chart for the
terminal (Unicode eighth blocks, or `#` where the output cannot hold Unicode) and an SVG
file written by hand (no plotting dependency; the same bins give the same bytes).

Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nnhand.safety.safetext import html_text

if TYPE_CHECKING:
    from nnhand.classroom.statistics import Bin, ClassStatistics

BAR_WIDTH = 40  # characters of the longest terminal bar
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _label(low: int, high: int) -> str:
    return f"{f'{low}-{high}%':>7}"


def bar_chart(bins: Sequence[Bin], unicode: bool = True, width: int = BAR_WIDTH) -> list[str]:
    """One line per bin: its range, a bar as long as its count relative to the largest, the count."""
    most = max((b.count for b in bins), default=0)
    axis = "│" if unicode else "|"
    lines = []
    for b in bins:
        length = b.count * width / most if most else 0.0
        if unicode:
            eighths = round(length * 8)
            bar = "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")
        else:
            bar = "#" * round(length)
        if b.count and not bar.strip():
            bar = "▏" if unicode else "#"  # a student is never drawn as nothing
        lines.append(f"{_label(b.low, b.high)} {axis}{bar:<{width}} {b.count}")
    return lines


# ----------------------------------------------------------------------------- SVG

SVG_WIDTH = 640
SVG_HEIGHT = 360
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 48, 56  # margins around the plot area


def _f(value: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros (deterministic, compact)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def histogram_svg(stats: ClassStatistics) -> str:
    """An SVG histogram of the totals: one `<rect class="bar">` per bin, its height in
    proportion to the bin's count (`data-count`), counts above the bars, the percent ranges
    below, a count axis with whole-number ticks. Text from the manifest (the assignment) is
    escaped for XML."""
    bins = stats.histogram
    plot_w = SVG_WIDTH - _LEFT - _RIGHT
    plot_h = SVG_HEIGHT - _TOP - _BOTTOM
    base = _TOP + plot_h
    most = max((b.count for b in bins), default=0)
    scale = plot_h / most if most else 0.0
    slot = plot_w / max(len(bins), 1)
    title = f"{stats.assignment}: " if stats.assignment else ""
    title += f"totals of {stats.students} students ({stats.points_possible:g} points possible)"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{SVG_HEIGHT}" '
        f'viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}" role="img" aria-labelledby="title">',
        f'<title id="title">{html_text(title)}</title>',
        "<style>text{font-family:sans-serif;font-size:12px;fill:#222}.bar{fill:#4a78b5}"
        ".axis{stroke:#222;stroke-width:1}.grid{stroke:#ddd;stroke-width:1}</style>",
        f'<rect x="0" y="0" width="{SVG_WIDTH}" height="{SVG_HEIGHT}" fill="#fff"/>',
        f'<text x="{_f(SVG_WIDTH / 2)}" y="24" text-anchor="middle" font-size="14">{html_text(title)}</text>',
    ]
    for tick in _ticks(most):
        y = base - tick * scale
        out.append(f'<line class="grid" x1="{_LEFT}" y1="{_f(y)}" x2="{_LEFT + plot_w}" y2="{_f(y)}"/>')
        out.append(f'<text x="{_LEFT - 6}" y="{_f(y + 4)}" text-anchor="end">{tick}</text>')
    for k, b in enumerate(bins):
        x = _LEFT + k * slot + 2
        height = b.count * scale
        out.append(
            f'<rect class="bar" x="{_f(x)}" y="{_f(base - height)}" width="{_f(slot - 4)}" height="{_f(height)}" '
            f'data-count="{b.count}" data-low="{b.low}" data-high="{b.high}"/>'
        )
        middle = _f(x + (slot - 4) / 2)
        if b.count:
            out.append(f'<text x="{middle}" y="{_f(base - height - 4)}" text-anchor="middle">{b.count}</text>')
        out.append(f'<text x="{middle}" y="{base + 16}" text-anchor="middle">{b.low}-{b.high}</text>')
    out += [
        f'<line class="axis" x1="{_LEFT}" y1="{base}" x2="{_LEFT + plot_w}" y2="{base}"/>',
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{base}"/>',
        f'<text x="{_f(_LEFT + plot_w / 2)}" y="{SVG_HEIGHT - 16}" text-anchor="middle">'
        "percent of points possible</text>",
        f'<text x="16" y="{_f(_TOP + plot_h / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 16 {_f(_TOP + plot_h / 2)})">students</text>',
        "</svg>",
    ]
    return "\n".join(out) + "\n"


def _ticks(most: int) -> list[int]:
    """Whole-number ticks from 0 to at least `most`, at most about six of them."""
    if most <= 0:
        return [0]
    magnitude = 1
    while True:
        for factor in (1, 2, 5):  # steps of 1, 2, 5, 10, 20, 50, ...
            step = factor * magnitude
            if most / step <= 6:
                return list(range(0, most + 1, step))
        magnitude *= 10
