"""LightGBM trees compiled to machine code (lleaves, on LLVM) to score large batches.

LightGBM's own predict walks each row through its trees node by node; the same trees
compiled to native code score a batch about ten times faster. Compiling takes about a
second (100 trees of 7 leaves), once per booster and process, so a batch of fewer than
``COMPILE_FROM`` rows, as a declaration at lodgement, goes to LightGBM. The compiled trees
compare in double precision like LightGBM, so both give the same predictions up to the
last bit of the logistic function (held by a test).

A large model (an averaged ensemble has some 1,600 trees) takes tens of seconds to compile,
so the machine code is kept in ``TAMIS_CACHE_DIR`` (default: the user's cache folder), one
file per model text, LLVM and host processor: a later process loads it in a moment.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import lleaves
import numpy as np

from tamis.settings import settings

if TYPE_CHECKING:  # LightGBM is imported where a model is trained or read
    import lightgbm as lgb

COMPILE_FROM = 100_000  # rows: compiling costs what LightGBM takes on some 400,000
CHUNK = 65_536  # rows converted to float64 and scored per task

_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def predict(booster: lgb.Booster, x: np.ndarray, num_threads: int) -> np.ndarray:
    """``booster.predict(x)``: compiled for a large batch, by LightGBM for a small one."""
    if len(x) < COMPILE_FROM:
        return booster.predict(x, num_threads=num_threads)
    trees = _compile(booster)

    def part(start: int) -> np.ndarray:
        rows = np.asarray(x[start : start + CHUNK], np.float64, order="C")
        return trees.predict(rows, n_jobs=1)

    with ThreadPoolExecutor(num_threads) as pool:
        return np.concatenate(list(pool.map(part, range(0, len(x), CHUNK))))


def _compile(booster: lgb.Booster) -> lleaves.Model:
    with _lock:
        if booster not in _compiled:
            model = booster.model_to_string()
            with tempfile.NamedTemporaryFile("w", suffix=".txt") as text:
                text.write(model)
                text.flush()
                trees = lleaves.Model(text.name)
                cached = _cache_file(model)
                if cached.exists():
                    trees.compile(cache=str(cached))
                else:  # compiled beside, then put in place whole: never half a file
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    partial = cached.with_suffix(f".{os.getpid()}.part")
                    trees.compile(cache=str(partial))
                    os.replace(partial, cached)
            _compiled[booster] = trees
        return _compiled[booster]


def _cache_file(model: str) -> Path:
    """Where the machine code of ``model``'s trees is kept for this LLVM and processor."""
    import llvmlite.binding as llvm

    host = f"{llvm.get_host_cpu_name()} {llvm.get_host_cpu_features().flatten()}"
    key = "\n".join([model, version("lleaves"), repr(llvm.llvm_version_info), host])
    return Path(settings().cache_dir) / "compiled" / f"{hashlib.sha256(key.encode()).hexdigest()}.o"
