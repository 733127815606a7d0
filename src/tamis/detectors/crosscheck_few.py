"""The cross-checks on a few items (one lodged declaration), in plain Python.

A cross-check's findings about importers (bills never cleared, payments settling nothing)
are known once fitted: each is said once, by the batch path's own expressions, for every
importer at first use, and a lodgement looks its importer up. What a lodged declaration's
own fields decide (a bill's mass against the declared gross mass, the goods a bill names)
is computed for it. A test holds the plain and the batch paths together.
"""

from __future__ import annotations

from collections.abc import Iterable


def signals_plain(items: list[dict], found: Iterable[tuple]) -> dict[str, dict]:
    """``base.signals_for`` in plain Python: one signal per declaration of ``items`` from
    ``found`` (declaration_id, score, reason, revenue_at_stake), in the order found."""
    signals = {
        row["declaration_id"]: {
            "declaration_id": row["declaration_id"],
            "score": 0.0,
            "reasons": [],
            "revenue_at_stake": 0.0,
            "forced_channel": None,
        }
        for row in items
    }
    for declaration_id, score, said, revenue in found:
        signal = signals[declaration_id]
        score = 0.0 if score is None else min(max(score, 0.0), 1.0)
        signal["score"] = max(signal["score"], score)
        if said is not None and said not in signal["reasons"]:
            signal["reasons"].append(said)
        signal["revenue_at_stake"] += 0.0 if revenue is None else revenue
    return signals
