"""Which declarations to inspect first: by probability, by expected revenue, or balanced.

A targeting centre inspects the top ``budget`` share of declarations and is judged on two
counts (``tamis.learn.metrics``): precision@k (frauds found) and revenue@k (money
recovered). With p = P(fraud) and r = the revenue a fraud would bring (the revenue model):

- ``probability``: p — the most frauds, whatever they are worth;
- ``expected_revenue``: p·r — the most money, with gambles on costly unlikely frauds;
- ``balanced``: p·(r + C) — a fixed value C per fraud found plus its revenue.

``balanced`` with C = Σ p·r / (λ·K), K = budget·n, maximises E[precision@K] + λ·E[revenue@K]:
a row adds p/K to the expected precision and p·r/Σ p·r to the expected revenue.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

RankBy = Literal["probability", "expected_revenue", "balanced"]
RANKINGS: tuple[RankBy, ...] = ("probability", "expected_revenue", "balanced")
BUDGET = 0.05  # share of declarations inspected that the balanced ranking is tuned for
LAMBDA = 1.0  # weight of revenue@k against precision@k in the balanced ranking


def value_per_fraud(
    p: np.ndarray, revenue: np.ndarray, lam: float = LAMBDA, budget: float = BUDGET
) -> float:
    """C of the balanced ranking for a batch like ``p``, ``revenue`` (at least 1)."""
    k = max(1, round(len(p) * budget))
    return max(1.0, float((p * revenue).sum()) / (lam * k))


def priority(p: np.ndarray, revenue: np.ndarray, rank_by: RankBy, c: float) -> np.ndarray:
    """The inspection priority of each row (higher first); ``c`` is the balanced C."""
    if rank_by == "probability":
        return p
    if rank_by == "expected_revenue":
        return p * revenue
    if rank_by == "balanced":
        return p * (revenue + c)
    raise ValueError(f"rank_by {rank_by!r}: one of {', '.join(RANKINGS)}")


def score(p: np.ndarray, revenue: np.ndarray, rank_by: RankBy, c: float) -> np.ndarray:
    """``priority`` as a score in [0, 1] in the same order: p itself, else 1 − exp(−x/C).

    In money modes a sure fraud worth C scores 0.86 when balanced (0.63 by expected revenue);
    one worth nothing scores 0.63 when balanced (0 by expected revenue)."""
    if rank_by == "probability":
        return p
    return 1 - np.exp(-priority(p, revenue, rank_by, c) / c)


def batch_priority(
    p: np.ndarray, revenue: np.ndarray, rank_by: RankBy = "balanced", lam: float = LAMBDA
) -> np.ndarray:
    """``priority`` over a whole batch to rank (a period), C set from the batch itself."""
    return priority(p, revenue, rank_by, value_per_fraud(p, revenue, lam))
