"""A chart of a reference's distribution with the declared unit value marked (PNG)."""

from __future__ import annotations

import io
import math
import threading

import matplotlib

matplotlib.use("Agg")  # no display: files and HTTP responses only

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from tamis.valuation.report import hs_label, origin_label  # noqa: E402

# pyplot and its mathtext parser are not thread-safe; the web server draws from threads.
_drawing = threading.Lock()


def reference_chart(
    reference: dict, distribution: pl.DataFrame | None, declared: float | None, currency: str
) -> bytes:
    """PNG bytes: the histogram of unit values behind ``reference`` (when it has one, e.g.
    not for an analyst reference), its median and interquartile range, and ``declared``."""
    with _drawing:
        return _draw(reference, distribution, declared, currency)


def _draw(reference, distribution, declared, currency) -> bytes:
    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    if distribution is not None and distribution.height:
        values = [math.exp(v) for v in distribution["v"]]
        axes.bar(values, distribution["items"], width=[v * 0.02 for v in values], color="#8da0cb")
    if reference.get("q1_uv") and reference.get("q3_uv"):
        axes.axvspan(reference["q1_uv"], reference["q3_uv"], color="#8da0cb", alpha=0.25,
                     label="interquartile range")  # fmt: skip
    axes.axvline(reference["median_uv"], color="#1b3a6b", label="reference median")
    if declared is not None:
        axes.axvline(declared, color="#d62728", linestyle="--", linewidth=2, label="declared")
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    axes.set_xlabel(f"unit value, {currency}/{reference['basis']} (log scale)")
    axes.set_ylabel("items")
    n = f", n={reference['n']:,}" if reference.get("n") else ""
    axes.set_title(
        f"HS {hs_label(reference['hs_code'])} from {origin_label(reference['origin'])}"
        f" — {reference['source']}, level {reference['level']}{n}",
        fontsize=10,
    )
    axes.legend(fontsize=8)
    figure.text(0.01, 0.01, "risk indicator only: never a minimum or substitute value",
                fontsize=7, color="grey")  # fmt: skip
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
