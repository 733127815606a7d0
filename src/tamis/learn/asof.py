"""Sums over the history of a key as of a day, for many rows at once (NumPy, no row loop).

``AsOfSums(keys, days, values)`` indexes a history: per key (a 64-bit hash), the running
sums of ``values`` at the end of each day with rows. ``lookup(keys, days)`` gives, for
each query row, the sums over that key's history rows lodged *strictly before* the query's
day: a row never sees its own day, so neither its own outcome nor a later one.

Both steps are sorts and binary searches: a history of n rows is indexed in O(n log n)
and q queries are answered in O(q log n), whatever the number of keys.
"""

from __future__ import annotations

import threading

import numpy as np
import polars as pl

_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio) to combine hashes
_DAY_BITS = 32  # a day (int32) takes the low 32 bits of a composite (key rank, day) code


def column_hashes(frame: pl.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
    """A 64-bit hash per value of each column (stable within this process)."""
    hashed = frame.select(pl.col(c).hash() for c in columns)
    return {c: hashed[c].to_numpy() for c in columns}


_KNOWN: dict[tuple, int] = {}  # (type, value): its hash, for ``value_hashes``
_KNOWN_KEPT = 200_000
_known_lock = threading.Lock()


def value_hashes(values: dict[str, list], types: dict[str, pl.DataType]) -> dict[str, np.ndarray]:
    """``column_hashes`` of a few rows, given as each column's values and type: each value
    hashed once per process (a lodgement's codes have mostly been seen before)."""
    with _known_lock:
        unknown: dict[pl.DataType, set] = {}
        for column, column_values in values.items():
            kind = types[column]
            unknown.setdefault(kind, set()).update(
                v for v in column_values if (kind, v) not in _KNOWN
            )
        for kind, new in unknown.items():
            if new:
                if len(_KNOWN) + len(new) > _KNOWN_KEPT:
                    _KNOWN.clear()
                new = list(new)
                hashed = pl.Series(new, dtype=kind).hash().to_list()
                _KNOWN.update(((kind, v), h) for v, h in zip(new, hashed, strict=True))
        return {
            c: np.array([_KNOWN[(types[c], v)] for v in column_values], np.uint64)
            for c, column_values in values.items()
        }


def key_hash(hashes: dict[str, np.ndarray], key: list[str]) -> np.ndarray:
    """One 64-bit hash per row for the tuple of ``key`` columns (wraps modulo 2**64)."""
    out = hashes[key[0]].copy()
    for column in key[1:]:
        out *= _MIX
        out += hashes[column]
    return out


def _composite(rank: np.ndarray, days: np.ndarray) -> np.ndarray:
    return (rank.astype(np.int64) << _DAY_BITS) + (days.astype(np.int64) + 2**31)


def _locality_order(keys: np.ndarray) -> np.ndarray:
    """A permutation putting ``keys`` in order of their high bits: queries in that order
    make the binary searches cache-friendly. It sorts words made of a key's high bits and
    the row number, which NumPy does three times faster than an argsort of the keys."""
    bits = max(1, (len(keys) - 1).bit_length())
    words = (keys >> np.uint64(bits) << np.uint64(bits)) | np.arange(len(keys), dtype=np.uint64)
    words.sort()
    return (words & np.uint64((1 << bits) - 1)).astype(np.intp)


class AsOfSums:
    """Running sums of ``values`` per key and day; ``days`` must be in ascending order."""

    def __init__(self, keys: np.ndarray, days: np.ndarray, values: np.ndarray) -> None:
        if len(days) and np.any(days[1:] < days[:-1]):
            raise ValueError("AsOfSums needs the history in lodgement-day order")
        self.last_day = days[-1] if len(days) else None
        order = np.argsort(keys, kind="stable")  # by key, then day (stable on day order)
        keys, days = keys[order], days[order]
        new_key = np.ones(len(keys), bool)
        new_key[1:] = keys[1:] != keys[:-1]
        self.uniques = keys[new_key]
        rank = np.cumsum(new_key) - 1
        last_of_day = np.ones(len(keys), bool)
        last_of_day[:-1] = new_key[1:] | (days[1:] != days[:-1])
        day_end = np.flatnonzero(last_of_day)
        rank = rank[day_end]
        self.codes = _composite(rank, days[day_end])
        running = np.cumsum(values[order], axis=0)[day_end]
        # running sums restart at each key: subtract what the keys before it summed
        first = np.flatnonzero(np.diff(rank, prepend=-1))  # each key's first entry
        before = np.zeros((len(first), running.shape[1]))
        before[1:] = running[first[1:] - 1]
        sums = (running - before[rank]).T  # one row per value, and a last entry of zeros
        self.sums = np.ascontiguousarray(np.c_[sums, np.zeros(len(sums))])  # for "not found"
        self.last = np.r_[first[1:] - 1, len(rank) - 1]  # each key's last entry

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, sums): each key and its sums over the whole history, one row a key."""
        return self.uniques, self.sums[:, self.last[: len(self.uniques)]].T

    def lookup(self, keys: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Sums over rows of the same key on earlier days (zeros for an unseen key), one
        row per value column."""
        out = np.zeros((len(self.sums), len(keys)))
        if not len(self.uniques):
            return out
        order = _locality_order(keys)
        keys = keys[order]
        rank = np.minimum(np.searchsorted(self.uniques, keys), len(self.uniques) - 1)
        # the last (key, day) entry before (key, day of the query), if it is of that key:
        # the key's last entry when the query comes after it, as every query of a batch
        # lodged after the whole history (scoring new declarations)
        at = self.last[rank]
        found = self.uniques[rank] == keys
        if len(days) and days.min() <= self.last_day:
            query = _composite(rank, days[order])
            earlier = self.codes[at] >= query
            at[earlier] = np.searchsorted(self.codes, query[earlier], side="left") - 1
            found &= (at >= 0) & ((self.codes[at] >> _DAY_BITS) == rank)
        at[~found] = -1  # the entry of zeros
        for column, sums in zip(out, self.sums, strict=True):
            column[order] = sums[at]
        return out


def added_totals(*totals: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The ``AsOfSums.totals`` of several stretches of history as one: sums of a key added."""
    keys = np.concatenate([k for k, _ in totals])
    uniques, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros((len(uniques), totals[0][1].shape[1]))
    np.add.at(sums, inverse, np.concatenate([s for _, s in totals]))
    return uniques, sums
