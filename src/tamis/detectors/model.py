"""The ML detector: P(fraud) from the active registered model, explained by SHAP values.

Features are computed as of lodgement from the labelled history (inspected declarations of
the store, or the frame given to ``fit``). ``rank_by``:

- ``"probability"``: score = P(fraud);
- ``"revenue"``: score = 1 − exp(−P(fraud) × duty at stake / ``revenue_scale``), so expected
  revenue orders declarations while the score stays in [0, 1].

Revenue at stake is P(fraud) × duty at stake either way.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
import polars as pl
from sqlalchemy import Engine

from tamis.detectors.base import empty_signals, per_declaration
from tamis.learn.data import duty_at_stake
from tamis.learn.model import FraudModel, reasons


class ModelDetector:
    name = "model"

    def __init__(
        self,
        model: FraudModel | None = None,
        rank_by: Literal["probability", "revenue"] = "probability",
        revenue_scale: float = 1_000_000.0,
        top_reasons: int = 3,
        version: int | None = None,
    ) -> None:
        self.model = model
        self.rank_by = rank_by
        self.revenue_scale = revenue_scale
        self.top_reasons = top_reasons
        self.version = version

    @classmethod
    def from_store(cls, engine: Engine, **params) -> ModelDetector | None:
        """The active registered model fitted on the store's labelled history, or None."""
        from tamis.learn.data import read_labelled_store
        from tamis.learn.registry import active

        found = active(engine)
        if found is None:
            return None
        version, model, _ = found
        return cls(model, version=version, **params).fit(read_labelled_store(engine))

    def fit(self, history: pl.DataFrame) -> Self:
        """With a model: keep ``history`` (labelled) for features; without: train one on it."""
        if self.model is None:
            self.model_ = FraudModel.fit(history)
        else:
            self.model_ = self.model.with_history(history)
        return self

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        if batch.is_empty():
            return empty_signals()
        feats = self.model_.features(batch)
        p = self.model_.predict_proba(feats)
        at_stake = p * batch.select(duty_at_stake()).to_series().to_numpy()
        if self.rank_by == "revenue":
            score = 1 - np.exp(-at_stake / self.revenue_scale)
        else:
            score = p
        several = batch["declaration_id"].is_duplicated().to_list()
        why = [
            [f"{f'item {n}: ' if many else ''}P(fraud) {pi:.2f}", *r]
            for n, many, pi, r in zip(
                batch["item_number"],
                several,
                p,
                reasons(self.model_, feats, self.top_reasons),
                strict=True,
            )
        ]
        items = batch.select("declaration_id").with_columns(
            pl.Series("_score", score), pl.Series("_why", why, pl.List(pl.String)),
            pl.Series("_at_stake", at_stake),
        )  # fmt: skip
        return per_declaration(items, pl.col("_score"), pl.col("_why"), pl.col("_at_stake"))
