"""Drift: population stability index (PSI) of main features and of the score.

PSI = Σ (a − e)·ln(a / e) over bins cut at the deciles of the expected (training window)
values; above ``THRESHOLD`` the recent population has moved enough to retrain.
"""

from __future__ import annotations

import numpy as np
import polars as pl

THRESHOLD = 0.2
MAIN_FEATURES = [
    "log_value", "log_mass", "log_unit", "duty_rate_pct", "uv_ratio_hs6",
    "te_importer_id", "te_hs6", "te_hs6|origin_country|export_country|preference_code",
]  # fmt: skip


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    """PSI of ``actual`` against ``expected`` (nulls and NaN are a bin of their own)."""
    expected, actual = np.asarray(expected, float), np.asarray(actual, float)
    edges = np.unique(np.nanquantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))

    def shares(values: np.ndarray) -> np.ndarray:
        known = values[~np.isnan(values)]
        counts = np.bincount(np.searchsorted(edges, known, side="right"), minlength=len(edges) + 1)
        counts = np.append(counts, np.isnan(values).sum())
        return np.clip(counts / max(len(values), 1), eps, None)

    e, a = shares(expected), shares(actual)
    return float(((a - e) * np.log(a / e)).sum())


def drift_report(
    reference: pl.DataFrame, recent: pl.DataFrame, columns: list[str] | None = None
) -> dict[str, float]:
    """PSI per column present in both frames (features and ``score``)."""
    columns = columns or [*MAIN_FEATURES, "score"]
    return {
        c: round(
            psi(reference[c].cast(pl.Float64).to_numpy(), recent[c].cast(pl.Float64).to_numpy()), 4
        )
        for c in columns
        if c in reference.columns and c in recent.columns
    }
