"""Routing (``tamis.route``) for a few declarations, one lodged, in plain Python.

Polars pays a fixed cost per expression and per query whatever the number of rows:
``route`` takes milliseconds for one declaration, this a fraction of one. It gives the
rows ``route`` gives, value for value (the signals as the same JSON object), and a property
test holds the two together: a change to one is a change to both.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np

from tamis.channels import CHANNELS, RANK
from tamis.reasons import reason
from tamis.route import Capacity, RandomSelection, RoutingConfig, secure_draws

NO_SIGNAL = {"score": None, "reasons": None, "revenue_at_stake": None, "forced_channel": None}


@dataclass(frozen=True)
class DaySoFar:
    """An office's day before these declarations: how many were decided, how many went red
    imposed (forced or at random) and how many red by score. Capacity counts them as if
    they were in the batch, the reds by score already kept."""

    decided: int = 0
    imposed: int = 0
    by_score: int = 0


def route_few(
    header: list[dict],
    signals: dict[str, dict[str, dict]],
    config: RoutingConfig,
    draws: np.ndarray | None = None,
    earlier: dict[tuple[str, date], DaySoFar] | None = None,
) -> list[dict]:
    """``route`` for ``header`` (one dict per declaration: declaration_id, office,
    procedure, lodged_at) and each detector's signals by declaration id; ``earlier``, by
    office and day, what capacity has already counted."""
    draws = secure_draws(len(header)) if draws is None else draws
    rows = [
        _decide(h, {n: s.get(h["declaration_id"], NO_SIGNAL) for n, s in signals.items()}, config)
        | {"random_draw": float(draw)}
        for h, draw in zip(header, draws, strict=True)
    ]
    for row, h in zip(rows, header, strict=True):
        row["random_selected"] = row["random_draw"] < row["random_rate"]
        row["channel"] = CHANNELS[
            max(
                RANK[row.pop("score_channel")],
                row["__forced"],
                RANK[config.random.channel] if row["random_selected"] else 0,
            )
        ]
        row["__random_reason"] = _random_reason(row, h) if row["random_selected"] else None
    held = _held_by_capacity(rows, header, config.capacity, earlier or {})
    decided = []
    for row, h, is_held in zip(rows, header, held, strict=True):
        reason = None
        if is_held:
            row["channel"] = "orange"
            reason = _capacity_reason(config.capacity, h)
        extra = (row.pop("__random_reason"), reason)
        if any(e is not None for e in extra):
            row["reasons"] = [r for r in (*row["reasons"], *extra) if r is not None]
        del row["__forced"]
        decided.append(row | {"capacity_held": is_held})
    return decided


def _decide(header: dict, signals: dict[str, dict], config: RoutingConfig) -> dict:
    logs, reasons, revenues, forced, structs = [], [], [], [-1], {}
    for name, signal in signals.items():
        score = 0.0 if signal["score"] is None else signal["score"]
        logs.append(_ln(1 - config.weight(name) * score))
        reasons += signal["reasons"] or []
        if signal["revenue_at_stake"] is not None:
            revenues.append(signal["revenue_at_stake"])
        if signal["forced_channel"] is not None:
            forced.append(RANK.get(signal["forced_channel"], 0))
        structs[name] = {
            "score": score,
            "reasons": signal["reasons"],
            "revenue_at_stake": signal["revenue_at_stake"],
            "forced_channel": signal["forced_channel"],
        }
    score = _round(min(max(1 - math.exp(sum(logs)), 0.0), 1.0), 6) if logs else 0.0
    return {
        "declaration_id": header["declaration_id"],
        "score": score,
        "reasons": reasons,
        "revenue_at_stake": max(revenues) if revenues else None,
        "forced_channel": CHANNELS[max(forced)] if max(forced) >= 0 else None,
        "__forced": max(forced),
        "signals": json.dumps(structs, ensure_ascii=False, separators=(",", ":")),
        "random_rate": _random_rate(config.random, header),
        "score_channel": _score_channel(score, config.thresholds),
    }


def _ln(x: float) -> float:
    """The natural logarithm as Polars takes it: −inf at 0, NaN below."""
    if x > 0 or math.isnan(x):
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _round(value: float, decimals: int) -> float:
    """Polars' ``round`` of a float: half to even, on value × 10^decimals."""
    multiplier = 10.0**decimals
    scaled = value * multiplier
    if not math.isfinite(scaled):
        return value
    rounded = round(scaled) / multiplier
    return rounded if math.isfinite(rounded) else value


def _random_rate(config: RandomSelection, header: dict) -> float:
    rate = config.rate
    specific = sorted(
        config.rates, key=lambda r: (r.office is not None) + (r.procedure is not None)
    )
    for r in specific:  # later (more specific) entries override earlier ones
        office_ok = r.office is None or header["office"] == r.office
        if office_ok and (r.procedure is None or header["procedure"] == r.procedure):
            rate = r.rate
    return rate


def _score_channel(score: float, thresholds: dict[str, float]) -> str:
    channel = "green"
    for name in CHANNELS[1:]:
        if name in thresholds and score >= thresholds[name]:
            channel = name
    return channel


def _random_reason(row: dict, header: dict) -> str | None:
    if header["office"] is None:
        return None
    draw, rate = _round(row["random_draw"], 4), float(row["random_rate"])
    return reason("route.random", draw=draw, rate=rate, office=header["office"])


def _held_by_capacity(
    rows: list[dict], header: list[dict], capacity: Capacity, earlier: dict[tuple, DaySoFar]
) -> list[bool]:
    """Per row, whether capacity holds its red back: per office and day, the highest-ranked
    reds by score up to the share, after the forced and random reds."""
    held = [False] * len(rows)
    if capacity.red_share is None:
        return held
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, h in enumerate(header):
        groups[(h["office"], h["lodged_at"].date())].append(i)
    for day, members in groups.items():
        before = earlier.get(day, DaySoFar())
        red = [i for i in members if rows[i]["channel"] == "red"]
        imposed = [
            i for i in red if rows[i]["forced_channel"] == "red" or rows[i]["random_selected"]
        ]
        allowed = (
            math.floor((before.decided + len(members)) * capacity.red_share)
            - before.imposed
            - len(imposed)
            - before.by_score
        )
        by_score = [i for i in red if i not in imposed]
        ranked = sorted(by_score, key=lambda i: -_priority(rows[i], capacity))  # ties: in order
        for place, i in enumerate(ranked, start=1):
            held[i] = place > allowed
    return held


def _priority(row: dict, capacity: Capacity) -> float:
    if capacity.rank_by == "expected_revenue":
        return row["score"] * (row["revenue_at_stake"] or 0.0)
    return row["score"]


def _capacity_reason(capacity: Capacity, header: dict) -> str | None:
    if header["office"] is None:
        return None
    percent, day = round(capacity.red_share * 100, 2), header["lodged_at"].date().isoformat()
    return reason("route.capacity", percent=percent, office=header["office"], day=day)
