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
from collections import Counter
from typing import Self

import numpy as np
import polars as pl
from sqlalchemy import Engine

from tamis.detectors.base import Detector, ItemRows, StoreContext, empty_signals, per_declaration
from tamis.draws import secure_draws
from tamis.learn import ranking, treeshap
from tamis.learn.exploration import Exploration
from tamis.learn.features import IMPORTER, SUPPLIER, H, python_value
from tamis.learn.model import FraudModel, reasons, reasons_of
from tamis.learn.ranking import RankBy
from tamis.reasons import reason, reason_expr

EXPLORATION = "model.explore"  # the codes of exploratory picks' reasons start so
# what makes an item novel, as the code of its pick: the first key with no past inspection
NOVEL_KEYS = [
    (f"{EXPLORATION}.importer", IMPORTER),
    (f"{EXPLORATION}.supplier", SUPPLIER),
    (f"{EXPLORATION}.importer_hs6", f"{IMPORTER}|{H}"),
]
NOVELTY = pl.coalesce(
    pl.when(pl.col(f"n_{key}") == 0).then(pl.lit(code)) for code, key in NOVEL_KEYS
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
            p=pl.Series(np.round(p * 100) / 100),  # as assess_rows rounds it
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

    def plain(self) -> None:
        """SHAP tables (``tamis.learn.treeshap``): a lodgement is explained from them too."""
        treeshap.build(self.model_.booster)

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        """``assess`` of a few declarations (one lodged) in one Polars query, the rest in
        NumPy and Python: the same signals."""
        if not items.rows:
            return {}
        model = self.model_
        rows, looked_up = model.features_of_few(items.rows, items.schema)
        x = model.matrix_of_few(rows, looked_up)
        p, revenue = model.predict_matrix(x, np.array([r["duty"] for r in rows]))
        risk = ranking.score(p, revenue, self.rank_by, model.params.get("value_per_fraud", 1.0))
        explained = self._to_explain(risk).tolist()

        def values(needed: list[str]) -> list[dict]:
            return [{c: python_value(c, looked_up[c][i]) if c in looked_up else rows[i][c]
                     for c in needed} for i in explained]  # fmt: skip

        said = reasons_of(model, x[explained], values, self.top_reasons) if explained else []
        shap = dict(zip(explained, said, strict=True))
        items_of = Counter(r["declaration_id"] for r in rows)
        signals: dict[str, dict] = {}
        for i, row in enumerate(rows):
            declaration_id = row["declaration_id"]
            item = row["item_number"] if items_of[declaration_id] > 1 else None
            p_said = round(float(p[i]) * 100) / 100
            said = [reason("model.probability", item=item, p=p_said), *shap.get(i, [])]
            signal = signals.setdefault(declaration_id, {"declaration_id": declaration_id,
                "score": 0.0, "reasons": [], "revenue_at_stake": 0.0,
                "forced_channel": None})  # fmt: skip
            signal["score"] = max(signal["score"], min(max(float(risk[i]), 0.0), 1.0))
            signal["reasons"] += [r for r in said if r not in signal["reasons"]]
            signal["revenue_at_stake"] += float(p[i] * revenue[i])
        if self.explore is not None:
            self._explore_rows(signals, rows, looked_up, p)
        return signals

    def _explore_rows(self, signals: dict, rows: list[dict], looked_up: dict, p: np.ndarray):
        """``_explored`` for ``assess_rows``' signals."""
        novel: dict[str, tuple[str, str]] = {}  # the first novel item's code and HS6
        closest: dict[str, float] = {}
        for i, row in enumerate(rows):
            declaration_id = row["declaration_id"]
            code = next((c for c, key in NOVEL_KEYS if looked_up[f"n_{key}"][i] == 0), None)
            if code is not None:
                novel.setdefault(declaration_id, (code, row[H]))
            if abs(p[i] - 0.5) < abs(closest.get(declaration_id, math.inf) - 0.5):
                closest[declaration_id] = float(p[i])
        ids = list(signals)
        draws = secure_draws(len(ids))
        for declaration_id, draw in zip(ids, draws, strict=True):
            q = closest[declaration_id]
            by_novelty = self.explore.novelty if declaration_id in novel else 0.0
            by_uncertainty = self.explore.uncertainty * 4 * q * (1 - q)
            chance = max(by_novelty, by_uncertainty)
            if not draw < chance:
                continue
            said = {"draw": float(draw), "chance": float(chance)}
            if by_novelty >= by_uncertainty:
                code, hs6 = novel[declaration_id]
                said |= {"hs6": hs6} if code.endswith("hs6") else {}
                picked = reason(code, **said)
            else:
                picked = reason(f"{EXPLORATION}.uncertainty", p=q, **said,
                                rate=self.explore.uncertainty)  # fmt: skip
            signal = signals[declaration_id]
            signal["reasons"] = [*signal["reasons"], picked]
            signal["forced_channel"] = self.explore.channel

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
