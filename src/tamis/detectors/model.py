"""The ML detector: P(fraud) and the revenue a fraud would bring from the active registered
model, explained by SHAP values.

Features are computed as of lodgement from the labelled history (inspected declarations of
the store, or the frame given to ``fit``). ``rank_by`` (``tamis.learn.ranking``, set in the
routing configuration under ``model``):

- ``"probability"``: score = P(fraud);
- ``"expected_revenue"``: score = 1 − exp(−P(fraud) × revenue / C);
- ``"balanced"``: score = 1 − exp(−P(fraud) × (revenue + C) / C);

C being the model's value per fraud (learnt with it), so money orders declarations while
the score stays in [0, 1]. Revenue at stake is P(fraud) × revenue either way.

Every item's reasons start with its probability. The SHAP contributions behind it (a
TreeSHAP pass costs some 50 times a prediction) are worked out only for the items that
need them: those scoring at least ``explain_from`` (default 0.35, the default routing's
threshold for a documentary check) and, in a large batch, only the riskiest
``explain_share`` of its items (default 2 %, a usual physical-control capacity). A batch
of one, as at lodgement, is always explained when it scores that high.

With ``explore`` (``tamis.route.Exploration``, from the routing configuration), the detector
also forces a few declarations to a control channel to learn from their outcome: those
bringing something never inspected before (novelty) and those whose P(fraud) is closest to
an even bet (uncertainty). Each pick's reason starts with ``EXPLORATION`` and gives what made
it a candidate, its draw and its chance, so the chance of every labelled exploratory pick is
on record (``tamis.learn.uplift`` reports their hit rate apart from the model's).
"""

from __future__ import annotations

import math
from typing import Self

import numpy as np
import polars as pl
from sqlalchemy import Engine

from tamis.detectors.base import Detector, StoreContext, empty_signals, per_declaration
from tamis.draws import secure_draws
from tamis.learn import ranking
from tamis.learn.exploration import Exploration
from tamis.learn.features import IMPORTER, SUPPLIER, H
from tamis.learn.model import FraudModel, reasons
from tamis.learn.ranking import RankBy
from tamis.reasons import reason, reason_expr

EXPLORATION = "model.explore"  # the codes of exploratory picks' reasons start so
# what makes an item novel, as the code of its pick (null when nothing is): the first that
# holds is said
NOVELTY = pl.coalesce(
    pl.when(pl.col(f"n_{IMPORTER}") == 0).then(pl.lit(f"{EXPLORATION}.importer")),
    pl.when(pl.col(f"n_{SUPPLIER}") == 0).then(pl.lit(f"{EXPLORATION}.supplier")),
    pl.when(pl.col(f"n_{IMPORTER}|{H}") == 0).then(pl.lit(f"{EXPLORATION}.importer_hs6")),
)


class ModelDetector(Detector):
    name = "model"
    labels = {"fr": "modèle appris", "en": "learnt model"}
    needs = "an active model (tamis learn train) and inspection results"

    def __init__(
        self,
        model: FraudModel | None = None,
        rank_by: RankBy = "probability",
        top_reasons: int = 3,
        version: int | None = None,
        explain_from: float = 0.35,
        explain_share: float = 0.02,
        explore: Exploration | None = None,
    ) -> None:
        self.model = model
        self.rank_by = rank_by
        self.top_reasons = top_reasons
        self.version = version
        self.explain_from = explain_from
        self.explain_share = explain_share
        self.explore = explore

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> ModelDetector | None:
        """The active registered model fitted on the store's labelled history, or None."""
        from tamis.learn.data import read_labelled_store
        from tamis.learn.registry import active

        found = active(engine)
        if found is None:
            return None
        version, model, _ = found
        params = context.params_of(cls.name)
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
        p, revenue = self.model_.predict(feats)
        at_stake = p * revenue
        c = self.model_.params.get("value_per_fraud", 1.0)
        risk = ranking.score(p, revenue, self.rank_by, c)
        explained = self._to_explain(risk)
        shap = pl.DataFrame(
            {"_row": explained, "_shap": reasons(self.model_, feats[explained], self.top_reasons)},
            schema={"_row": pl.UInt32, "_shap": pl.List(pl.String)},
        )
        # several items of one declaration: each reason says which (hashes compare faster)
        several = pl.col("declaration_id").hash().is_duplicated()
        probability = reason_expr(
            "model.probability",
            item=pl.when(several).then(pl.col("item_number")),
            p=(pl.col("_p") * 100).round() / 100,
        )
        items = (
            batch.select("declaration_id", "item_number")
            .with_columns(
                pl.Series("_score", risk), pl.Series("_p", p), pl.Series("_at_stake", at_stake)
            )
            .with_row_index("_row")
            .join(shap, on="_row", how="left")
            .with_columns(probability.alias("_probability"))
            .with_columns(
                pl.when(pl.col("_shap").is_null())  # most rows: cheaper than concatenating []
                .then(pl.concat_list("_probability"))
                .otherwise(pl.concat_list("_probability", "_shap"))
                .alias("_why")
            )
        )
        signals = per_declaration(items, pl.col("_score"), pl.col("_why"), pl.col("_at_stake"))
        return signals if self.explore is None else self._explored(signals, feats, p)

    def _explored(self, signals: pl.DataFrame, feats: pl.DataFrame, p: np.ndarray) -> pl.DataFrame:
        """``signals`` with the exploratory picks forced to the exploration channel, each
        with a reason: what made it a candidate, its draw and its chance."""
        explore = self.explore
        per = (
            feats.select("declaration_id", NOVELTY.alias("novel"), H, pl.Series("p", p))
            .group_by("declaration_id", maintain_order=True)  # as ``signals``
            .agg(
                pl.col("novel").drop_nulls().first(),
                pl.col(H).filter(pl.col("novel").is_not_null()).first(),
                pl.col("p").sort_by((pl.col("p") - 0.5).abs()).first(),  # the most uncertain
            )
        )
        closest = per["p"].to_numpy()
        by_novelty = np.where(per["novel"].is_not_null().to_numpy(), explore.novelty, 0.0)
        by_uncertainty = explore.uncertainty * 4 * closest * (1 - closest)
        chance = np.maximum(by_novelty, by_uncertainty)
        draws = secure_draws(len(chance))
        why: list[str | None] = [None] * len(chance)
        for i in np.flatnonzero(draws < chance).tolist():
            said = {"draw": float(draws[i]), "chance": float(chance[i])}
            if by_novelty[i] >= by_uncertainty[i]:
                hs6 = {"hs6": per[H][i]} if per["novel"][i].endswith("hs6") else {}
                why[i] = reason(per["novel"][i], **hs6, **said)
            else:
                why[i] = reason(f"{EXPLORATION}.uncertainty", p=float(closest[i]), **said,
                                rate=explore.uncertainty)  # fmt: skip
        picked = pl.Series("_explored", why, pl.String)
        return signals.with_columns(
            pl.when(picked.is_not_null())
            .then(pl.concat_list("reasons", picked))
            .otherwise("reasons")
            .alias("reasons"),
            pl.when(picked.is_not_null())
            .then(pl.lit(explore.channel))
            .otherwise("forced_channel")
            .alias("forced_channel"),
        )

    def _to_explain(self, score: np.ndarray) -> np.ndarray:
        """Rows whose SHAP reasons are worked out: the riskiest ``explain_share`` of the
        batch (at least one) among those scoring ``explain_from`` or more."""
        most = max(1, math.ceil(len(score) * self.explain_share))
        riskiest = np.argpartition(-score, most - 1)[:most]
        return np.sort(riskiest[score[riskiest] >= self.explain_from])
