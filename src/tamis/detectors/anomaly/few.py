"""The anomaly detector on a few items (one lodged declaration), in plain Python and numpy.

scikit-learn's ``IsolationForest.score_samples`` pays a large fixed cost per call (input
checks, a job per tree): on a handful of rows that cost is all there is. ``PlainForest``
gives the same scores by walking every tree at once in numpy, from arrays taken from the
fitted forest once; the figures the forest sees are computed item by item as ``_numbers``
computes them, against the HS6 medians kept in a dict (``AnomalyDetector.assess_rows``
says the reasons). A test holds the two paths together.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.ensemble import IsolationForest


class PlainForest:
    """``-forest.score_samples(x)`` for a few rows, bit for bit.

    The trees' nodes go end to end in flat arrays; a leaf points to itself, so walking
    every (row, tree) pair ``max_depth`` steps leaves each at its leaf. A leaf's value is
    the forest's path length there (its depth plus the average path length of the samples
    left in it, less one), summed over trees in their order, as scikit-learn sums them.
    """

    def __init__(self, forest: IsolationForest) -> None:
        from sklearn.ensemble._iforest import _average_path_length

        n_features = forest.n_features_in_
        subsampled = forest._max_features != n_features
        left, right, feature, threshold, nan_left, value, roots = [], [], [], [], [], [], []
        offset = 0
        for t, (estimator, features) in enumerate(
            zip(forest.estimators_, forest.estimators_features_, strict=True)
        ):
            tree = estimator.tree_
            own = np.arange(offset, offset + tree.node_count)
            leaf = tree.children_left == -1
            roots.append(offset)
            left.append(np.where(leaf, own, tree.children_left + offset))
            right.append(np.where(leaf, own, tree.children_right + offset))
            split_on = np.where(leaf, 0, tree.feature)
            feature.append(np.asarray(features)[split_on] if subsampled else split_on)
            threshold.append(np.where(leaf, np.inf, tree.threshold))
            nan_left.append(
                np.asarray(tree.missing_go_to_left, bool)
                if hasattr(tree, "missing_go_to_left")
                else np.zeros(tree.node_count, bool)
            )
            value.append(
                forest._decision_path_lengths[t] + forest._average_path_length_per_tree[t] - 1.0
            )
            offset += tree.node_count
        self.left, self.right = np.concatenate(left), np.concatenate(right)
        self.feature, self.threshold = np.concatenate(feature), np.concatenate(threshold)
        self.nan_left, self.value = np.concatenate(nan_left), np.concatenate(value)
        self.roots = np.asarray(roots)
        self.depth = max(e.tree_.max_depth for e in forest.estimators_)
        self.denominator = len(forest.estimators_) * _average_path_length([forest._max_samples])

    def isolation(self, x: np.ndarray) -> np.ndarray:
        """``-forest.score_samples(x)``: rows as scikit-learn sees them (float32)."""
        x = np.asarray(x, dtype=np.float32).astype(np.float64)
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots)))
        for _ in range(self.depth):
            seen = x[rows, self.feature[node]]
            go_left = (seen <= self.threshold[node]) | (np.isnan(seen) & self.nan_left[node])
            node = np.where(go_left, self.left[node], self.right[node])
        depths = np.add.accumulate(self.value[node], axis=1)[:, -1]  # tree after tree
        out = np.ones_like(depths)
        return 2 ** (-np.divide(depths, self.denominator, out=out, where=self.denominator != 0))


def _ln(x: float) -> float:
    """``Expr.log()``: -inf at 0, NaN below."""
    if x > 0 or x != x:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _float(value, default: float = 0.0) -> float:
    return default if value is None else float(value)


def numbers(item: dict, medians: dict) -> list[float]:
    """The figures the forest sees of ``item``, as ``anomaly._numbers`` computes them."""
    value, mass = _float(item["customs_value"]), _float(item["net_mass_kg"])
    log_unit = _ln(max(value / max(mass, 1e-3), 1e-6))
    hs = item["hs_code"]
    median = None if hs is None else medians.get(str(hs)[:6])
    return [
        _ln(value + 1),
        _ln(mass + 1e-3),
        log_unit,
        _float(item["duty_rate"]),
        0.0 if median is None else log_unit - median,
    ]
