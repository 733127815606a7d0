"""SHAP values from per-tree tables equal LightGBM's own TreeSHAP, whatever the splits."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from tamis.learn import treeshap
from tamis.learn.model import averaged


def rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Numbers with NaNs and zeros, a category code with NaNs, negatives and codes never
    seen in training, and a label depending on all of them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    x[:, 3] = rng.integers(-2, 12, n)  # a category: codes 10 and 11 never in training
    x[rng.random(n) < 0.1, 0] = np.nan
    x[rng.random(n) < 0.2, 1] = 0.0
    x[rng.random(n) < 0.05, 3] = np.nan
    logit = x[:, 2] + np.isin(x[:, 3], [1, 4, 7]) - np.nan_to_num(x[:, 0]) + (x[:, 1] == 0)
    return x, (logit + rng.normal(size=n) > 0.5).astype(int)


@pytest.mark.parametrize(
    "params",
    [
        {},  # NaN as missing where training saw NaNs
        {"zero_as_missing": True},
        {"use_missing": False},  # a NaN counts as zero
        {"num_leaves": 11, "min_data_per_group": 5, "cat_smooth": 1},  # the widest tables
    ],
)
def test_tables_give_lightgbm_s_shap_values(params):
    x, y = rows(3000, 1)
    train = x[x[:, 3] < 10]
    data = lgb.Dataset(train, y[x[:, 3] < 10], categorical_feature=[3], free_raw_data=False)
    base = {"objective": "binary", "num_leaves": 7, "verbose": -1, "min_data_in_leaf": 5}
    boosters = [lgb.train(base | params | {"seed": s}, data, 30) for s in range(3)]
    booster = averaged(boosters)
    assert "==" in str(booster.dump_model())  # categorical splits are in
    test, _ = rows(1500, 2)
    for rows_at_once in (test[:1], test[: treeshap.FEW_ROWS], test):  # a few, one by one
        expected = booster.predict(rows_at_once, pred_contrib=True)
        found = treeshap.contributions(booster, rows_at_once, num_threads=2)
        assert found.shape == expected.shape
        assert np.allclose(found, expected, rtol=0, atol=1e-12)
    raw = booster.predict(test, raw_score=True)
    assert np.allclose(found.sum(axis=1), raw, rtol=0, atol=1e-12)


def test_trees_too_large_for_tables_are_left_to_lightgbm():
    x, y = rows(2000, 3)
    params = {"objective": "binary", "num_leaves": treeshap.MAX_SPLITS + 2, "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(x, y), 5)
    assert max(t["num_leaves"] for t in booster.dump_model()["tree_info"]) > treeshap.MAX_SPLITS + 1
    assert treeshap.contributions(booster, x) is None


def test_no_rows_and_a_tree_without_splits():
    x, y = rows(200, 4)
    booster = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 500},
                        lgb.Dataset(x, y), 3)  # fmt: skip
    assert treeshap.contributions(booster, x[:0]).shape == (0, x.shape[1] + 1)
    assert np.allclose(treeshap.contributions(booster, x), booster.predict(x, pred_contrib=True))
