"""The revenue a fraud would bring, learnt from the frauds found (the second of the DATE
model's two tasks, beside P(fraud)).

LightGBM regression of log(1 + revenue) over the inspected frauds, with log(1 + duty at
stake) as offset: the trees learn how far the revenue recovered departs from the duty on
the declared value (an undervalued invoice brings several times it, goods declared under a
lower-duty code the difference of rates). Where outcomes record no revenue, the revenue is
the duty at stake (``tamis.learn.data``), the departure is nil and the prediction is the
duty at stake itself. With fewer than ``MIN_FRAUDS`` frauds, or no departure at all, there
is no model and the prediction is the duty at stake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tamis.learn import compiled

if TYPE_CHECKING:  # LightGBM is imported where a model is trained
    import lightgbm as lgb

# the P(fraud) model's parameters (``tamis.learn.model``) with these changes
OBJECTIVE: dict = dict(objective="regression", min_data_in_leaf=20, learning_rate=0.2)
N_ROUNDS = 25  # half the trees of P(fraud)'s at twice the rate: scoring pays for every tree
MIN_FRAUDS = 20
TOLERANCE = 1e-6  # revenue within a millionth of the duty at stake counts as equal to it


def fit(
    x: np.ndarray, fraud: np.ndarray, revenue: np.ndarray, duty: np.ndarray, params: dict
) -> lgb.Booster | None:
    """The regression on the frauds among rows ``x`` (None when there are too few);
    ``params`` are the P(fraud) model's."""
    frauds = np.asarray(fraud) == 1
    if frauds.sum() < MIN_FRAUDS:
        return None
    target = np.log1p(np.clip(np.nan_to_num(revenue[frauds]), 0, None))
    offset = np.log1p(duty[frauds])
    if np.abs(target - offset).max() < TOLERANCE:
        return None  # revenue is the duty at stake: predicted for free, without trees
    import lightgbm as lgb

    data = lgb.Dataset(x[frauds], target, init_score=offset)
    return lgb.train(params | OBJECTIVE, data, num_boost_round=N_ROUNDS)


def predict(
    booster: lgb.Booster | None, x: np.ndarray, duty: np.ndarray, num_threads: int
) -> np.ndarray:
    """Revenue each row would bring if it were a fraud (national currency)."""
    offset = np.log1p(duty)
    if booster is not None:
        offset = offset + compiled.predict(booster, x, num_threads)
    return np.expm1(offset).clip(0)
