"""Sums over the history of a key as of a day, for many rows at once (NumPy, no row loop).

``AsOfSums(keys, days, values)`` indexes a history: per key (a 64-bit hash), the running
sums of ``values`` at the end of each day with rows. ``lookup(keys, days)`` gives, for
each query row, the sums over that key's history rows lodged *strictly before* the query's
day: a row never sees its own day, so neither its own outcome nor a later one.

Both steps are sorts and binary searches: a history of n rows is indexed in O(n log n)
and q queries are answered in O(q log n), whatever the number of keys.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio) to combine hashes
_DAY_BITS = 32  # a day (int32) takes the low 32 bits of a composite (key rank, day) code


def column_hashes(frame: pl.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
    """A 64-bit hash per value of each column (stable within this process)."""
    hashed = frame.select(pl.col(c).hash() for c in columns)
    return {c: hashed[c].to_numpy() for c in columns}


def key_hash(hashes: dict[str, np.ndarray], key: list[str]) -> np.ndarray:
    """One 64-bit hash per row for the tuple of ``key`` columns (wraps modulo 2**64)."""
    out = hashes[key[0]].copy()
    for column in key[1:]:
        out *= _MIX
        out += hashes[column]
    return out


def _composite(rank: np.ndarray, days: np.ndarray) -> np.ndarray:
    return (rank.astype(np.int64) << _DAY_BITS) + (days.astype(np.int64) + 2**31)


class AsOfSums:
    def __init__(self, keys: np.ndarray, days: np.ndarray, values: np.ndarray) -> None:
        self.uniques, rank = np.unique(keys, return_inverse=True)
        code = _composite(rank, days)
        order = np.argsort(code, kind="stable")
        code = code[order]
        running = np.cumsum(values[order], axis=0)
        day_end = np.flatnonzero(np.r_[code[1:] != code[:-1], True])
        self.codes, running = code[day_end], running[day_end]
        # running sums restart at each key: subtract what the keys before it summed
        ranks = self.codes >> _DAY_BITS
        first = np.flatnonzero(np.r_[True, ranks[1:] != ranks[:-1]])
        before = np.vstack([np.zeros((1, running.shape[1])), running[first[1:] - 1]])
        self.sums = running - np.repeat(before, np.diff(np.r_[first, len(ranks)]), axis=0)

    def lookup(self, keys: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Sums over rows of the same key on earlier days (zeros for an unseen key)."""
        order = np.argsort(keys)  # sorted queries make the binary searches cache-friendly
        keys, days = keys[order], days[order]
        rank = np.searchsorted(self.uniques, keys)
        known = rank < len(self.uniques)
        known[known] = self.uniques[rank[known]] == keys[known]
        # the last (key, day) entry before (key, day of the query)
        at = np.searchsorted(self.codes, _composite(rank, days), side="left") - 1
        known &= at >= 0
        known[known] = (self.codes[at[known]] >> _DAY_BITS) == rank[known]
        out = np.zeros((len(keys), self.sums.shape[1]))
        out[order[known]] = self.sums[at[known]]
        return out
