"""A chart of a reference's distribution with the declared unit value marked (PNG)."""

from __future__ import annotations

import io
import math
import threading

import matplotlib

matplotlib.use("Agg")  # no display: files and HTTP responses only

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogFormatter, MaxNLocator  # noqa: E402

from tamis.valuation.svg import Words, caption, tick_label  # noqa: E402

# pyplot and its mathtext parser are not thread-safe; the web server draws from threads.
_drawing = threading.Lock()


class English:
    """The chart's words without a page: in English, numbers as Python writes them (the CLI's
    and the API's charts)."""

    language = "en"
    WORDS = {
        "valuechart.interquartile": "interquartile range",
        "valuechart.median": "reference median",
        "valuechart.declared": "declared",
        "valuechart.axis": "unit value, {currency}/{basis} (log scale)",
        "valuechart.items": "items",
        "valuechart.title": "HS {hs} from {origin} — {source}, level {level}",
        "valuechart.count": ", n={n}",
        "valuechart.source.history": "history",
        "valuechart.guardrail": "risk indicator only: never a minimum or substitute value",
    }

    def __call__(self, key: str, **values) -> str:
        return self.WORDS[key].format(**values)

    def number(self, value: float, digits: int = 0) -> str:
        return f"{value:,.{digits}f}"


def reference_chart(
    reference: dict,
    distribution: pl.DataFrame | None,
    declared: float | None,
    currency: str,
    t: Words | None = None,
) -> bytes:
    """PNG bytes: the histogram of unit values behind ``reference`` (when it has one, e.g.
    not for an analyst reference), its median and interquartile range, and ``declared``;
    its words and numbers in ``t``'s language (English without one)."""
    with _drawing:
        return _draw(reference, distribution, declared, currency, t or English())


class _LogTicks(LogFormatter):
    """Matplotlib's choice of which ticks of a log axis to label, each written ``t``'s way
    with the decimals it has (0,05)."""

    def __init__(self, t: Words, **options) -> None:
        super().__init__(**options)
        self.t = t

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return tick_label(x, self.t)


def _draw(reference, distribution, declared, currency, t: Words) -> bytes:
    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    if distribution is not None and distribution.height:
        values = [math.exp(v) for v in distribution["v"]]
        axes.bar(values, distribution["items"], width=[v * 0.02 for v in values], color="#8da0cb")
    if reference.get("q1_uv") and reference.get("q3_uv"):
        axes.axvspan(reference["q1_uv"], reference["q3_uv"], color="#8da0cb", alpha=0.25,
                     label=t("valuechart.interquartile"))  # fmt: skip
    axes.axvline(reference["median_uv"], color="#1b3a6b", label=t("valuechart.median"))
    if declared is not None:
        axes.axvline(declared, color="#d62728", linestyle="--", linewidth=2,
                     label=t("valuechart.declared"))  # fmt: skip
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(_LogTicks(t))
    axes.xaxis.set_minor_formatter(_LogTicks(t, labelOnlyBase=False))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # items are counted whole
    axes.yaxis.set_major_formatter(FuncFormatter(lambda y, _: t.number(y)))
    axes.set_xlabel(t("valuechart.axis", currency=currency, basis=reference["basis"]))
    axes.set_ylabel(t("valuechart.items"))
    axes.set_title(caption(reference, t), fontsize=10)
    axes.legend(fontsize=8)
    figure.text(0.01, 0.01, t("valuechart.guardrail"), fontsize=7, color="grey")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
