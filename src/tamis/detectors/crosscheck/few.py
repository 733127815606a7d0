"""The cross-checks on a few items (one lodged declaration), in plain Python.

A cross-check's findings about importers (payments settling nothing) are known once
fitted: each is said once, by the batch path's own expressions, for every importer at first
use, and a lodgement looks its importer up. What a lodged declaration's own fields decide (a
bill's mass against the declared gross mass, the goods a bill names, whether it may declare
the goods of its importer's bills never cleared) is computed for it. A test holds the plain
and the batch paths together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from tamis.reasons import reason


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


def quarter(moment: datetime | None) -> datetime | None:
    """``Expr.dt.truncate("1q")``: the quarter's first day, at midnight."""
    if moment is None:
        return None
    return datetime(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1)


def rounded(x: float | None, decimals: int = 0) -> float | None:
    """``Expr.round(decimals)`` (ties to even on ``x`` times the power of ten); an integer
    for 0 decimals, as the batch path's ``.round(0).cast(pl.Int64)``."""
    if x is None or not math.isfinite(x):
        return x
    if decimals == 0:
        return round(x)
    scale = 10.0**decimals
    return round(x * scale) / scale


def declared_totals(items: list[dict]) -> dict[str, dict]:
    """``crosscheck.declared_totals`` of a few items, by declaration id: the importer,
    lodgement, customs value, gross mass, duty, headings (a set) and burden."""
    totals: dict[str, dict] = {}
    for item in items:
        total = totals.get(item["declaration_id"])
        if total is None:
            total = totals[item["declaration_id"]] = {
                "importer_id": item["importer_id"],
                "lodged_at": item["lodged_at"],
                "customs_value": 0.0,
                "declared_gross_kg": 0.0,
                "duty": 0.0,
                "headings": set(),
                "_burdened": 0.0,
            }
        value = item["customs_value"]
        if value is not None:
            value = float(value)
            total["customs_value"] += value
            duty, vat = item["duty_rate"] or 0, item["vat_rate"] or 0
            total["_burdened"] += ((1 + duty / 100) * (1 + vat / 100) - 1) * value
        if item["gross_mass_kg"] is not None:
            total["declared_gross_kg"] += item["gross_mass_kg"]
        total["duty"] += float(item["duty_amount"] or 0)
        hs = item["hs_code"]
        total["headings"].add(None if hs is None else hs[:4])
    for total in totals.values():
        burdened, value = total.pop("_burdened"), total["customs_value"]
        total["burden"] = burdened / value if value else (0.0 if burdened == 0 else None)
    return totals


def manifest_gaps(
    bills: list[tuple], total: dict, tolerance: float, min_heading_probability: float
) -> list[tuple] | None:
    """``ManifestDetector.gaps`` of one declaration (its totals) and the bills it clears
    (bill number, gross mass, goods description, heading, heading probability): each a
    (score, reason, revenue at stake); None when plain Python cannot promise the batch
    path's figures (a mass missing or not positive, a burden not finite)."""
    declared, burden = total["declared_gross_kg"], total["burden"]
    weight, goods = [], []
    for bill, mass, description, heading, p in bills:
        if mass is None or not (mass > 0 and declared > 0) or burden is None:
            return None
        gap = abs(mass - declared) / max(mass, declared)
        if gap > tolerance:
            said = reason(
                "manifest.mass",
                bill=bill,
                manifest_kg=rounded(mass),
                declared_kg=rounded(declared),
                apart=rounded(gap * 100),
            )
            at_stake = max(mass / declared - 1, 0.0) * total["customs_value"] * burden
            weight.append((min(max(0.5 + gap, 0.0), 1.0), said, at_stake))
        if p >= min_heading_probability and heading not in total["headings"]:
            if None in total["headings"]:
                return None
            declared_headings = sorted(total["headings"])
            said = reason(
                "manifest.goods",
                bill=bill,
                description=description,
                heading=heading,
                declared=declared_headings,
            )
            goods.append((0.8, said, None))
    return weight + goods


def manifest_uncleared(bills: list[tuple], total: dict, window: timedelta) -> list[tuple]:
    """``ManifestDetector.uncleared`` of one declaration (its totals) and its importer's
    overdue bills never cleared (heading, arrival date, bill number): a (score, reason,
    revenue at stake) when it is lodged within ``window`` of a bill's arrival with an item
    under the bill's heading."""
    if not bills or total["lodged_at"] is None:
        return []
    lodged = total["lodged_at"].date()
    concerned = [
        (bill, heading)
        for heading, arrival, bill in bills
        if heading in total["headings"] and arrival <= lodged <= arrival + window
    ]
    if not concerned:
        return []
    said = reason(
        "manifest.uncleared",
        n=len(concerned),
        bills=sorted(bill for bill, _ in concerned)[:3],
        heading=sorted({heading for _, heading in concerned}),
    )
    return [(0.6, said, None)]
