"""Features as of lodgement: what an officer could know about a declaration when it arrives.

Every history statistic of a row is computed from labelled rows lodged on *earlier days*
only, never from its own label or a later one (``tamis.learn.asof``):

- smoothed past hit rates and counts for many keys (HS code levels, origin / route, tariff
  preference, importer, declarant, supplier, pairs, value and mass bins, identical and
  near-identical goods);
- unit value against the past mean (log) unit value of its HS6 and of its HS6 × origin;
- the declaration's own fields (log value, mass, duty, low-cardinality codes) and novelty.

High-cardinality codes (importer, declarant, supplier, HS) enter only through these
smoothed rates, never as raw categories. Training rows get their features the same way,
as of their own lodgement (``training_features``): the model learns from rows that knew
what a scored row knows, and the early ones, with little history, teach it what a short
history is worth.

The history is indexed once (``History``) and looked up for any batch by binary search, so
scoring a batch costs O(batch × log history) whatever the history's size.

Input is the flat canonical frame (``tamis.declarations``) plus ``fraud`` (0/1 label) and
``revenue`` (money at stake of a fraud); ``prepare`` adds the working columns.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import numpy as np
import polars as pl

from tamis.learn.asof import AsOfSums, added_totals, column_hashes, key_hash, value_hashes

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
    # goods and route: HS levels, origin / export country, tariff preference
    [H], ["hs4"], ["hs2"], [O, D], [H, O], [H, O, D, T], ["hs4", O, D],
    # similar goods on the same route at a similar value / mass / duty (log bins)
    [H, O, D, T, "pb"], [H, O, D, T, "pbs"], [H, "mb"], [O, D, T, "db"], [T, R, "pb"],
    # near-identical goods: log value and log mass in cells of 0.1, and a grid offset by 0.05
    [H, O, D, T, "vf"], [H, O, D, T, "vf", "mf"], [H, O, D, T, "vfs", "mfs"],
    # identical goods: the same declared value and mass seen before
    [V, M], [H, V, M], [H, O, D, T, V, M],
    # traders and where they clear
    [IMPORTER], [DECLARANT], [SUPPLIER], [IMPORTER, H], [H, OFFICE],
]  # fmt: skip
# (child, parent): the child's rate shrunk toward its parent's
HIER = [
    ([H, O, D, T, V, M], [H, O, D, T, "pb"]),
    ([H, V, M], [H]),
    ([H, O, D, T, "pb"], [H, O, D, T]),
    ([H, O, D, T], [H, O]),
    ([H, O], [H]),
]
# goods keys (among TE_KEYS) whose past mean log unit value the row's unit value is compared with
UNIT_KEYS = [[H], [H, O]]
HASHED = sorted({c for key in TE_KEYS for c in key})
SPARSE = 0.5  # below this share of rows with a past, looking them up alone costs less
THREADS = 2
THREADS_FROM = 10_000  # rows from which the keys are indexed and looked up in threads
DEFAULT_RATE = 0.2  # prior hit rate when there is no history at all
OPENING_DAY = -(2**31) + 1  # the day of an opening balance's rows: before any lodgement
PRIOR = 5.0  # smoothing strength toward the global hit rate (pseudo-count)
OWN = [
    "log_value", "log_mass", "log_duty", "log_unit", "duty_rate_pct", "weekday", "zero_value",
    "new_importer", "new_supplier", "new_importer_hs", "origin_ne_export",
]  # fmt: skip


def key_name(key: list[str]) -> str:
    return "|".join(key)


def _is_root(key: list[str]) -> bool:
    return not any(set(other) < set(key) for other in TE_KEYS)


# a key's sub-keys that have no sub-key of their own: a row none of whose past rows share
# the sub-key's values has no past row sharing the key's either (say a new importer and the
# importer × HS6 pair), so only the rows with a past for each such sub-key are looked up
ROOTS = {
    key_name(key): [key_name(r) for r in TE_KEYS if set(r) < set(key) and _is_root(r)]
    for key in TE_KEYS
}


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Working columns on a canonical frame: day, HS levels, codes as text, duty, value bins.

    Fields a source does not give (a profile may map fewer) count as unknown."""
    return _prepared(frame.lazy(), tuple(frame.columns)).collect()


def _prepared(frame: pl.LazyFrame, names: tuple[str, ...]) -> pl.LazyFrame:
    for step in _preparation(names):
        frame = frame.with_columns(step)
    return frame


@lru_cache(maxsize=16)
def _preparation(names: tuple[str, ...]) -> tuple[list[pl.Expr], ...]:
    """``prepare``'s expressions in their dependent steps, built once per set of columns:
    building them costs more than running them on a lodged declaration."""
    wanted = [*LOW_CARD, IMPORTER, DECLARANT, SUPPLIER, "courier_id", R, M]
    missing = [pl.lit(None).alias(c) for c in wanted if c not in names]
    fields = [
        pl.col("lodged_at").cast(pl.Date).alias("day"),
        pl.col("hs_code").cast(pl.String).str.slice(0, 6).alias(H),
        pl.col(V).cast(pl.Float64).fill_null(0.0),
        pl.col(M).cast(pl.Float64).fill_null(0.0),
        pl.col(R).cast(pl.Float64).fill_null(0.0),
    ]
    codes = [
        *[pl.col(c).cast(pl.String).fill_null("NA") for c in CODES],
        pl.col(H).str.slice(0, 4).alias("hs4"),
        pl.col(H).str.slice(0, 2).alias("hs2"),
        (pl.col(V) * pl.col(R) / 100).clip(0.0).alias("duty"),
    ]
    lv, lm = (pl.col(V) + 1).log(), (pl.col(M) + 1).log()
    bins = [  # log bins: width 1, and shifted by 0.5; fine: 0.1
        lv.floor().cast(pl.Int32).alias("pb"),
        (lv + 0.5).floor().cast(pl.Int32).alias("pbs"),
        lm.floor().cast(pl.Int32).alias("mb"),
        (pl.col("duty") + 1).log().floor().cast(pl.Int32).alias("db"),
        (lv * 10).floor().cast(pl.Int32).alias("vf"),
        (lm * 10).floor().cast(pl.Int32).alias("mf"),
        (lv * 10 + 0.5).floor().cast(pl.Int32).alias("vfs"),
        (lm * 10 + 0.5).floor().cast(pl.Int32).alias("mfs"),
    ]
    return missing, fields, codes, bins


EPOCH = date(1970, 1, 1)
_WANTED = [*LOW_CARD, IMPORTER, DECLARANT, SUPPLIER, "courier_id", R, M]


@lru_cache(maxsize=16)
def _prepared_schema(schema: tuple) -> pl.Schema:
    """The prepared frame's schema (with the own features) for canonical columns ``schema``."""
    empty = pl.LazyFrame(schema=dict(schema))
    return (
        _prepared(empty, tuple(name for name, _ in schema))
        .with_columns(*OWN_FIELDS)
        .collect_schema()
    )


def prepared_rows(rows: list[dict], schema: pl.Schema) -> list[dict] | None:
    """``prepare`` of a few canonical items with their own features (``OWN_FIELDS``), in
    plain Python: the values the query gives, dict for dict (an agreement test holds them
    equal). None for what only the query handles: a value negative or not finite, a code
    that is not text or a whole number, a time with a zone."""
    for c in CODES + ["hs_code"]:
        if c in schema and schema[c] != pl.String and not schema[c].is_integer():
            return None
    if V not in schema or not all(schema[c].is_numeric() for c in (V, M, R) if c in schema):
        return None
    if not all(map(_plain, rows)):
        return None
    return [_prepared_row(row) for row in rows]


def _plain(row: dict) -> bool:
    numbers = (row.get(c) for c in (V, M, R))
    lodged = row.get("lodged_at")
    return (
        isinstance(lodged, datetime)
        and lodged.tzinfo is None
        and all(n is None or (math.isfinite(n) and math.copysign(1, n) > 0) for n in numbers)
    )


def _prepared_row(row: dict) -> dict:
    out = {c: None for c in _WANTED} | row
    v, m, r = (0.0 if out[c] is None else float(out[c]) for c in (V, M, R))
    hs = out.get("hs_code")
    hs6 = None if hs is None else str(hs)[:6]
    out |= {"day": out["lodged_at"].date(), H: hs6, V: v, M: m, R: r}
    duty = v * r * 0.01  # as the query computes "/ 100"
    out |= {c: "NA" if out[c] is None else str(out[c]) for c in CODES}
    out |= {
        "hs4": None if hs6 is None else hs6[:4],
        "hs2": None if hs6 is None else hs6[:2],
        "duty": duty if duty >= 0 else 0.0,
    }
    lv, lm = math.log(v + 1), math.log(m + 1)
    out |= {
        "pb": math.floor(lv),
        "pbs": math.floor(lv + 0.5),
        "mb": math.floor(lm),
        "db": math.floor(math.log(out["duty"] + 1)),
        "vf": math.floor(lv * 10),
        "mf": math.floor(lm * 10),
        "vfs": math.floor(lv * 10 + 0.5),
        "mfs": math.floor(lm * 10 + 0.5),
    }
    return out | {
        "log_value": lv,
        "log_mass": math.log(m + 1e-3),
        "log_duty": math.log(out["duty"] + 1),
        "log_unit": math.log(max(v / max(m, 1e-3), 1e-6)),
        "duty_rate_pct": r,
        "weekday": out["day"].isoweekday(),
        "zero_value": int(v <= 0),
        "origin_ne_export": int(out[O] != out[D]),
    }


def _log_unit() -> pl.Expr:
    return (pl.col(V) / pl.col(M).clip(1e-3)).clip(1e-6).log()


# a row's own features: from its fields alone, or from its counts (``_own_of_counts``)
OWN_FIELDS = [
    (pl.col(V) + 1).log().alias("log_value"),
    (pl.col(M) + 1e-3).log().alias("log_mass"),
    (pl.col("duty") + 1).log().alias("log_duty"),
    _log_unit().alias("log_unit"),
    pl.col(R).alias("duty_rate_pct"),
    pl.col("day").dt.weekday().alias("weekday"),
    (pl.col(V) <= 0).cast(pl.Int8).alias("zero_value"),
    (pl.col(O) != pl.col(D)).cast(pl.Int8).alias("origin_ne_export"),
]
NOVEL = {"new_importer": IMPORTER, "new_supplier": SUPPLIER, "new_importer_hs": f"{IMPORTER}|{H}"}


def _feature_type(name: str) -> pl.DataType:
    return pl.Int8 if name in NOVEL else pl.Int32 if name.startswith("n_") else pl.Float64


def python_value(name: str, value):
    """A feature's value as a row of the features frame holds it (counts as integers)."""
    return int(value) if _feature_type(name) != pl.Float64 else float(value)


def _own_of_counts(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The features saying what is new: no past inspection of the importer, supplier..."""
    return {name: (columns[f"n_{key}"] == 0).astype(np.int8) for name, key in NOVEL.items()}


@dataclass
class Totals:
    """What a stretch of labelled history sums to: per feature key, each key's frauds and
    count (and unit-value sums for goods keys), and all rows' frauds and count. The totals
    of every earlier month are a month's opening balance (``History``'s ``opening``)."""

    tables: dict[str, tuple[np.ndarray, np.ndarray]]  # key name: (key hashes, sums per key)
    overall: np.ndarray

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            {name: added_totals(keyed, other.tables[name]) for name, keyed in self.tables.items()},
            self.overall + other.overall,
        )


class History:
    """The as-of statistics of a labelled (prepared) history, indexed once and looked up
    for any number of target rows: per key, running frauds and counts; per goods key, also
    the running sums behind the mean log unit value of declarations with a value and a
    mass (one index per key, whatever it sums).

    With ``opening`` (the ``Totals`` of all that was lodged before ``history``), a row is
    looked up as if that earlier history were there too: a month at a time, each month's
    rows get the features they would get in the whole history (``tamis.cluster.train``)."""

    def __init__(self, history: pl.DataFrame, opening: Totals | None = None) -> None:
        history = history.sort("day").with_columns(
            _lup=_log_unit(), _w=(pl.col(V) > 0) & (pl.col(M) > 0)
        )
        hashes = column_hashes(history, HASHED)
        day = _days(history)
        fraud = history["fraud"].cast(pl.Float64).to_numpy()
        counts = np.column_stack([fraud, np.ones(history.height)])
        w = history["_w"].cast(pl.Float64).to_numpy()
        unit_sums = np.column_stack([history["_lup"].to_numpy() * w, w])
        both = np.column_stack([counts, unit_sums])
        opening = opening or Totals({}, np.zeros(2))

        def table(key: list[str]) -> AsOfSums:
            keys, values = key_hash(hashes, key), both if key in UNIT_KEYS else counts
            if key_name(key) in opening.tables:  # the opening balance as rows of a far-past day
                opened, sums = opening.tables[key_name(key)]
                keys, values = np.r_[opened, keys], np.r_[sums, values]
                return AsOfSums(keys, np.r_[np.full(len(opened), OPENING_DAY, np.int32), day],
                                values)  # fmt: skip
            return AsOfSums(keys, day, values)

        # all rows' frauds and counts at the end of each day, for the overall rate
        all_days = np.r_[OPENING_DAY, day]
        self.days = np.unique(all_days)
        running = np.cumsum(np.r_[opening.overall[None], counts], axis=0)
        self.overall = running[np.searchsorted(all_days, self.days, "right") - 1]
        tables = _in_threads(table, TE_KEYS, history.height)
        self.tables = dict(zip(map(key_name, TE_KEYS), tables, strict=True))

    def totals(self) -> Totals:
        """What the history (with its opening balance) sums to."""
        return Totals({name: t.totals() for name, t in self.tables.items()}, self.overall[-1])

    def features(self, target: pl.DataFrame, prior: float = PRIOR) -> pl.DataFrame:
        """``target`` (prepared) with feature columns; its labels are never read."""
        lup = target.select(_log_unit()).to_series().to_numpy()
        columns = self.looked_up(column_hashes(target, HASHED), _days(target), lup, prior)
        columns |= _own_of_counts(columns)
        return target.with_columns(
            pl.Series(name, values, _feature_type(name)) for name, values in columns.items()
        ).with_columns(OWN_FIELDS)

    def features_of_few(self, rows: list[dict], schema: pl.Schema, prior: float = PRIOR):
        """``features`` for a few canonical items (a lodged declaration): each item's
        prepared fields and own features as a dict, and the looked-up features by name.
        Prepared in plain Python (``prepared_rows``) where it can, else in one query."""
        prepared = prepared_rows(rows, schema)
        if prepared is None:
            frame = pl.DataFrame(rows, schema=schema, orient="row")
            prepared = prepare(frame).with_columns(*OWN_FIELDS).to_dicts()
        types = _prepared_schema(tuple(schema.items()))
        hashes = value_hashes({c: [r[c] for r in prepared] for c in HASHED}, types)
        day = np.array([(r["day"] - EPOCH).days for r in prepared], np.int32)
        lup = np.array([r["log_unit"] for r in prepared], np.float64)
        columns = self.looked_up(hashes, day, lup, prior)
        columns |= _own_of_counts(columns)
        return prepared, columns

    def looked_up(self, hashes: dict, day: np.ndarray, lup: np.ndarray, prior: float):
        """Per feature of the history, its value for each target row (hashes of its
        ``HASHED`` columns, lodgement day, log unit value)."""
        before = np.searchsorted(self.days, day, "left") - 1  # the last day before
        s, n = np.where(before >= 0, self.overall[before].T, 0.0)
        g = np.where(n > 0, s / np.maximum(n, 1), DEFAULT_RATE)

        sums: dict[str, np.ndarray] = {}

        def lookup(name: str) -> np.ndarray:
            table, keys = self.tables[name], key_hash(hashes, name.split("|"))
            past = np.ones(len(day), bool)
            for root in ROOTS[name]:
                past &= sums[root][1] > 0
            if past.sum() >= SPARSE * len(day):
                return table.lookup(keys, day)
            out = np.zeros((len(table.sums), len(day)))
            rows = np.flatnonzero(past)
            out[:, rows] = table.lookup(keys[rows], day[rows])
            return out

        for roots_first in (False, True):  # the keys without sub-keys first
            wave = [name for name in self.tables if bool(ROOTS[name]) == roots_first]
            sums |= zip(wave, _in_threads(lookup, wave, len(day)), strict=True)
        columns: dict[str, np.ndarray] = {}
        for name in self.tables:
            s, n, *_ = sums[name]
            columns[f"n_{name}"], columns[f"te_{name}"] = n, (s + prior * g) / (n + prior)
        for child, parent in HIER:
            c, p = key_name(child), key_name(parent)
            n = columns[f"n_{c}"]  # the child's rate shrunk toward its parent's
            columns[f"teh_{c}"] = (columns[f"te_{c}"] * (n + prior) - prior * g
                                   + prior * columns[f"te_{p}"]) / (n + prior)  # fmt: skip
        for name in map(key_name, UNIT_KEYS):
            _, _, total, n = sums[name]
            columns[f"uv_ratio_{name}"] = np.where(n > 0, lup - total / np.maximum(n, 1), np.nan)
        return columns


def _in_threads(function, items: list, rows: int) -> list:
    """``function`` over ``items`` on ``THREADS`` threads when each works on ``rows`` rows
    or more: NumPy's sorts, binary searches and arithmetic release the interpreter lock, so
    the keys are indexed side by side. On fewer rows the pool costs more than it saves."""
    if rows < THREADS_FROM:
        return list(map(function, items))
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(function, items))


def _days(frame: pl.DataFrame) -> np.ndarray:
    return frame["day"].cast(pl.Int32).to_numpy()


def build_features(history: pl.DataFrame, target: pl.DataFrame, prior: float = PRIOR):
    """``target`` (prepared) with feature columns, from ``history`` rows of earlier days only.

    ``target``'s labels are never read; rows come back in ``target``'s order."""
    return History(history).features(target, prior)


def training_features(train: pl.DataFrame) -> tuple[History, pl.DataFrame]:
    """The indexed history of ``train`` (prepared, labelled) and each of its rows' features
    as of its own lodgement, as a scored row's would be: from rows of earlier days only."""
    history = History(train)
    return history, history.features(train)


def feature_columns(feats: pl.DataFrame) -> list[str]:
    prefixes = ("te_", "teh_", "n_", "uv_ratio_")
    return [c for c in feats.columns if c.startswith(prefixes)] + OWN + LOW_CARD
