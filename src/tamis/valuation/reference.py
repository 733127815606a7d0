"""Reference unit values: robust statistics per HS code and origin, matching and scoring.

Everything here is columnar and works on frames, with or without the store:

1. ``histogram``: declared items → counts of log unit value per (month, HS code, origin,
   basis) in bins of ``BIN_WIDTH``. Items with a known fraud (``known_fraud``) are left out.
   Months are additive, so a new month only adds rows: the build is incremental.
2. ``references``: histogram → one reference per cell at every level of the fallback
   (HS10 → HS8 → HS6 → HS4, each for the origin, its region and all origins) with n,
   median, quartiles, MAD and separate lower and upper spreads of log unit value, and a
   trend. Prices are skewed: a long upper tail (brands, small consignments) is normal, a
   long lower tail is where under-valuation hides. So the lower spread is the lower
   semi-MAD (robust to a quarter of the lower half being fraud) and the upper spread the
   larger of the upper semi-MAD and (P90 − median) / 1.2816, which widens with a heavy
   upper tail. Outliers are trimmed per cell first, outside median ∓ ``TRIM_K`` spreads,
   so that they cannot poison the statistics. Cells with fewer than ``min_n`` items are
   dropped: their items fall back to a coarser level.
3. ``match``: items → the reference that applies to each, analyst references first, then
   the finest history level that has one.
4. ``score``: how far the declared unit value lies below (or above) the reference, in units
   of the lower (upper) spread, which respects the skew of price data; damped for small n.

The database is a *risk* tool only: nothing here produces a value to be declared.
"""

from __future__ import annotations

import math
from datetime import datetime

import polars as pl

from tamis.regions import REGION_OF

BIN_WIDTH = 0.02  # log units: unit values are binned to ±1 %
MAD_SCALE = 1.4826  # makes a MAD estimate the standard deviation of normal data
SPREAD_FLOOR = 0.05  # never trust a spread tighter than ±5 %
TRIM_K = 3.5
MIN_N = 20
CATCH_ALL_WIDENING = 1.5
ANALYST_SPREAD = 0.25  # log spread assumed when an analyst gives no quartiles
QUARTILE_Z = 0.6745  # quartiles of a normal law lie 0.6745 sigma from its median
P90_Z = 1.2816  # and its 90th percentile 1.2816 sigma above
SMALL_N = 5.0  # confidence n / (n + SMALL_N)
RAMP = (2.0, 5.0)  # robust deviations at which the score leaves 0 and reaches 1
DEFAULT_THRESHOLD = 0.5  # = 3.5 robust deviations for a large sample

HS_LEVELS = (10, 8, 6, 4)
ORIGIN_SCOPES = ("origin", "region", "all")
LEVELS: tuple[str, ...] = tuple(f"hs{k}/{s}" for k in HS_LEVELS for s in ORIGIN_SCOPES)
KEYS = ["level", "hs_code", "origin", "basis"]

REFERENCE_SCHEMA: dict[str, pl.DataType] = {
    "reference_id": pl.Int64(),
    "source": pl.String(),
    "level": pl.String(),
    "hs_code": pl.String(),
    "origin": pl.String(),
    "basis": pl.String(),
    "window_start": pl.Datetime("us"),
    "window_end": pl.Datetime("us"),
    "n": pl.Int64(),
    "trimmed": pl.Int64(),
    "median_uv": pl.Float64(),
    "q1_uv": pl.Float64(),
    "q3_uv": pl.Float64(),
    "mad_log": pl.Float64(),
    "lower_spread_log": pl.Float64(),
    "upper_spread_log": pl.Float64(),
    "trend_log": pl.Float64(),
    "catch_all": pl.Int64(),
    "note": pl.String(),
    "built_at": pl.Datetime("us"),
}


def level_of(hs_digits: int, scope: str) -> str:
    return f"hs{hs_digits}/{scope}"


def origin_key(scope: str, country: pl.Expr) -> pl.Expr:
    if scope == "origin":
        return country
    if scope == "region":
        return country.replace_strict(REGION_OF, default=None, return_dtype=pl.String)
    return pl.lit("*")


def hs_key(digits: int, code: pl.Expr) -> pl.Expr:
    return pl.when(code.str.len_chars() >= digits).then(code.str.slice(0, digits))


def is_catch_all(code: pl.Expr) -> pl.Expr:
    """'Other' lines: a subheading or national split numbered 90 or 99 (e.g. 6403.99)."""
    pairs = [code.str.slice(start, 2) for start in (4, 6, 8)]
    return pl.any_horizontal(p.is_in(["90", "99"]) for p in pairs).fill_null(False)


def month_of(lodged_at: pl.Expr) -> pl.Expr:
    return lodged_at.dt.year() * 100 + lodged_at.dt.month()


# --- unit values and histogram -------------------------------------------------------------


def unit_values(items: pl.DataFrame | pl.LazyFrame, keep: list[str]) -> pl.LazyFrame:
    """One row per item and basis: per net kg (``KG``) and per tariff unit when it is not KG."""
    items = items.lazy()
    value = pl.col("customs_value").cast(pl.Float64)
    mass = pl.col("net_mass_kg").cast(pl.Float64)
    quantity = pl.col("quantity").cast(pl.Float64)
    unit = pl.col("quantity_unit").cast(pl.String)
    per_kg = items.filter((mass > 0) & (value > 0)).select(
        *keep, pl.lit("KG").alias("basis"), (value / mass).alias("uv")
    )
    per_unit = items.filter(unit.is_not_null() & (unit != "KG") & (quantity > 0) & (value > 0))
    per_unit = per_unit.select(*keep, unit.alias("basis"), (value / quantity).alias("uv"))
    return pl.concat([per_kg, per_unit])


def histogram(items: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """month, hs_code, origin, basis, bin, items: counts of log unit value."""
    items = items.lazy()
    if "known_fraud" in items.collect_schema().names():
        items = items.filter(~pl.col("known_fraud").fill_null(False))
    items = items.with_columns(month_of(pl.col("lodged_at")).alias("month"))
    return (
        unit_values(items, ["month", "hs_code", pl.col("origin_country").alias("origin")])
        .with_columns((pl.col("uv").log() / BIN_WIDTH).round().cast(pl.Int32).alias("bin"))
        .group_by("month", "hs_code", "origin", "basis", "bin")
        .agg(pl.len().cast(pl.Int64).alias("items"))
        .sort("month", "hs_code", "origin", "basis", "bin")
        .collect()
    )


# --- robust statistics over binned data ------------------------------------------------------


def _quantiles(frame: pl.DataFrame, value: str, probs: dict[str, float]) -> pl.DataFrame:
    """Weighted quantiles of ``value`` (weights ``items``) per ``cell``."""
    ranked = frame.sort("cell", value).with_columns(
        pl.col("items").cum_sum().over("cell").alias("_cum"),
        pl.col("items").sum().over("cell").alias("_n"),
    )
    return ranked.group_by("cell").agg(
        pl.col(value).filter(pl.col("_cum") >= p * pl.col("_n")).first().alias(name)
        for name, p in probs.items()
    )


def _robust(bins: pl.DataFrame) -> pl.DataFrame:
    """Per cell: n, median, q1, q3 (log) and MAD, lower and upper spread (scaled to sigma)."""
    probs = {"median": 0.5, "q1": 0.25, "q3": 0.75, "p90": 0.9}
    centre = _quantiles(bins, "v", probs).join(
        bins.group_by("cell").agg(pl.col("items").sum().alias("n")), on="cell"
    )
    dev = bins.join(centre.select("cell", "median"), on="cell").with_columns(
        (pl.col("v") - pl.col("median")).abs().alias("d")
    )
    spreads = [
        _quantiles(dev, "d", {"mad": 0.5}),
        _quantiles(dev.filter(pl.col("v") <= pl.col("median")), "d", {"lower": 0.5}),
        _quantiles(dev.filter(pl.col("v") >= pl.col("median")), "d", {"upper": 0.5}),
    ]
    for spread in spreads:
        centre = centre.join(spread, on="cell", how="left")
    tail = (pl.col("p90") - pl.col("median")) / P90_Z
    return centre.with_columns(pl.col("mad", "lower", "upper") * MAD_SCALE).with_columns(
        pl.max_horizontal("upper", tail).alias("upper")
    )


def _stack_levels(hist: pl.DataFrame) -> pl.DataFrame:
    """The histogram once per fallback level, keyed by that level's HS prefix and origin."""
    frames = [
        hist.select(
            pl.lit(level_of(digits, scope)).alias("level"),
            hs_key(digits, pl.col("hs_code")).alias("hs_code"),
            origin_key(scope, pl.col("origin")).alias("origin"),
            "basis",
            "month",
            (pl.col("bin") * BIN_WIDTH).alias("v"),
            "items",
        ).drop_nulls(["hs_code", "origin"])
        for digits in HS_LEVELS
        for scope in ORIGIN_SCOPES
    ]
    return pl.concat(frames)


def _trend(monthly: pl.DataFrame) -> pl.DataFrame:
    """Per cell: weighted least-squares slope of the monthly trimmed mean of log unit value."""
    t = (pl.col("month") // 100) * 12 + pl.col("month") % 100
    means = (
        monthly.group_by("cell", "month")
        .agg((pl.col("v") * pl.col("items")).sum().alias("sv"), pl.col("items").sum().alias("w"))
        .with_columns((pl.col("sv") / pl.col("w")).alias("y"), t.cast(pl.Float64).alias("t"))
    )
    w = pl.col("w")
    tm = (w * pl.col("t")).sum() / w.sum()
    ym = (w * pl.col("y")).sum() / w.sum()
    dt = pl.col("t") - tm
    slope = (w * dt * (pl.col("y") - ym)).sum() / (w * dt**2).sum()
    return means.group_by("cell").agg(pl.when(pl.len() >= 3).then(slope).alias("trend_log"))


def references(
    hist: pl.DataFrame,
    months: tuple[int, int] | None = None,
    min_n: int = MIN_N,
    built_at: datetime | None = None,
) -> pl.DataFrame:
    """History references (``REFERENCE_SCHEMA``) from a histogram, over months [first, end)."""
    if months:
        hist = hist.filter(pl.col("month").is_between(months[0], months[1], closed="left"))
    if hist.is_empty():
        return pl.DataFrame(schema=REFERENCE_SCHEMA)
    stacked = _stack_levels(hist)
    cells = stacked.select(KEYS).unique().with_row_index("cell")
    stacked = stacked.join(cells, on=KEYS).drop(KEYS)
    bins = stacked.group_by("cell", "v").agg(pl.col("items").sum())

    rough = _robust(bins).select(
        "cell",
        (pl.col("median") - TRIM_K * pl.col("lower").clip(SPREAD_FLOOR)).alias("low"),
        (pl.col("median") + TRIM_K * pl.col("upper").clip(SPREAD_FLOOR)).alias("high"),
    )
    inside = pl.col("v").is_between("low", "high")
    bins = bins.join(rough, on="cell")
    trimmed = bins.filter(~inside).group_by("cell").agg(pl.col("items").sum().alias("trimmed"))
    stats = _robust(bins.filter(inside)).filter(pl.col("n") >= min_n)
    trend = _trend(stacked.join(rough, on="cell").filter(inside))

    first, end = months or (hist["month"].min(), shift_months(hist["month"].max(), 1))
    return (
        stats.join(trimmed, on="cell", how="left")
        .join(trend, on="cell", how="left")
        .join(cells, on="cell")
        .select(
            pl.lit(None, pl.Int64).alias("reference_id"),
            pl.lit("history").alias("source"),
            *KEYS,
            pl.lit(month_start(first)).alias("window_start"),
            pl.lit(month_start(end)).alias("window_end"),
            "n",
            pl.col("trimmed").fill_null(0),
            pl.col("median").exp().alias("median_uv"),
            pl.col("q1").exp().alias("q1_uv"),
            pl.col("q3").exp().alias("q3_uv"),
            pl.col("mad").alias("mad_log"),
            pl.col("lower").alias("lower_spread_log"),
            pl.col("upper").alias("upper_spread_log"),
            "trend_log",
            is_catch_all(pl.col("hs_code")).cast(pl.Int64).alias("catch_all"),
            pl.lit(None, pl.String).alias("note"),
            pl.lit(built_at or datetime.now()).alias("built_at"),
        )
        .cast(REFERENCE_SCHEMA)
        .sort(KEYS)
    )


def month_start(month: int) -> datetime:
    return datetime(month // 100, month % 100, 1)


def shift_months(month: int, delta: int) -> int:
    index = (month // 100) * 12 + month % 100 - 1 + delta
    return (index // 12) * 100 + index % 12 + 1


# --- analyst references ---------------------------------------------------------------------


def analyst_references(frame: pl.DataFrame, source: str, built_at: datetime) -> pl.DataFrame:
    """Analyst-set references (price research, exporter-country price lists).

    Columns: hs_code (4 to 10 digits), origin (country, region code or empty for all),
    basis (KG or a tariff unit), median_uv, and optionally q1_uv, q3_uv, n, note.
    """
    missing = {"hs_code", "basis", "median_uv"} - set(frame.columns)
    if missing:
        raise ValueError(f"analyst references lack column(s) {', '.join(sorted(missing))}")
    frame = frame.with_columns(
        pl.col(c).cast(pl.Float64) if c in frame.columns else pl.lit(None, pl.Float64).alias(c)
        for c in ("q1_uv", "q3_uv")
    ).with_columns(
        pl.col("hs_code").cast(pl.String).str.strip_chars().str.replace_all(r"\.", ""),
        (pl.col("origin") if "origin" in frame.columns else pl.lit(None))
        .cast(pl.String)
        .str.strip_chars()
        .str.to_uppercase()
        .replace("", None)
        .fill_null("*")
        .alias("origin"),
        pl.col("basis").cast(pl.String).str.to_uppercase(),
        pl.col("median_uv").cast(pl.Float64),
    )
    bad = frame.filter(
        ~pl.col("hs_code").str.contains(r"^(\d{4}|\d{6}|\d{8}|\d{10})$")
        | ~(pl.col("median_uv") > 0)
        | pl.col("origin").str.contains(r"^[A-Z*]{1,3}$").not_()
    )
    if bad.height:
        row = bad.row(0, named=True)
        raise ValueError(
            f"analyst reference {row}: expected hs_code of 4, 6, 8 or 10 digits, "
            "origin a country, region code or empty, and median_uv > 0"
        )
    scope = (
        pl.when(pl.col("origin") == "*")
        .then(pl.lit("all"))
        .when(pl.col("origin").str.len_chars() == 2)
        .then(pl.lit("origin"))
        .otherwise(pl.lit("region"))
    )
    median, spread = pl.col("median_uv").log(), pl.lit(ANALYST_SPREAD)
    return frame.select(
        pl.lit(None, pl.Int64).alias("reference_id"),
        pl.lit(source).alias("source"),
        pl.format("hs{}/{}", pl.col("hs_code").str.len_chars(), scope).alias("level"),
        "hs_code",
        "origin",
        "basis",
        pl.lit(None, pl.Datetime("us")).alias("window_start"),
        pl.lit(None, pl.Datetime("us")).alias("window_end"),
        (pl.col("n") if "n" in frame.columns else pl.lit(None)).cast(pl.Int64).alias("n"),
        pl.lit(None, pl.Int64).alias("trimmed"),
        "median_uv",
        "q1_uv",
        "q3_uv",
        pl.lit(None, pl.Float64).alias("mad_log"),
        ((median - pl.col("q1_uv").log()) / QUARTILE_Z).fill_null(spread).alias("lower_spread_log"),
        ((pl.col("q3_uv").log() - median) / QUARTILE_Z).fill_null(spread).alias("upper_spread_log"),
        pl.lit(None, pl.Float64).alias("trend_log"),
        is_catch_all(pl.col("hs_code")).cast(pl.Int64).alias("catch_all"),
        (pl.col("note") if "note" in frame.columns else pl.lit(None)).cast(pl.String).alias("note"),
        pl.lit(built_at).alias("built_at"),
    ).cast(REFERENCE_SCHEMA)


# --- matching and scoring -------------------------------------------------------------------


def match(items: pl.DataFrame, refs: pl.DataFrame) -> pl.DataFrame:
    """Items (hs_code, origin_country, basis, ...) joined to the reference that applies.

    Analyst references come first, at their finest matching level; then history, finest
    level first. Reference columns are prefixed ``ref_``; unmatched items are dropped.
    """
    refs = refs.rename({c: f"ref_{c}" for c in refs.columns})
    matched, rest = [], items
    for analyst in (True, False):
        pool = refs.filter((pl.col("ref_source") != "history") == analyst)
        for digits in HS_LEVELS:
            for scope in ORIGIN_SCOPES:
                level = pool.filter(pl.col("ref_level") == level_of(digits, scope))
                if level.is_empty() or rest.is_empty():
                    continue
                level = level.sort("ref_built_at").unique(
                    ["ref_hs_code", "ref_origin", "ref_basis"], keep="last"
                )
                keyed = rest.with_columns(
                    hs_key(digits, pl.col("hs_code")).alias("_hs"),
                    origin_key(scope, pl.col("origin_country")).alias("_origin"),
                )
                joined = keyed.join(
                    level,
                    left_on=["_hs", "_origin", "basis"],
                    right_on=["ref_hs_code", "ref_origin", "ref_basis"],
                    how="left",
                    coalesce=False,
                )
                found = pl.col("ref_level").is_not_null()
                matched.append(joined.filter(found).drop("_hs", "_origin"))
                rest = joined.filter(~found).select(items.columns)
    if not matched:
        return items.clear().join(refs.clear(), how="cross")
    return pl.concat(matched, how="vertical_relaxed")


def _ramp(z: pl.Expr) -> pl.Expr:
    low, high = RAMP
    return ((z - low) / (high - low)).clip(0.0, 1.0)


def score(matched: pl.DataFrame) -> pl.DataFrame:
    """Add z_under, z_over, score_under, score_over, score, direction and widening.

    z is the distance of ln(declared unit value) from ln(reference median) in lower (upper)
    spreads, inflated by the uncertainty of a median from n items and, on catch-all
    lines, widened by ``CATCH_ALL_WIDENING``. Score: 0 up to 2 deviations, 1 from 5, times
    the confidence n / (n + 5).
    """
    n = pl.col("ref_n").cast(pl.Float64)
    widening = pl.when(is_catch_all(pl.col("hs_code")) | (pl.col("ref_catch_all") == 1))
    widening = widening.then(CATCH_ALL_WIDENING).otherwise(1.0)
    sampling = (1 + (math.pi / 2) / n).sqrt().fill_null(1.0)
    gap = pl.col("uv").log() - pl.col("ref_median_uv").log()
    lower = pl.col("ref_lower_spread_log").fill_null(ANALYST_SPREAD).clip(SPREAD_FLOOR)
    upper = pl.col("ref_upper_spread_log").fill_null(ANALYST_SPREAD).clip(SPREAD_FLOOR)
    confidence = (n / (n + SMALL_N)).fill_null(1.0)
    return (
        matched.with_columns(widening.alias("widening"))
        .with_columns(
            (-gap / (lower * pl.col("widening") * sampling)).alias("z_under"),
            (gap / (upper * pl.col("widening") * sampling)).alias("z_over"),
        )
        .with_columns(
            (_ramp(pl.col("z_under")) * confidence).alias("score_under"),
            (_ramp(pl.col("z_over")) * confidence).alias("score_over"),
        )
        .with_columns(
            pl.max_horizontal("score_under", "score_over").alias("score"),
            pl.when(pl.col("score_under") > 0)
            .then(pl.lit("under"))
            .when(pl.col("score_over") > 0)
            .then(pl.lit("over"))
            .alias("direction"),
        )
    )
