"""Unsupervised anomaly detector: an isolation forest on value, mass and unit value.

Needs no inspection outcome, so it also finds kinds of declarations nobody inspected yet.
The score is 0 for items no more isolated than 99 % of the history and rises to 1 at the
history's most isolated item; the reasons name the figures furthest from the history
(robust z-score).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Self

import numpy as np
import polars as pl
from sqlalchemy import Engine

import tamis.learn  # noqa: F401  (OpenMP's wait policy, set before scikit-learn loads it)
from tamis.detectors.base import (
    SIGNAL_SCHEMA,
    Detector,
    ItemRows,
    StoreContext,
    empty_signals,
    per_declaration,
)
from tamis.reasons import reason

MIN_HISTORY = 100


def _raw(frame: pl.DataFrame) -> pl.DataFrame:
    value = pl.col("customs_value").cast(pl.Float64).fill_null(0.0)
    mass = pl.col("net_mass_kg").cast(pl.Float64).fill_null(0.0)
    return frame.select(
        pl.col("hs_code").cast(pl.String).str.slice(0, 6).alias("hs6"),
        (value + 1).log().alias("log_value"),
        (mass + 1e-3).log().alias("log_mass"),
        (value / mass.clip(1e-3)).clip(1e-6).log().alias("log_unit"),
        pl.col("duty_rate").cast(pl.Float64).fill_null(0.0).alias("duty_rate"),
    )


def _hs_medians(history: pl.DataFrame) -> pl.DataFrame:
    return _raw(history).group_by("hs6").agg(pl.col("log_unit").median().alias("_med"))


def _numbers(frame: pl.DataFrame, hs_medians: pl.DataFrame) -> pl.DataFrame:
    """The figures the forest sees; unit value also against its HS6 median (0 if unknown)."""
    return _raw(frame).join(hs_medians, on="hs6", how="left").select(
        "log_value", "log_mass", "log_unit", "duty_rate",
        (pl.col("log_unit") - pl.col("_med")).fill_null(0.0).alias("unit_vs_hs6"),
    )  # fmt: skip


# each figure the forest sees: the code of its reason and its value as a person reads it
FIGURES = {
    "log_value": ("anomaly.value", np.expm1),
    "log_mass": ("anomaly.mass", np.exp),
    "log_unit": ("anomaly.unit", np.exp),
    "duty_rate": ("anomaly.duty", float),
    "unit_vs_hs6": ("anomaly.unit_vs_hs6", np.exp),
}


def _furthest(columns: list[str], values: np.ndarray, z: np.ndarray, top: int) -> dict | None:
    """The ``top`` figures furthest from the history, furthest first, each a reason (value
    and robust z) whose ``next`` is the following one."""
    said = None
    for j in np.argsort(-np.abs(z))[:top][::-1]:
        code, value = FIGURES[columns[j]]
        figure = {"code": code, "value": float(value(values[j])), "z": float(z[j])}
        said = figure if said is None else figure | {"next": said}
    return said


UNUSUAL_SHARE = 0.99


class AnomalyDetector(Detector):
    name = "anomaly"
    labels = {"fr": "anomalies", "en": "anomalies"}
    needs = f"at least {MIN_HISTORY} declared items"
    default_weight = 0.5

    def __init__(self, n_estimators: int = 100, seed: int = 0, top_reasons: int = 2) -> None:
        self.n_estimators = n_estimators
        self.seed = seed
        self.top_reasons = top_reasons

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> AnomalyDetector | None:
        """Fitted on the store's items, or None with fewer than ``MIN_HISTORY`` of them."""
        items = context.items
        return (
            cls(**context.params_of(cls.name)).fit(items) if items.height >= MIN_HISTORY else None
        )

    def fit(self, history: pl.DataFrame) -> Self:
        from sklearn.ensemble import IsolationForest

        self.plain_ = None
        self.hs_medians_ = _hs_medians(history)
        x = _numbers(history, self.hs_medians_)
        self.center_ = x.median().row(0)
        mad = (x - x.median()).select(pl.all().abs().median()).row(0)
        self.spread_ = np.maximum(np.asarray(mad, float) * 1.4826, 1e-6)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.seed, n_jobs=2
        ).fit(x.to_numpy())
        # ordinary items score about 0.5: only the history's rarest 1 % count as a signal
        seen = -self.forest_.score_samples(x.to_numpy())
        self.unusual_, self.extreme_ = np.quantile(seen, UNUSUAL_SHARE), seen.max()
        return self

    def plain(self) -> SimpleNamespace:
        """What the plain path (``anomaly.few``) reads, built at its first use: the forest
        as arrays, the HS6 medians as a dict."""
        if getattr(self, "plain_", None) is None:
            from tamis.detectors.anomaly.few import PlainForest

            self.plain_ = SimpleNamespace(
                forest=PlainForest(self.forest_),
                medians=dict(self.hs_medians_.drop_nulls("hs6").iter_rows()),
            )
        return self.plain_

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        """``assess`` of a few items: the forest walked in numpy (``anomaly.few``)."""
        from tamis.detectors.anomaly.few import numbers

        plain = self.plain()
        values = np.array([numbers(r, plain.medians) for r in items.rows], dtype=np.float64)
        values = values.reshape(len(items.rows), len(FIGURES))
        raw = plain.forest.isolation(values)
        span = max(self.extreme_ - self.unusual_, 1e-9)
        score = np.clip((raw - self.unusual_) / span, 0.0, 1.0)
        z = (values - np.asarray(self.center_, float)) / self.spread_
        signals: dict[str, dict] = {}
        for item, v, z_row, r, s in zip(items.rows, values, z, raw, score, strict=True):
            declaration_id = item["declaration_id"]
            if declaration_id not in signals:
                signals[declaration_id] = dict.fromkeys(SIGNAL_SCHEMA) | {
                    "declaration_id": declaration_id, "score": 0.0, "reasons": []
                }  # fmt: skip
            signal = signals[declaration_id]
            signal["score"] = max(signal["score"], float(s))
            if s > 0:
                figures = _furthest(list(FIGURES), v, z_row, self.top_reasons)
                said = reason("anomaly.unusual", isolation=float(r), figures=figures)
                signal["reasons"] += [] if said in signal["reasons"] else [said]
        return signals

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        if batch.is_empty():
            return empty_signals()
        x = _numbers(batch, self.hs_medians_)
        values = x.to_numpy()
        raw = -self.forest_.score_samples(values)
        span = max(self.extreme_ - self.unusual_, 1e-9)
        score = np.clip((raw - self.unusual_) / span, 0.0, 1.0)
        z = (values - np.asarray(self.center_, float)) / self.spread_
        columns, top = x.columns, self.top_reasons
        said: list[str | None] = [None] * len(score)
        for i in np.flatnonzero(score > 0).tolist():  # the few flagged: lists of all cost
            figures = _furthest(columns, values[i], z[i], top)
            said[i] = reason("anomaly.unusual", isolation=float(raw[i]), figures=figures)
        items = batch.select("declaration_id").with_columns(
            pl.Series("_score", score), pl.Series("_said", said, pl.String)
        )
        why = (
            pl.when(pl.col("_said").is_null())
            .then(pl.lit([], pl.List(pl.String)))
            .otherwise(pl.concat_list("_said"))
        )
        return per_declaration(items, pl.col("_score"), why)
