"""Train on an earlier period, rank a later one, measure as a targeting centre would."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tamis.learn.metrics import KS, targeting_metrics
from tamis.learn.model import Baseline, FraudModel
from tamis.learn.ranking import LAMBDA, RankBy, batch_priority


@dataclass
class Evaluation:
    model: dict[str, float]
    baseline: dict[str, float]
    train_rows: int
    test_rows: int
    fit_seconds: float
    score_rows_per_second: float

    def as_json(self) -> dict:
        extra = {"train_rows": self.train_rows, "test_rows": self.test_rows,
                 "fit_seconds": round(self.fit_seconds, 2),
                 "score_rows_per_second": round(self.score_rows_per_second)}  # fmt: skip
        return self.model | {"baseline": self.baseline} | extra


def evaluate(
    train: pl.DataFrame,
    test: pl.DataFrame,
    revenue_weight: float = LAMBDA,
    rank_by: RankBy = "balanced",
    seed: int = 0,
) -> Evaluation:
    """Fit the model and the baseline on ``train`` (labelled), rank ``test`` (its labels are
    read only to measure). The model ranks ``rank_by`` (``tamis.learn.ranking``; balanced:
    p·(revenue + C), C set by ``revenue_weight``), the baseline by p."""
    started = time.perf_counter()
    model = FraudModel.fit(train, seed=seed)
    fitted = time.perf_counter()
    p, money = model.predict(model.features(test))
    scored = time.perf_counter()
    fraud, revenue = test["fraud"].to_numpy(), test["revenue"].to_numpy()
    ranked = batch_priority(p, money, rank_by, revenue_weight)
    baseline = Baseline.fit(train).predict_proba(test)
    return Evaluation(
        targeting_metrics(ranked, fraud, revenue),
        targeting_metrics(baseline, fraud, revenue),
        train.height,
        test.height,
        fitted - started,
        test.height / max(scored - fitted, 1e-9),
    )


def table(evaluation: Evaluation) -> str:
    lines = ["   k   model: precision recall revenue   baseline: precision recall revenue"]
    for k in KS:
        m, b = evaluation.model, evaluation.baseline
        cells = [d[f"{w}@{k}"] for d in (m, b) for w in ("precision", "recall", "revenue")]
        lines.append(f"  {k:>2}%   {cells[0]:16.3f} {cells[1]:6.3f} {cells[2]:7.3f}"
                     f"   {cells[3]:19.3f} {cells[4]:6.3f} {cells[5]:7.3f}")  # fmt: skip
    return "\n".join(lines)


def chart(evaluation: Evaluation, out: Path) -> Path:
    """precision@k and revenue@k of model and baseline, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    for ax, what in zip(axes, ("precision", "recall", "revenue"), strict=True):
        for name, m in (("model", evaluation.model), ("baseline", evaluation.baseline)):
            ax.plot(KS, [m[f"{what}@{k}"] for k in KS], marker="o", label=name)
        ax.set(title=f"{what}@k", xlabel="k (% inspected)", xticks=KS, ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
