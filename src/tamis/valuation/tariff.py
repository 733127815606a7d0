"""Duty and tax rates per HS code, for the revenue at stake of a value gap.

The tariff file has ``hs_prefix, duty_pct, vat_pct, other_pct, description``; the longest
prefix of an item's HS code wins. An item whose code no prefix covers keeps its own declared
``duty_rate`` and ``vat_rate``. A declared preferential duty (an item with a
``preference_code``) below the tariff's is kept: whether the origin is genuine is another
detector's question.

Duties and taxes on a value gap g: g · ((1 + duty + other) · (1 + VAT) − 1), VAT being
levied on the duty-paid value.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

TARIFF_FILE = Path(__file__).parent.parent / "data" / "tariff.csv"
RATES = ("duty_pct", "vat_pct", "other_pct")


def load_tariff(path: Path | str | None = None) -> pl.DataFrame:
    """hs_prefix, duty_pct, vat_pct, other_pct (floats, per cent)."""
    path = Path(path or TARIFF_FILE)
    table = pl.read_csv(path, schema_overrides={"hs_prefix": pl.String})
    missing = {"hs_prefix", *RATES} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: tariff file lacks column(s) {', '.join(sorted(missing))}")
    return table.select(
        pl.col("hs_prefix").str.strip_chars(), *(pl.col(r).cast(pl.Float64) for r in RATES)
    ).unique("hs_prefix", keep="last")


def with_rates(items: pl.DataFrame, tariff: pl.DataFrame) -> pl.DataFrame:
    """``items`` plus duty_pct, vat_pct, other_pct and ``burden`` (taxes per unit of value)."""
    frame = items.with_columns(pl.lit(None, pl.Float64).alias(r) for r in RATES)
    for length in sorted(set(tariff["hs_prefix"].str.len_chars()), reverse=True):
        level = tariff.filter(pl.col("hs_prefix").str.len_chars() == length)
        frame = frame.join(
            level.rename({r: f"_{r}" for r in RATES}),
            left_on=pl.col("hs_code").str.slice(0, length),
            right_on="hs_prefix",
            how="left",
        ).with_columns(pl.coalesce(r, f"_{r}").alias(r) for r in RATES)
        frame = frame.drop([f"_{r}" for r in RATES] + ["hs_prefix"], strict=False)
    declared = {
        "duty_pct": _declared("duty_rate", items),
        "vat_pct": _declared("vat_rate", items),
    }
    preferential = (
        pl.col("preference_code").is_not_null() if "preference_code" in items.columns else False
    )
    duty = pl.coalesce("duty_pct", declared["duty_pct"])
    return frame.with_columns(
        pl.when(preferential & (declared["duty_pct"] < duty))
        .then(declared["duty_pct"])
        .otherwise(duty)
        .alias("duty_pct"),
        pl.coalesce("vat_pct", declared["vat_pct"]).alias("vat_pct"),
        pl.col("other_pct").fill_null(0.0),
    ).with_columns(
        (
            (1 + (pl.col("duty_pct") + pl.col("other_pct")) / 100) * (1 + pl.col("vat_pct") / 100)
            - 1
        ).alias("burden")
    )


def _declared(column: str, items: pl.DataFrame) -> pl.Expr:
    return pl.col(column).cast(pl.Float64) if column in items.columns else pl.lit(None, pl.Float64)
