"""Bar charts as SVG rendered on the server (no chart library, nothing from a CDN, no inline styles)."""
from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 180
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 36, 22, 10


def _nice_max(value: int) -> int:
    if value <= 4:
        return 4
    step = 1
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return value


def daily_chart(series: list[tuple[date, int]], title: str) -> Markup:
    """An accessible SVG bar chart of (day, count) pairs; each bar has a <title> with its figure."""
    top = _nice_max(max((n for _, n in series), default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT - 4, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(len(series), 1)
    parts = [
        f'<svg class="admin-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for tick in (0, top // 2, top):
        y = PAD_TOP + plot_h - plot_h * tick / top
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{tick}</text>')
    for i, (day, count) in enumerate(series):
        h = plot_h * count / top
        x = PAD_LEFT + i * slot + 1
        y = PAD_TOP + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" height="{h:.1f}" class="bar">'
            f'<title>{day.isoformat()}: {count}</title></rect>'
        )
        last = len(series) - 1
        if i % 7 == 0 and last - i >= 4 or i == last:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" class="axis">'
                         f'{day.strftime("%b %d")}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
