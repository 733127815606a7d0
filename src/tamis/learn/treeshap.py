"""Exact SHAP values of a LightGBM model of small trees, from a table per tree.

LightGBM's own TreeSHAP (``pred_contrib``) walks every tree for every row, at some 50 times
the cost of a prediction: on an averaged ensemble of 1,600 trees it was most of a batch's
assessment. Yet a tree of k split nodes gives a row one of at most 2^k answers: which way the
row goes at each node decides its SHAP values in that tree, whether the node lies on the
row's own path or not (path-dependent TreeSHAP follows the row at every node whose feature is
known and weighs both branches by their training counts elsewhere). So each tree's SHAP
values are worked out once per pattern of its nodes' directions, by the Shapley formula over
the few features the tree uses; a row then costs one comparison per node and one look-up per
tree. The values are those of ``pred_contrib`` (a test holds them equal); trees too large
for a table (``MAX_SPLITS``) leave the model to LightGBM.
"""

from __future__ import annotations

import math
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import lightgbm as lgb

MAX_SPLITS = 10  # a table of 2^10 patterns per tree at most
TABLES_FROM = 64  # rows: fewer go to LightGBM (tables take some 0.5 s to build for 1,600 trees)
FEW_ROWS = 8  # rows explained one by one
ROWS_PER_STEP = 1024  # rows whose directions are worked out at once
ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at most this is "zero" for a missing zero
MISSING_ZERO, MISSING_NAN = "Zero", "NaN"

_tables: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


@dataclass
class Tables:
    """The model's split nodes, tree after tree, each tree padded to the widest
    (``widest`` splits; a padding split sends every row right), and each tree's table."""

    widest: int
    feature: np.ndarray  # (splits,) the feature a split compares
    threshold: np.ndarray  # its threshold (-inf: a categorical split or padding)
    rank: np.ndarray  # its threshold's rank among the feature's (``thresholds``); -1: never
    nan_left: np.ndarray  # where a NaN goes: its default way, or as zero where not expected
    zero_left: np.ndarray  # where a zero goes at a split treating zero as missing, else -1
    thresholds: dict[int, np.ndarray]  # feature: its numerical thresholds, sorted
    categories: dict[int, tuple[int, np.ndarray]]  # split: (where a NaN goes, codes sent left)
    offsets: np.ndarray  # (trees,) each tree's first row in ``values``
    values: np.ndarray  # (every tree's patterns, columns): a pattern's SHAP value per feature
    scatter: list[np.ndarray]  # per column: (features + 1, trees), where its value adds
    used: np.ndarray  # (trees, columns): the feature of each column (padding: the bias)
    bias: float  # the model's expected raw score


def contributions(booster: lgb.Booster, x: np.ndarray, num_threads: int = 1) -> np.ndarray | None:
    """``booster.predict(x, pred_contrib=True)`` (raw score, last column the bias), or None
    when its trees are too large for tables."""
    tables = _tables_of(booster)
    if tables is None:
        return None
    steps = range(0, len(x), ROWS_PER_STEP)

    def part(start: int) -> np.ndarray:
        return _rows(tables, np.asarray(x[start : start + ROWS_PER_STEP], np.float64))

    if len(steps) < 2:
        parts = list(map(part, steps))
    else:
        with ThreadPoolExecutor(num_threads) as pool:
            parts = list(pool.map(part, steps))
    return np.concatenate(parts) if parts else np.empty((0, len(tables.scatter[0])))


def build(booster: lgb.Booster) -> None:
    """Build ``booster``'s tables now (a server, before its first lodgement): from then on
    even a few rows are explained from them."""
    _tables_of(booster)


def built(booster: lgb.Booster) -> bool:
    return booster in _tables


def _rows(tables: Tables, x: np.ndarray) -> np.ndarray:
    few = len(x) <= FEW_ROWS
    left = _left(tables, x, few).reshape(-1, tables.widest, len(x))  # (trees, splits, rows)
    weights = (1 << np.arange(tables.widest)).astype(np.uint16)
    at = tables.offsets[:, None] + np.einsum("tsr,s->tr", left.astype(np.uint16), weights)
    if few:  # adding each value where it goes costs less than the products
        found = tables.values[at]  # (trees, rows, columns)
        width, where = len(tables.scatter[0]), tables.used.ravel()
        phi = np.stack([np.bincount(where, found[:, r].ravel(), width) for r in range(len(x))], 1)
    else:
        phi = sum(where @ tables.values[:, m].take(at) for m, where in enumerate(tables.scatter))
    phi[-1] = tables.bias
    return phi.T


def _left(tables: Tables, x: np.ndarray, few: bool) -> np.ndarray:
    """Whether each row goes left at each split (splits, rows), as LightGBM decides: a
    number at most the threshold goes left; a missing value (NaN, or a zero where the split
    says so) its split's default way; a NaN where none was seen in training counts as zero.
    Many rows are compared through each value's rank among its feature's thresholds (less
    to read than the values), a few directly."""
    if few:
        with np.errstate(invalid="ignore"):
            left = x.T[tables.feature] <= tables.threshold[:, None]
    else:
        rank = np.full((x.shape[1], len(x)), np.iinfo(np.int32).max, np.int32)
        for feature, thresholds in tables.thresholds.items():
            rank[feature] = np.searchsorted(thresholds, x[:, feature])
        left = rank[tables.feature] <= tables.rank[:, None]
    nan = np.isnan(x.T)
    if nan.any():
        at_nan = nan[tables.feature]
        left = np.where(at_nan, tables.nan_left[:, None], left)
    if (tables.zero_left >= 0).any():
        at_zero = (np.abs(x.T) <= ZERO)[tables.feature] & (tables.zero_left >= 0)[:, None]
        left = np.where(at_zero, tables.zero_left[:, None] == 1, left)
    for split, (nan_goes_left, codes) in tables.categories.items():
        value = x[:, tables.feature[split]]
        code = np.nan_to_num(value, nan=0.0).astype(np.int64)  # truncated, as C++ does
        left[split] = np.isin(code, codes) & (code >= 0)
        left[split, np.isnan(value)] = nan_goes_left
    return left


def _tables_of(booster: lgb.Booster) -> Tables | None:
    with _lock:
        if booster not in _tables:
            _tables[booster] = _build(booster.dump_model())
        return _tables[booster]


def _build(dumped: dict) -> Tables | None:
    n_features = dumped["max_feature_idx"] + 1
    trees, bias = [], 0.0
    for info in dumped["tree_info"]:
        root = info["tree_structure"]
        splits = _splits(root)
        if len(splits) > MAX_SPLITS:
            return None
        if splits:
            trees.append((splits, *_table(root, splits)))
        else:
            bias += root["leaf_value"]
    widest = max((len(t[0]) for t in trees), default=1)
    nodes = [(t, j, node) for t, (splits, *_) in enumerate(trees) for j, node in enumerate(splits)]
    numerical = [n for *_, n in nodes if n["decision_type"] != "=="]
    thresholds = {
        f: np.unique([float(n["threshold"]) for n in numerical if n["split_feature"] == f])
        for f in {n["split_feature"] for n in numerical}
    }
    size = len(trees) * widest
    feature, rank = np.zeros(size, np.int64), np.full(size, -1, np.int64)
    threshold = np.full(size, -np.inf)
    nan_left, zero_left = np.zeros(size, bool), np.full(size, -1, np.int8)
    categories = {}
    for t, j, node in nodes:
        at, f = t * widest + j, node["split_feature"]
        feature[at] = f
        default, missing = bool(node["default_left"]), node["missing_type"]
        if node["decision_type"] == "==":
            codes = np.array([int(c) for c in str(node["threshold"]).split("||")], np.int64)
            categories[at] = (missing != MISSING_NAN and 0 in codes, codes)
            continue
        threshold[at] = float(node["threshold"])
        rank[at] = np.searchsorted(thresholds[f], threshold[at])
        nan_left[at] = default if missing in (MISSING_NAN, MISSING_ZERO) else threshold[at] >= 0
        if missing == MISSING_ZERO:
            zero_left[at] = default
    used_widest = max((len(used) for _, used, *_ in trees), default=1)
    sizes = [len(table) for *_, table, _ in trees]
    offsets = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
    values = np.zeros((sum(sizes), used_widest))
    scatter = [np.zeros((n_features + 1, len(trees))) for _ in range(used_widest)]
    used_of = np.full((len(trees), used_widest), n_features, np.int64)
    for t, (_, used, table, expected) in enumerate(trees):
        for m, f in enumerate(used):
            values[offsets[t] : offsets[t] + len(table), m] = table[:, m]
            scatter[m][f, t] = 1.0
            used_of[t, m] = f
        bias += expected
    return Tables(widest, feature, threshold, rank, nan_left, zero_left, thresholds,
                  categories, offsets, values, scatter, used_of, bias)  # fmt: skip


def _splits(root: dict) -> list[dict]:
    """The tree's split nodes, depth first, each with its index."""
    found = []

    def walk(node: dict) -> None:
        if "split_index" in node:
            node["_at"] = len(found)
            found.append(node)
            walk(node["left_child"])
            walk(node["right_child"])

    walk(root)
    return found


def _table(root: dict, splits: list[dict]) -> tuple[list[int], np.ndarray, float]:
    """The features a tree uses, its SHAP values per pattern of directions (patterns, used)
    and its expected value. E[f | x_S] follows the row at a node whose feature is in S and
    weighs both branches by their counts elsewhere (path-dependent TreeSHAP)."""
    used = sorted({n["split_feature"] for n in splits})
    column = {f: m for m, f in enumerate(used)}
    patterns, subsets = 1 << len(splits), 1 << len(used)
    pattern_bits = (np.arange(patterns)[:, None] >> np.arange(len(splits))) & 1  # 1: left
    subset_bits = (np.arange(subsets)[:, None] >> np.arange(len(used))) & 1
    expected = np.zeros((patterns, subsets))

    def walk(node: dict, weight: np.ndarray) -> None:
        if "split_index" not in node:
            expected[:] += weight * node["leaf_value"]
            return
        known = subset_bits[:, column[node["split_feature"]]].astype(bool)[None, :]
        goes_left = pattern_bits[:, node["_at"]].astype(bool)[:, None]
        count = node["internal_count"]
        for child, is_left in ((node["left_child"], True), (node["right_child"], False)):
            share = _count(child) / count if count else 0.5
            followed = goes_left == is_left
            walk(child, weight * np.where(known, followed, share))

    walk(root, np.ones((patterns, subsets)))
    size = subset_bits.sum(axis=1)
    m = len(used)
    weight = np.array(
        [math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)]
    )
    shapley = np.where(
        subset_bits,
        weight[np.maximum(size - 1, 0)][:, None],
        -weight[np.minimum(size, m - 1)][:, None],
    )
    return used, expected @ shapley, float(expected[0, 0])


def _count(node: dict) -> float:
    return node["internal_count"] if "split_index" in node else node["leaf_count"]
