"""The targeting metrics, on rankings whose answer is known by hand."""

import numpy as np
import pytest

from tamis.learn.metrics import targeting_metrics


def test_metrics_on_a_ranking_worked_by_hand():
    risk = np.arange(100, 0, -1)  # row 0 is the riskiest
    fraud = np.zeros(100, bool)
    fraud[[0, 1, 3, 50]] = True
    revenue = np.zeros(100)
    revenue[[0, 1, 3, 50]] = [10, 20, 30, 40]
    m = targeting_metrics(risk, fraud, revenue)
    assert m["precision@1"] == 1.0 and m["recall@1"] == 0.25 and m["revenue@1"] == 0.1
    assert m["precision@5"] == pytest.approx(3 / 5) and m["recall@5"] == 0.75
    assert m["revenue@5"] == pytest.approx(0.6)
    assert m["recall@10"] == 0.75


def test_revenue_of_non_frauds_does_not_count_and_ties_keep_order():
    m = targeting_metrics(np.ones(10), np.array([1] + [0] * 9, bool), np.full(10, 5.0), ks=(10,))
    assert m == {"precision@10": 1.0, "recall@10": 1.0, "revenue@10": 1.0}
