"""A reference's value chart as SVG, drawn from its data by our own small code: the histogram
of unit values behind it, its interquartile range and median, and the declared value marked,
on a log axis. Its colours and fonts are SVG attributes (a page's policy allows no style
attribute), so it reads the same inline or as an image; drawing one takes about a
millisecond, where matplotlib's PNG took a few hundred."""

from __future__ import annotations

import math
from typing import Protocol

import polars as pl
from markupsafe import Markup, escape

from tamis.valuation.reference import BIN_WIDTH
from tamis.valuation.report import hs_label, origin_label

WIDTH, HEIGHT = 800, 400
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 40, 72  # the plot's margins: ticks, labels, title, note
COLOURS = {"bins": "#8da0cb", "median": "#1b3a6b", "declared": "#d62728", "ink": "#222",
           "muted": "#595959", "line": "#999"}  # fmt: skip


class Words(Protocol):
    """What a chart needs of a page's translator (``tamis.web.i18n.Translator``)."""

    language: str

    def __call__(self, key: str, **values) -> str: ...

    def number(self, value: float, digits: int = 0) -> str: ...


def caption(reference: dict, t: Words) -> str:
    """'HS 8517.62 from CN — history, level hs6/origin, n=412' in ``t``'s language."""
    source = reference["source"]
    title = t(
        "valuechart.title",
        hs=hs_label(reference["hs_code"]),
        origin=origin_label(reference["origin"], t.language),
        source=t("valuechart.source.history") if source == "history" else source,
        level=reference["level"],
    )
    if reference.get("n"):
        title += t("valuechart.count", n=t.number(reference["n"]))
    return title


def tick_label(value: float, t: Words) -> str:
    """A unit value written ``t``'s way with the decimals it has (0,05; 1,5; 20), at most 6."""
    digits = next((d for d in range(6) if round(value, d) == round(value, 6)), 6)
    return t.number(value, digits)


def value_chart(
    reference: dict,
    distribution: pl.DataFrame | None,
    declared: float | None,
    currency: str,
    t: Words,
) -> Markup:
    """The chart as an ``<svg>`` element: ``distribution`` the reference's bins (v: log unit
    value, items; None or empty for an analyst reference), ``declared`` a unit value."""
    bins = list(distribution.iter_rows()) if distribution is not None else []
    marks = [reference["median_uv"], reference.get("q1_uv"), reference.get("q3_uv"), declared]
    logs = [v for v, _ in bins] + [math.log(m) for m in marks if m and m > 0]
    low, high = min(logs), max(logs)
    pad = 0.05 * (high - low) or 0.5
    axis = _LogAxis(low - pad - BIN_WIDTH, high + pad + BIN_WIDTH)
    peak = max((n for _, n in bins), default=0)
    step = _step(peak)
    top = step * max(1, math.ceil(peak / step))
    plot_height = HEIGHT - TOP - BOTTOM

    def y(count: float) -> float:
        return TOP + plot_height * (1 - count / top)

    title = caption(reference, t)
    body = [
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    legend = []
    if reference.get("q1_uv") and reference.get("q3_uv"):
        x1, x2 = axis.x(math.log(reference["q1_uv"])), axis.x(math.log(reference["q3_uv"]))
        band = 'fill-opacity="0.3"'
        body.append(_rect(x1, TOP, x2 - x1, plot_height, COLOURS["bins"], band))
        legend.append((t("valuechart.interquartile"), _rect(0, -8, 14, 10, COLOURS["bins"], band)))
    for v, n in bins:
        x1, x2 = axis.x(v - BIN_WIDTH / 2), axis.x(v + BIN_WIDTH / 2)
        body.append(_rect(x1, y(n), max(x2 - x1, 1), y(0) - y(n), COLOURS["bins"]))
    solid = 'stroke-width="2"'
    body.append(_line(axis.x(math.log(reference["median_uv"])), COLOURS["median"], solid))
    legend.append((t("valuechart.median"), _sample(COLOURS["median"], solid)))
    if declared and declared > 0:
        dashed = 'stroke-width="2" stroke-dasharray="6 4"'
        body.append(_line(axis.x(math.log(declared)), COLOURS["declared"], dashed))
        legend.append((t("valuechart.declared"), _sample(COLOURS["declared"], dashed)))
    body += _axes(axis, y, step, top, t)
    body.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - BOTTOM + 36}" text-anchor="middle"'
        f' fill="{COLOURS["ink"]}">'
        f"{escape(t('valuechart.axis', currency=currency, basis=reference['basis']))}</text>"
        f'<text transform="rotate(-90)" x="{-(TOP + plot_height / 2):.1f}" y="16"'
        f' text-anchor="middle" fill="{COLOURS["ink"]}">{escape(t("valuechart.items"))}</text>'
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="13"'
        f' fill="{COLOURS["ink"]}">{escape(title)}</text>'
        f'<text x="8" y="{HEIGHT - 8}" font-size="10" fill="{COLOURS["muted"]}">'
        f"{escape(t('valuechart.guardrail'))}</text>"
    )
    body += _legend(legend)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="value-chart" role="img"'
        f' aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}"'
        f' height="{HEIGHT}" font-family="sans-serif" font-size="11">{"".join(body)}</svg>'
    )


class _LogAxis:
    """Unit values on a log scale, from natural logs ``low`` to ``high``, across the plot."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def x(self, log_value: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (log_value - self.low) / (self.high - self.low)

    def ticks(self) -> list[float]:
        """Powers of ten in range; with 2 and 5 times them when fewer than three; on a
        narrow range, five values evenly spaced, at two significant digits."""
        first = math.ceil(self.low / math.log(10))
        last = math.floor(self.high / math.log(10))
        decades = [10.0**k for k in range(first, last + 1)]
        if len(decades) >= 3:
            return decades
        inside = [
            v
            for k in range(first - 1, last + 1)
            for v in (10.0**k, 2 * 10.0**k, 5 * 10.0**k)
            if self.low <= math.log(v) <= self.high
        ]
        if len(inside) >= 3:
            return inside
        spaced = (math.exp(self.low + (self.high - self.low) * i / 6) for i in range(1, 6))
        return [float(f"{v:.2g}") for v in spaced]


def _step(peak: int) -> int:
    """A whole step of 1, 2 or 5 times a power of ten giving at most five ticks up to peak."""
    scale = 1
    while True:
        for step in (scale, 2 * scale, 5 * scale):
            if peak <= 5 * step:
                return step
        scale *= 10


def _axes(axis: _LogAxis, y, step: int, top: int, t: Words) -> list[str]:
    bottom, left, right = y(0), LEFT, WIDTH - RIGHT
    muted, line = COLOURS["muted"], COLOURS["line"]
    drawn = [
        f'<line x1="{left}" y1="{bottom:.1f}" x2="{right}" y2="{bottom:.1f}" stroke="{line}"/>',
        f'<line x1="{left}" y1="{TOP}" x2="{left}" y2="{bottom:.1f}" stroke="{line}"/>',
    ]
    for value in axis.ticks():
        x = axis.x(math.log(value))
        drawn.append(
            f'<line x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" y2="{bottom + 5:.1f}"'
            f' stroke="{line}"/><text x="{x:.1f}" y="{bottom + 18:.1f}" text-anchor="middle"'
            f' fill="{muted}">{escape(tick_label(value, t))}</text>'
        )
    for count in range(0, top + 1, step):
        drawn.append(
            f'<text x="{left - 6}" y="{y(count) + 4:.1f}" text-anchor="end" fill="{muted}">'
            f"{escape(t.number(count))}</text>"
        )
    return drawn


def _legend(entries: list[tuple[str, str]]) -> list[str]:
    """The entries' samples and names, one a line, in the plot's top right corner."""
    x = WIDTH - RIGHT - 230
    drawn = [
        f'<rect x="{x - 6}" y="{TOP + 2}" width="230" height="{18 * len(entries) + 6}"'
        f' fill="#fff" fill-opacity="0.85" stroke="{COLOURS["line"]}"/>'
    ]
    for i, (name, sample) in enumerate(entries):
        drawn.append(
            f'<g transform="translate({x} {TOP + 20 + 18 * i})">{sample}'
            f'<text x="22" y="0" fill="{COLOURS["ink"]}">{escape(name)}</text></g>'
        )
    return drawn


def _rect(x: float, y: float, width: float, height: float, fill: str, more: str = "") -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}"'
        f' fill="{fill}" {more}/>'
    )


def _line(x: float, colour: str, more: str) -> str:
    return (
        f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}"'
        f' stroke="{colour}" {more}/>'
    )


def _sample(colour: str, more: str) -> str:
    return f'<line x1="0" y1="-4" x2="16" y2="-4" stroke="{colour}" {more}/>'
