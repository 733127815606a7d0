"""Small SVG charts drawn on the server: no script, no external asset, and cheap enough to
keep a page within its time budget (a matplotlib figure costs ~100 ms)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

COLOURS = {
    "green": "#2e8b57", "blue": "#3a6fb0", "yellow": "#e0b400", "orange": "#e07b00",
    "red": "#c62828", "none": "#9e9e9e", "up": "#c62828", "down": "#2e8b57", "bar": "#3a6fb0",
}  # fmt: skip


def _svg(width: int, height: int, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def stacked_bars(
    labels: Sequence[str],
    series: dict[str, Sequence[int]],
    title: str,
    names: dict[str, str],
    shown: Callable[[float], str],
) -> Markup:
    """One bar per label, stacked by series (e.g. channels), with a legend; ``shown`` writes
    a count the page's way."""
    width, height, left, bottom, top = 760, 260, 48, 40, 28
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    step = (width - left - 8) / max(len(labels), 1)
    scale = (height - bottom - top) / peak
    body = [
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="axis">'
        f"{escape(shown(peak))}</text>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" '
        'class="axis-line"/>',
    ]
    for i, label in enumerate(labels):
        y = height - bottom
        for name, values in series.items():
            h = values[i] * scale
            if h <= 0:
                continue
            y -= h
            body.append(
                f'<rect x="{left + i * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{COLOURS.get(name, COLOURS["bar"])}">'
                f"<title>{escape(label)} — {escape(names.get(name, name))} — "
                f"{escape(shown(values[i]))}</title>"
                "</rect>"
            )
        if len(labels) <= 16 or i % max(len(labels) // 12, 1) == 0:
            body.append(
                f'<text x="{left + i * step + step / 2:.1f}" y="{height - bottom + 14}" '
                f'text-anchor="middle" class="axis">{escape(label)}</text>'
            )
    x = left
    for name in series:
        body.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{COLOURS.get(name, "#777")}"/>'
            f'<text x="{x + 14}" y="13" class="legend">{escape(names.get(name, name))}</text>'
        )
        x += 18 + 8 * len(names.get(name, name))
    return _svg(width, height, body, title)


def horizontal_bars(
    rows: Sequence[tuple[str, float]],
    title: str,
    shown: Callable[[float], str],
    colour: Callable[[float], str] = lambda v: COLOURS["up"] if v >= 0 else COLOURS["down"],
) -> Markup:
    """One bar per (label, value); negative values go left of the axis; ``shown`` writes a
    value the page's way."""
    width, bar, gap, label_width = 760, 18, 6, 330
    height = max(len(rows), 1) * (bar + gap) + 8
    span = max((abs(v) for _, v in rows), default=0) or 1
    negative = any(v < 0 for _, v in rows)
    plot = width - label_width - 70
    zero = label_width + (plot / 2 if negative else 0)
    scale = (plot / 2 if negative else plot) / span
    body = [f'<line x1="{zero}" y1="0" x2="{zero}" y2="{height}" class="axis-line"/>']
    for i, (label, value) in enumerate(rows):
        y = 4 + i * (bar + gap)
        w = abs(value) * scale
        x = zero if value >= 0 else zero - w
        body.append(
            f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end" class="label">'
            f"{escape(label[:60])}<title>{escape(label)}</title></text>"
            f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{bar}" '
            f'fill="{colour(value)}"/>'
            f'<text x="{(zero + w if value >= 0 else zero) + 4:.1f}" y="{y + 13}" class="value">'
            f"{escape(shown(value))}</text>"
        )
    return _svg(width, height, body, title)
