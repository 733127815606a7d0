"""P(fraud) and revenue with LightGBM on as-of-lodgement features; explanations, baseline.

Selection bias: only inspected declarations are labelled, and most were inspected because
something (rules, officers, an earlier model) found them risky, so hit rates learnt here are
those of the *selected* population and are too high for the unselected one. The ranking is
what matters and it is learnt within what was inspected. Exploration keeps the kinds of
declarations nothing finds risky represented: the random share of routing, and the model
detector's picks of novel declarations and of those it is least sure of (the latter are
where a label moves the model most). Their outcomes are learnt from like any other, unweighted:
each pick's decision records its chance, so inverse-propensity weights can be derived from
the decisions, but with chances of a few percent they would multiply a handful of rows by
twenty or more and make the model's variance, on histories of this size, the larger harm.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from tamis.learn import compiled, revenue, treeshap
from tamis.learn import features as F
from tamis.learn.ranking import value_per_fraud
from tamis.reasons import parse, reason, render

if TYPE_CHECKING:  # LightGBM (≈ 0.8 s with the scikit-learn and SciPy it imports) is
    import lightgbm as lgb  # imported where a model is trained or read, not by every page

NUM_THREADS = 2
PARAMS: dict = dict(
    objective="binary",
    learning_rate=0.1,
    num_leaves=7,
    min_data_in_leaf=50,
    feature_fraction=0.7,
    bagging_fraction=0.8,
    bagging_freq=1,
    lambda_l2=1.0,
    num_threads=NUM_THREADS,
    verbose=-1,
    seed=0,
)
N_ROUNDS = 100
# P(fraud) is the mean log-odds of boosters with other seeds when training rows are few:
# ENSEMBLE_ROWS / rows of them, at most MAX_ENSEMBLE, one from 400,000 rows on; the
# boosters together see no more than some ENSEMBLE_ROWS rows
ENSEMBLE_ROWS = 600_000
MAX_ENSEMBLE = 16
C_SAMPLE = 100_000  # training rows the value per fraud is estimated on


def _category_maps(frame: pl.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    return {c: frame[c].unique().sort().to_list() for c in columns}


def _matrix(frame: pl.DataFrame, columns: list[str], categories: dict[str, list[str]]):
    """Float32 matrix for LightGBM: a code column as the code's rank in the training values
    (-1 for one never seen), split on like a number. What a code says about risk reaches
    the model through its smoothed past hit rate; LightGBM's categorical splits over
    hundreds of countries cost six times the training time here for no gain on KCS."""

    def rank(c: str) -> pl.Expr:  # an enum's physical value is the rank of its value
        enum = pl.col(c).cast(pl.Enum(categories[c]), strict=False)
        return enum.to_physical().cast(pl.Float32).fill_null(-1.0)

    return frame.select(
        rank(c) if c in categories else pl.col(c).cast(pl.Float32) for c in columns
    ).to_numpy()


def severity_weights(labelled: pl.DataFrame) -> np.ndarray | None:
    """Each row's weight in training: a fraud weighs the severity of the offence it led to
    (``tamis.learn.data``), anything else 1; None (unweighted) when nothing weighs more."""
    if "severity" not in labelled.columns:
        return None
    weight = (
        labelled.select(
            pl.when(pl.col("fraud") == 1).then(pl.col("severity").fill_null(1)).otherwise(1)
        )
        .to_series()
        .cast(pl.Float64)
        .to_numpy()
    )
    return weight if (weight != 1).any() else None


@dataclass
class FraudModel:
    """P(fraud) and the revenue a fraud would bring (``tamis.learn.revenue``), with what
    scoring needs: feature columns, category codes and the indexed labelled history its
    features are computed from (set by ``fit`` or ``with_history``). ``params`` keeps the
    training parameters and ``value_per_fraud``, the C of the balanced ranking
    (``tamis.learn.ranking``) over the training rows."""

    booster: lgb.Booster
    columns: list[str]
    categories: dict[str, list[str]]
    history: F.History | None = None
    params: dict = field(default_factory=dict)
    revenue: lgb.Booster | None = None

    @classmethod
    def fit(cls, labelled: pl.DataFrame, n_rounds: int = N_ROUNDS, **params) -> FraudModel:
        train = F.prepare(labelled)
        history, feats = F.training_features(train)
        columns = F.feature_columns(feats)
        categories = _category_maps(train, F.LOW_CARD)
        params = PARAMS | params
        import lightgbm as lgb

        x, fraud = _matrix(feats, columns, categories), feats["fraud"].to_numpy()
        data = lgb.Dataset(x, fraud, weight=severity_weights(feats), feature_name=columns)
        boosters = [lgb.train(params | {"seed": seed}, data, n_rounds)
                    for seed in ensemble_seeds(params, len(x))]  # fmt: skip
        duty = feats["duty"].to_numpy()
        money = revenue.fit(x, fraud, feats["revenue"].to_numpy(), duty, params)
        sample = slice(None, None, sample_step(len(x)))
        model = cls.of_boosters(boosters, columns, categories, money, x[sample], duty[sample],
                                params | {"n_rounds": n_rounds})  # fmt: skip
        return replace(model, history=history)

    @classmethod
    def of_boosters(cls, boosters, columns, categories, money, x_sample, duty_sample, params):
        """The model of P(fraud) boosters (averaged) and a revenue booster, with the value
        per fraud of the balanced ranking estimated on a sample of the training rows."""
        booster = averaged(boosters)
        p = booster.predict(x_sample, num_threads=NUM_THREADS)
        c = value_per_fraud(p, revenue.predict(money, x_sample, duty_sample, NUM_THREADS))
        params = params | {"ensemble": len(boosters), "value_per_fraud": c}
        return cls(booster, columns, categories, None, params, money)

    def with_history(self, labelled: pl.DataFrame) -> FraudModel:
        history = F.History(F.prepare(labelled))
        return replace(self, history=history)

    def features(self, batch: pl.DataFrame) -> pl.DataFrame:
        if self.history is None:
            raise ValueError("the model has no labelled history to compute features from")
        return self.history.features(F.prepare(batch))

    def features_of_few(self, rows: list[dict], schema: pl.Schema):
        """``features`` of a few canonical items (``History.features_of_few``)."""
        if self.history is None:
            raise ValueError("the model has no labelled history to compute features from")
        return self.history.features_of_few(rows, schema)

    def predict_proba(self, feats: pl.DataFrame) -> np.ndarray:
        x = _matrix(feats, self.columns, self.categories)
        return compiled.predict(self.booster, x, NUM_THREADS)

    def predict(self, feats: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(P(fraud), revenue if a fraud) per row."""
        x = _matrix(feats, self.columns, self.categories)
        return self.predict_matrix(x, feats["duty"].to_numpy())

    def predict_matrix(self, x: np.ndarray, duty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = compiled.predict(self.booster, x, NUM_THREADS)
        return p, revenue.predict(self.revenue, x, duty, NUM_THREADS)

    def matrix_of_few(self, rows: list[dict], looked_up: dict[str, np.ndarray]) -> np.ndarray:
        """``_matrix`` of the items ``History.features_of_few`` gives, value for value."""
        x = np.empty((len(rows), len(self.columns)), np.float32)
        for j, column in enumerate(self.columns):
            if column in looked_up:
                x[:, j] = looked_up[column]
            elif column in self._ranks:
                x[:, j] = [self._ranks[column].get(r[column], -1) for r in rows]
            else:
                x[:, j] = [np.nan if r[column] is None else r[column] for r in rows]
        return x

    @cached_property
    def _ranks(self) -> dict[str, dict[str, int]]:
        """Each code's rank among the training values, as ``_matrix`` numbers it."""
        return {c: {v: i for i, v in enumerate(values)} for c, values in self.categories.items()}

    def contributions(self, feats: pl.DataFrame) -> np.ndarray:
        """SHAP values (log-odds) per row and feature; the last column is the bias."""
        return self.contributions_of(_matrix(feats, self.columns, self.categories))

    def contributions_of(self, x: np.ndarray) -> np.ndarray:
        if len(x) >= treeshap.TABLES_FROM or treeshap.built(self.booster):
            found = treeshap.contributions(self.booster, x, NUM_THREADS)
            if found is not None:
                return found
        return self.booster.predict(x, pred_contrib=True, num_threads=NUM_THREADS)

    def to_text(self) -> str:
        """Both boosters as one JSON text (``from_text`` reads it back)."""
        money = self.revenue.model_to_string() if self.revenue is not None else None
        return json.dumps({"fraud": self.booster.model_to_string(), "revenue": money})

    @classmethod
    def from_text(cls, text: str, categories: dict[str, list[str]], params: dict):
        """From ``to_text``; a lone P(fraud) booster (models saved before the revenue model)
        predicts the duty at stake as revenue."""
        import lightgbm as lgb

        texts = json.loads(text) if text.startswith("{") else {"fraud": text, "revenue": None}
        booster = lgb.Booster(model_str=texts["fraud"])
        money = lgb.Booster(model_str=texts["revenue"]) if texts["revenue"] else None
        return cls(booster, booster.feature_name(), categories, None, params, money)


def ensemble_size(rows: int) -> int:
    """How many boosters P(fraud) averages for this many training rows: on a few tens of
    thousands, one booster's ranking moves with its seed (bagging and feature sampling)
    by more than the gap between two rankings worth telling apart; averaging cuts that.
    On KCS, precision@5 stops moving with the seed at about sixteen (bench/RESULTS.md)."""
    return max(1, min(MAX_ENSEMBLE, round(ENSEMBLE_ROWS / max(rows, 1))))


def ensemble_seeds(params: dict, rows: int) -> list[int]:
    """The seed of each booster P(fraud) averages (``ensemble_size``)."""
    return [params["seed"] + 1000 * i for i in range(ensemble_size(rows))]


def sample_step(rows: int) -> int:
    """Every how many training rows one is taken to estimate C (a mean: a sample will do)."""
    return max(1, rows // C_SAMPLE)


def averaged(boosters: list[lgb.Booster]) -> lgb.Booster:
    """One booster whose raw score (log-odds) is the mean of ``boosters``': all their trees,
    each leaf value scaled by 1/len. As one booster it is saved, compiled and explained
    (SHAP values are linear in the trees) like any other."""
    if len(boosters) == 1:
        return boosters[0]
    import lightgbm as lgb

    scale = 1 / len(boosters)

    def scaled(line: re.Match) -> str:
        return f"{line[1]}={' '.join(repr(float(v) * scale) for v in line[2].split())}"

    texts = [b.model_to_string() for b in boosters]
    first, last = texts[0].index("\nTree="), texts[0].index("\nend of trees")
    head = re.sub(r"\ntree_sizes=[^\n]*", "", texts[0][:first])  # optional when parsing
    trees = [
        tree.split("\n", 1)[1]  # without its number
        for text in texts
        for tree in text[: text.index("\nend of trees")].split("\nTree=")[1:]
    ]
    body = "".join(
        f"\nTree={i}\n" + re.sub(r"(?m)^(leaf_value|internal_value)=(.*)$", scaled, tree)
        for i, tree in enumerate(trees)
    )
    return lgb.Booster(model_str=head + body + texts[0][last:])


def reasons(model: FraudModel, feats: pl.DataFrame, top: int = 3) -> list[list[str]]:
    """The ``top`` features pushing each row's risk up, as reasons with their figures."""
    if feats.is_empty():
        return []
    x = _matrix(feats, model.columns, model.categories)
    return reasons_of(model, x, lambda needed: feats.select(needed).to_dicts(), top)


def reasons_of(model: FraudModel, x: np.ndarray, values, top: int = 3) -> list[list[str]]:
    """``reasons`` of the rows of matrix ``x``; ``values(columns)`` gives each row's values
    of those feature columns as a dict."""
    contrib = model.contributions_of(x)[:, :-1]
    best = np.argsort(-contrib, axis=1)[:, :top]
    needed = sorted({c for j in np.unique(best) for c in _shown(model.columns[j])})
    out = []
    for row, top_j, c in zip(values(needed), best, contrib, strict=True):
        out.append([contribution(model.columns[j], row, float(c[j])) for j in top_j if c[j] > 0])
    return out


_CONTRIBUTION = re.compile(r"^(?P<feature>.+): (?P<value>[+-]\d+\.\d+)$")


def contributions(reasons_of_a_row: list[str], language: str = "en") -> list[tuple[str, float]]:
    """(feature in words, contribution) of the reasons ``reasons`` wrote (or, before reason
    codes, the same in words)."""
    found = []
    for stored in reasons_of_a_row:
        coded = parse(stored)
        if coded is None:
            if m := _CONTRIBUTION.match(stored):
                found.append((m["feature"], float(m["value"])))
        elif coded["code"] in CONTRIBUTIONS:
            words = render(coded | {"code": coded["code"] + ".feature"}, language)
            found.append((words, coded["pushed"]))
    return found


CONTRIBUTIONS = ("model.hit_rate", "model.inspections", "model.unit_value", "model.feature")


def _shown(column: str) -> list[str]:
    """The feature columns ``describe`` shows for ``column``."""
    for prefix in ("teh_", "te_"):
        if column.startswith(prefix):
            return [column, f"n_{column[len(prefix) :]}"]
    return [column]


LABELS = {
    F.IMPORTER: "importer", F.DECLARANT: "declarant",
    F.SUPPLIER: "supplier", F.H: "HS6", "hs4": "HS4", "hs2": "HS2", F.O: "origin",
    F.D: "export country", F.T: "preference", F.R: "duty rate", F.V: "declared value",
    F.M: "net mass", F.OFFICE: "office", "declaration_type": "declaration type",
    "pb": "value band", "pbs": "offset value band", "mb": "mass band",
    "db": "duty band", "vf": "fine value band", "mf": "fine mass band",
    "vfs": "offset fine value band", "mfs": "offset fine mass band",
}  # fmt: skip


@lru_cache
def _key_label(name: str) -> str:
    return " × ".join(dict.fromkeys(LABELS.get(k, k) for k in name.split("|")))


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def contribution(column: str, row: dict, pushed: float) -> str:
    """One feature of one row and how far it pushed the risk up, as a reason code (e.g. said
    'importer hit rate 0.41 over 37 past inspections: +0.52'); ``row`` holds at least the
    columns ``_shown`` names for it."""
    value, pushed = row[column], round(pushed, 2)
    for prefix in ("teh_", "te_"):
        if column.startswith(prefix):
            key = column[len(prefix) :]
            return reason("model.hit_rate", key=_key_label(key), rate=_fmt(value),
                          n=row[f"n_{key}"], pushed=pushed)  # fmt: skip
    if column.startswith("n_"):
        return reason("model.inspections", key=_key_label(column[2:]), n=value, pushed=pushed)
    if column.startswith("uv_ratio_"):
        ratio = "none" if value is None or math.isnan(value) else f"{math.exp(value):.2f}×"
        key = _key_label(column[9:])
        return reason("model.unit_value", ratio=ratio, key=key, pushed=pushed)
    if column.startswith("log_"):
        amount = _fmt(math.expm1(value)) if value is not None else "none"
        return reason("model.feature", feature=column[4:], value=amount, pushed=pushed)
    return reason("model.feature", feature=column.replace("_", " "), value=_fmt(value),
                  pushed=pushed)  # fmt: skip


@dataclass
class Baseline:
    """Plain gradient boosting on the raw columns (codes as their ranks), ranked by P(fraud)."""

    booster: lgb.Booster
    categories: dict[str, list[str]]
    columns: list[str] = field(default_factory=lambda: [F.R, F.M, F.V, *F.CODES])

    @classmethod
    def fit(cls, labelled: pl.DataFrame) -> Baseline:
        train = F.prepare(labelled)
        model = cls(None, _category_maps(train, F.CODES))  # type: ignore[arg-type]
        params = dict(objective="binary", learning_rate=0.05, num_leaves=63,
                      num_threads=NUM_THREADS, verbose=-1, seed=0)  # fmt: skip
        import lightgbm as lgb

        x = _matrix(train, model.columns, model.categories)
        data = lgb.Dataset(x, train["fraud"].to_numpy())
        model.booster = lgb.train(params, data, num_boost_round=300)
        return model

    def predict_proba(self, batch: pl.DataFrame) -> np.ndarray:
        x = _matrix(F.prepare(batch), self.columns, self.categories)
        return self.booster.predict(x, num_threads=NUM_THREADS)
