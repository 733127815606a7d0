"""Features as of lodgement: what an officer could know about a declaration when it arrives.

Every history statistic of a row is computed from labelled rows lodged on *earlier days*
only (an as-of join), never from its own label or a later one:

- smoothed past hit rates and counts for many keys (HS code levels, origin / route, tariff
  preference, importer, declarant, supplier, pairs, value and mass bins, identical goods);
- unit value against the HS6 median unit value of the history;
- the nearest past declarations of the same goods in (value, mass);
- the declaration's own fields (log value, mass, duty, low-cardinality codes) and novelty.

High-cardinality codes (importer, declarant, supplier, HS) enter only through these
smoothed rates, never as raw categories. Training rows get their history statistics
out-of-fold over contiguous time blocks (``oof_features``) so that a training row sees the
other blocks, as a scored row sees the whole labelled history.

Input is the flat canonical frame (``tamis.declarations``) plus ``fraud`` (0/1 label) and
``revenue`` (money at stake of a fraud); ``prepare`` adds the working columns.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

# one-letter names keep the key lists below readable
H, O, D, T, R = "hs6", "origin_country", "export_country", "preference_code", "duty_rate"  # noqa: E741
V, M = "customs_value", "net_mass_kg"
OFFICE, IMPORTER, DECLARANT, SUPPLIER = "office", "importer_id", "declarant_id", "supplier_id"

LOW_CARD = [
    "office",
    "clearance_type",
    "declaration_type",
    "goods_use",
    "payment_method",
    "transport_mode",
    "preference_code",
    "origin_proof",
    "export_country",
    "origin_country",
]
CODES = LOW_CARD + ["declarant_id", "importer_id", "supplier_id", "courier_id", "hs6"]

# keys whose past hit rate / count is a feature
TE_KEYS: list[list[str]] = [
    [H], ["hs4"], ["hs2"], [O], [D], [T], [R],
    [H, O], [H, D], [H, T], [H, R], [O, D],
    [H, O, D], [H, O, D, T], [H, O, D, T, R], ["hs4", O, D],
    # similar goods on the same route at a similar value / mass (log bins)
    [H, "pb"], [H, "mb"], [H, "pbs"], [H, O, D, T, "pb"], [H, O, D, T, "pbs"], [H, O, D, T, "mb"],
    [H, O, D, T, "pbh"], [H, O, D, T, "pb", "mb"], ["hs4", O, D, T, "pb"], ["hs2", O, D, T, "pb"],
    [T, R, "pb"], [O, D, T, "db"],
    # identical goods: the same declared value (and mass) seen before
    [V], [V, M], [H, V, M], [H, O, D, T, V, M], [H, O, D, T, V, M, OFFICE, "declaration_type"],
    [IMPORTER], [DECLARANT], [SUPPLIER], [OFFICE],
    [IMPORTER, H], [DECLARANT, H], [SUPPLIER, H], [H, OFFICE],
]  # fmt: skip
# (child, parent): the child's rate shrunk toward its parent's
HIER = [
    ([H, O, D, T, V, M], [H, O, D, T, "pb"]),
    ([H, V, M], [H, "pb"]),
    ([H, O, D, T, "pb"], [H, O, D, T]),
    ([H, O, D, T], [H, O]),
    ([H, O], [H]),
]
KNN_KEYS = [[H, O, D, T], [H]]
KNN_K = 5
DEFAULT_RATE = 0.2  # prior hit rate when there is no history at all
PRIOR = 5.0  # smoothing strength toward the global hit rate (pseudo-count)
N_FOLDS = 6
# day, then ids in natural order (numeric ids as numbers): ties in the history broken alike
ORDER = [pl.col("day"), pl.col("declaration_id").str.len_chars(), pl.col("declaration_id")]
OWN = [
    "log_value", "log_mass", "log_duty", "log_unit", "duty_rate_pct", "weekday", "zero_value",
    "new_importer", "new_supplier", "new_importer_hs", "origin_ne_export",
]  # fmt: skip


def key_name(key: list[str]) -> str:
    return "|".join(key)


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Working columns on a canonical frame: day, HS levels, codes as text, duty, value bins.

    Fields a source does not give (a profile may map fewer) count as unknown."""
    wanted = [*LOW_CARD, IMPORTER, DECLARANT, SUPPLIER, "courier_id", R, M]
    frame = frame.with_columns(pl.lit(None).alias(c) for c in wanted if c not in frame.columns)
    frame = frame.with_columns(
        pl.col("lodged_at").cast(pl.Date).alias("day"),
        pl.col("hs_code").cast(pl.String).str.slice(0, 6).alias(H),
        pl.col(V).cast(pl.Float64).fill_null(0.0),
        pl.col(M).cast(pl.Float64).fill_null(0.0),
        pl.col(R).cast(pl.Float64).fill_null(0.0),
    )
    frame = frame.with_columns(
        *[pl.col(c).cast(pl.String).fill_null("NA") for c in CODES],
        pl.col(H).str.slice(0, 4).alias("hs4"),
        pl.col(H).str.slice(0, 2).alias("hs2"),
        (pl.col(V) * pl.col(R) / 100).clip(0.0).alias("duty"),
    )
    lv = (pl.col(V) + 1).log()
    return frame.with_columns(  # log bins: width 1, shifted by 0.5, width 0.5
        pb=lv.floor().cast(pl.Int32),
        pbs=(lv + 0.5).floor().cast(pl.Int32),
        pbh=(lv * 2).floor().cast(pl.Int32),
        mb=(pl.col(M) + 1).log().floor().cast(pl.Int32),
        db=(pl.col("duty") + 1).log().floor().cast(pl.Int32),
    )


def _log_unit() -> pl.Expr:
    return (pl.col(V) / pl.col(M).clip(1e-3)).clip(1e-6).log()


def build_features(history: pl.DataFrame, target: pl.DataFrame, prior: float = PRIOR):
    """``target`` (prepared) with feature columns, from ``history`` rows of earlier days only.

    ``target``'s labels are never read; rows come back in ``target``'s order."""
    with warnings.catch_warnings():  # as-of joins by group: polars cannot check sortedness
        warnings.filterwarnings("ignore", message="Sortedness")
        return _build_features(history, target, prior)


def _build_features(history: pl.DataFrame, target: pl.DataFrame, prior: float) -> pl.DataFrame:
    hist = history.sort(*ORDER).with_columns(_lup=_log_unit())
    feats = target.with_row_index("_rid").sort("day")
    # the prior is the hit rate of the history before the row's day too, not of all of it
    overall = (
        hist.group_by("day").agg(pl.col("fraud").sum().alias("_s"), pl.len().alias("_n"))
        .sort("day").select("day", (pl.col("_s").cum_sum() / pl.col("_n").cum_sum()).alias("_g"))
    )  # fmt: skip
    feats = feats.join_asof(overall, on="day", allow_exact_matches=False)
    feats = feats.with_columns(pl.col("_g").fill_null(DEFAULT_RATE))
    g = pl.col("_g")
    for key in TE_KEYS:
        daily = (
            hist.group_by([*key, "day"])
            .agg(pl.col("fraud").sum().alias("_s"), pl.len().alias("_n"))
            .sort("day")
            .with_columns(pl.col("_s").cum_sum().over(key), pl.col("_n").cum_sum().over(key))
        )
        feats = (
            feats.join_asof(daily, on="day", by=key, strategy="backward", allow_exact_matches=False)
            .with_columns(
                pl.col("_n").fill_null(0).alias(f"n_{key_name(key)}"),
                (
                    (pl.col("_s").fill_null(0) + prior * g) / (pl.col("_n").fill_null(0) + prior)
                ).alias(f"te_{key_name(key)}"),
            )
            .drop("_s", "_n")
        )
    for child, parent in HIER:
        c, p = key_name(child), key_name(parent)
        n = pl.col(f"n_{c}")
        feats = feats.with_columns(
            (
                (pl.col(f"te_{c}") * (n + prior) - prior * g + prior * pl.col(f"te_{p}"))
                / (n + prior)
            ).alias(f"teh_{c}")
        )
    for key, name in (([H], "hs6"), ([H, O], "hs6_origin")):
        feats = feats.join_asof(_monthly_medians(hist, key), on="day", by=key, strategy="backward")
        feats = feats.rename({"_med": f"med_lup_{name}"})
    feats = _knn_features(hist, feats).drop("_g")
    feats = feats.with_columns(
        log_value=(pl.col(V) + 1).log(),
        log_mass=(pl.col(M) + 1e-3).log(),
        log_duty=(pl.col("duty") + 1).log(),
        log_unit=_log_unit(),
        duty_rate_pct=pl.col(R),
        weekday=pl.col("day").dt.weekday(),
        zero_value=(pl.col(V) <= 0).cast(pl.Int8),
        new_importer=(pl.col(f"n_{IMPORTER}") == 0).cast(pl.Int8),
        new_supplier=(pl.col(f"n_{SUPPLIER}") == 0).cast(pl.Int8),
        new_importer_hs=(pl.col(f"n_{IMPORTER}|{H}") == 0).cast(pl.Int8),
        origin_ne_export=(pl.col(O) != pl.col(D)).cast(pl.Int8),
    ).with_columns(
        uv_ratio_hs6=pl.col("log_unit") - pl.col("med_lup_hs6"),
        uv_ratio_hs6_origin=pl.col("log_unit") - pl.col("med_lup_hs6_origin"),
    )
    return feats.sort("_rid").drop("_rid")


def _monthly_medians(hist: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Median log unit value per key of the history up to each month, usable from the next."""
    hm = hist.with_columns(_m=pl.col("day").dt.truncate("1mo"))
    snaps = [
        hm.filter(pl.col("_m") <= m)
        .group_by(key)
        .agg(pl.col("_lup").median().alias("_med"))
        .with_columns(pl.lit(m).dt.offset_by("1mo").cast(pl.Date).alias("day"))
        for m in hm["_m"].unique().sort()
    ]
    empty = pl.DataFrame(schema={**hist.select(key).schema, "_med": pl.Float64, "day": pl.Date})
    return pl.concat(snaps).sort("day") if snaps else empty


def _knn_features(hist: pl.DataFrame, feats: pl.DataFrame) -> pl.DataFrame:
    """Nearest past neighbours in (log value, log mass) with the same key: distance to the
    nearest, its label, a distance-weighted hit rate of the K nearest, count and rate within 0.1."""
    hv, hm = np.log1p(hist[V].to_numpy()), np.log1p(hist[M].to_numpy())
    hy = hist["fraud"].to_numpy().astype(float)
    hd = hist["day"].to_physical().to_numpy()
    tv, tm = np.log1p(feats[V].to_numpy()), np.log1p(feats[M].to_numpy())
    td = feats["day"].to_physical().to_numpy()
    g = feats["_g"].to_numpy()
    columns: dict[str, np.ndarray] = {}
    for key in KNN_KEYS:
        groups: dict[str, list[int]] = {}
        for i, k in enumerate(hist.select(pl.concat_str(key, separator="|")).to_series()):
            groups.setdefault(k, []).append(i)  # history is day-sorted, so each group is too
        index = {k: np.asarray(v) for k, v in groups.items()}
        n = feats.height
        dist, lab, knn, r01 = (np.full(n, np.nan) for _ in range(4))
        n01 = np.zeros(n)
        target_keys = feats.select(pl.concat_str(key, separator="|")).to_series()
        for i, k in enumerate(target_keys):
            idx = index.get(k)
            if idx is None:
                continue
            idx = idx[: np.searchsorted(hd[idx], td[i], side="left")]  # earlier days only
            if len(idx) == 0:
                continue
            dd = np.abs(hv[idx] - tv[i]) + np.abs(hm[idx] - tm[i])
            dist[i] = dd.min()
            lab[i] = hy[idx][dd <= dist[i] + 1e-9].mean()
            o = np.argsort(dd)[:KNN_K]
            w = 1.0 / (dd[o] + 0.05)
            knn[i] = ((w * hy[idx][o]).sum() + 0.2 * g[i]) / (w.sum() + 0.2)
            close = dd <= 0.1
            n01[i] = close.sum()
            if n01[i]:
                r01[i] = hy[idx][close].mean()
        name = key_name(key)
        columns |= {
            f"knn_dist_{name}": dist,
            f"knn_label_{name}": lab,
            f"knn_rate_{name}": knn,
            f"knn_n01_{name}": n01,
            f"knn_rate01_{name}": r01,
        }
    return feats.with_columns(pl.Series(k, v) for k, v in columns.items())


def feature_columns(feats: pl.DataFrame) -> list[str]:
    prefixes = ("te_", "teh_", "n_", "med_lup_", "uv_ratio_", "knn_")
    return [c for c in feats.columns if c.startswith(prefixes)] + OWN + LOW_CARD


def oof_features(train: pl.DataFrame, n_folds: int = N_FOLDS) -> pl.DataFrame:
    """Training-row features: each contiguous time block's from all the other blocks."""
    train = train.sort(*ORDER)
    days = train["day"].unique().sort()
    n_folds = max(1, min(n_folds, len(days)))
    edges = [days[int(len(days) * i / n_folds)] for i in range(n_folds)] + [None]
    parts = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = pl.col("day") >= lo
        if hi is not None:
            inside &= pl.col("day") < hi
        # the other blocks are dated into the far past so the as-of join sees all of them
        rest = train.filter(~inside).with_columns(day=pl.date(1900, 1, 1))
        parts.append(build_features(rest, train.filter(inside)))
    return pl.concat(parts, how="vertical_relaxed")
