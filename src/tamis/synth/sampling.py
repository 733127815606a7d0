"""Random draws and the columns built from them, shared by every part of the generator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from tamis.synth.reference import MONEY


def categorical_draw(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per row, from the padded cumulative probabilities cum[rows]."""
    return (rng.random(len(rows))[:, None] >= cum[rows]).sum(axis=1)


def uniform_pick(
    rng: np.random.Generator, table: np.ndarray, counts: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """A uniformly chosen entry of each row of a padded index table."""
    return table[rows, (rng.random(len(rows)) * counts[rows]).astype(np.int64)]


def weighted_choice(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    p = np.asarray(weights, float)
    return rng.choice(len(p), size, p=p / p.sum())


def text_column(values: Sequence[str | None], idx: np.ndarray) -> pl.Series:
    """values[idx] as a String column; an index of -1 gives null."""
    table = pl.Series(list(values) + [None], dtype=pl.String)
    return table.gather(np.where(idx < 0, len(values), idx))


def money_column(cents: np.ndarray) -> pl.Series:
    return (pl.Series(cents.astype(np.int64)).cast(MONEY) / 100).cast(MONEY)
