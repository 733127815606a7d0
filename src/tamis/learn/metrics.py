"""How targeting centres judge a ranking: of the k % inspected, how many frauds, how much money.

Rank declarations by risk, inspect the top k % (round(n·k/100), at least one):
- precision@k = frauds among the inspected / number inspected;
- recall@k = frauds among the inspected / all frauds;
- revenue@k = revenue at stake of the inspected frauds / revenue at stake of all frauds.
"""

from __future__ import annotations

import numpy as np

KS = (1, 2, 5, 10)


def targeting_metrics(
    risk: np.ndarray, fraud: np.ndarray, revenue: np.ndarray, ks: tuple[int, ...] = KS
) -> dict[str, float]:
    """precision@k, recall@k and revenue@k for each k, as the README of the data defines them."""
    risk, fraud = np.asarray(risk, dtype=float), np.asarray(fraud, dtype=bool)
    revenue = np.where(fraud, np.nan_to_num(np.asarray(revenue, dtype=float)), 0.0)
    order = np.argsort(-risk, kind="stable")
    n, frauds, money = len(risk), fraud.sum(), revenue.sum()
    result = {}
    for k in ks:
        top = order[: max(1, round(n * k / 100))]
        caught = fraud[top].sum()
        result[f"precision@{k}"] = float(caught / len(top))
        result[f"recall@{k}"] = float(caught / frauds) if frauds else 0.0
        result[f"revenue@{k}"] = float(revenue[top].sum() / money) if money else 0.0
    return result
