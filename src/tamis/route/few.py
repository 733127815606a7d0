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
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from tamis.channels import CHANNELS, RANK
from tamis.reasons import reason
from tamis.route import RandomSelection, RoutingConfig, secure_draws
from tamis.route.capacity import (
    CONTROLLED,
    INSPECTED,
    Capacity,
    allowed,
    pick_chance,
    places_left,
    priority,
    selection_chance,
)
from tamis.route.combiner import hit_rules

NO_SIGNAL = {"score": None, "reasons": None, "revenue_at_stake": None, "forced_channel": None}


@dataclass(frozen=True)
class DaySoFar:
    """An office's day before these declarations, for capacity at lodgement: how many were
    decided, how many went to each channel, how many the day is expected to hold (from past
    days) and, per channel, the priority (``capacity.priority``) a declaration must reach
    to take a place in it (the share of past days' priorities that channel's budget holds):
    the budget is spent as the day goes, not on its first declarations."""

    decided: int = 0
    used: dict[str, int] = field(default_factory=dict)
    expected: int = 0
    bars: dict[str, float] = field(default_factory=dict)


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
        drawn = RANK[config.random.channel] if row["random_selected"] else -1
        row["__imposed"] = max(row["__forced"], drawn)
        row["__random_reason"] = _random_reason(row, h) if row["random_selected"] else None
    capped = _capped(rows, header, config.capacity, earlier or {})
    decided = []
    for row, h, score_rank in zip(rows, header, capped, strict=True):
        channel = CHANNELS[max(score_rank, row.pop("__imposed"))]
        wanted = row.pop("score_channel")
        row["channel"] = channel
        is_held = RANK[channel] < RANK[wanted]
        reason = _capacity_reason(channel, wanted, h, config.capacity) if is_held else None
        extra = (row.pop("__random_reason"), reason)
        if any(e is not None for e in extra):
            row["reasons"] = [r for r in (*row["reasons"], *extra) if r is not None]
        firm, explored = _forced_kinds(signals, h["declaration_id"])
        by_choice = max(score_rank, firm) >= RANK[INSPECTED[0]]
        row["selection_chance"] = selection_chance(
            channel, by_choice, row["random_rate"], config.random.channel, explored
        )
        del row["__forced"]
        decided.append(row | {"capacity_held": is_held})
    return decided


def _forced_kinds(signals: dict[str, dict[str, dict]], declaration_id: str) -> tuple[int, float]:
    """The highest channel a profile forced (rank, -1: none) and the chance of the likeliest
    exploratory pick sending the declaration to inspection (0: none)."""
    firm, explored = -1, 0.0
    for by_id in signals.values():
        signal = by_id.get(declaration_id)
        if signal is None or signal["forced_channel"] is None:
            continue
        chance = pick_chance(signal["reasons"])
        if chance is None:
            firm = max(firm, RANK.get(signal["forced_channel"], 0))
        elif signal["forced_channel"] in INSPECTED:
            explored = max(explored, chance)
    return firm, explored


def _decide(header: dict, signals: dict[str, dict], config: RoutingConfig) -> dict:
    reasons, revenues, forced, structs = [], [], [-1], {}
    for name, signal in signals.items():
        score = 0.0 if signal["score"] is None else signal["score"]
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
    score = _risk(structs, config)
    return {
        "declaration_id": header["declaration_id"],
        "score": score,
        "reasons": reasons,
        "revenue_at_stake": max(revenues) if revenues else None,
        "forced_channel": CHANNELS[max(forced)] if max(forced) >= 0 else None,
        "__forced": max(forced),
        "signals": json.dumps(structs, ensure_ascii=False, separators=(",", ":")),
        "random_rate": _random_rate(config.random, header),
        "score_channel": _lead_capped(score, structs, config),
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


def _risk(structs: dict[str, dict], config: RoutingConfig) -> float:
    """``route._risk`` of one declaration's detectors (``structs``)."""
    logs, combiner = [], config.combiner
    scores = {name: s["score"] for name, s in structs.items()}
    revenues = [
        s["revenue_at_stake"] for s in structs.values() if s["revenue_at_stake"] is not None
    ]
    revenue = max(revenues) if revenues else None
    if combiner is not None:
        said = (r for s in structs.values() for r in s["reasons"] or ())
        hits = hit_rules(said) if combiner.rules else set()
        logs.append(combiner.log_not_fraud_of(scores, revenue, hits))
    for name, score in scores.items():
        if combiner is None or name not in combiner.terms:
            logs.append(_ln(1 - config.weight(name) * score))
    return _round(min(max(1 - math.exp(sum(logs)), 0.0), 1.0), 6) if logs else 0.0


def _lead_capped(score: float, structs: dict, config: RoutingConfig) -> str:
    """``route._lead_capped`` of one declaration."""
    channel = _score_channel(score, config.floors)
    cap = config.lead_cap(tuple(structs))
    if cap is None or RANK[channel] <= RANK[cap]:
        return channel
    others = {n: s for n, s in structs.items() if n not in config.leads}
    without = _score_channel(_risk(others, config), config.floors)
    return max(cap, without, key=RANK.__getitem__)


def _random_reason(row: dict, header: dict) -> str | None:
    if header["office"] is None:
        return None
    draw, rate = _round(row["random_draw"], 4), float(row["random_rate"])
    return reason("route.random", draw=draw, rate=rate, office=header["office"])


def _capped(
    rows: list[dict], header: list[dict], capacity: Capacity, earlier: dict[tuple, DaySoFar]
) -> list[int]:
    """Per row, the rank of the channel its score gets within capacity (``route``'s
    ``_apply_capacity``): per office and day, each capped channel, the costliest first, to
    the highest-ranked of those whose score asks for it or more, up to what its budget has
    left after the imposed channels and, at lodgement, the day so far."""
    wanted = [RANK[row["score_channel"]] for row in rows]
    if not capacity.capped:
        return wanted
    capped: list[int | None] = [None] * len(rows)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, h in enumerate(header):
        groups[(h["office"], capacity.period_of(h["lodged_at"].date()))].append(i)
    for (office, day), members in groups.items():
        before = earlier.get((office, day), DaySoFar())
        declarations = max(before.decided + len(members), before.expected)
        first = {i: _priority(rows[i], capacity) for i in members}
        # equal priorities: the first lodged goes first, as in ``route``
        ranked = sorted(
            members,
            key=lambda i: (-first[i], header[i]["lodged_at"], header[i]["declaration_id"]),
        )
        caps = {c: allowed(capacity, office, day, c, declarations) for c in CONTROLLED}
        taken = {c: sum(rows[i]["__imposed"] == RANK[c] for i in members)
                 + before.used.get(c, 0) for c in CONTROLLED}  # fmt: skip
        places = places_left(caps, taken)
        for channel in CONTROLLED:
            c, left = RANK[channel], places[channel]
            bar = before.bars.get(channel, -math.inf)
            eligible = [
                i for i in ranked
                if wanted[i] >= c and rows[i]["__imposed"] < c and capped[i] is None
                and first[i] >= bar
            ]  # fmt: skip
            for place, i in enumerate(eligible, start=1):
                if left is None or place <= left:
                    capped[i] = c
    return [min(w, RANK["blue"]) if c is None else c for w, c in zip(wanted, capped, strict=True)]


def _priority(row: dict, capacity: Capacity) -> float:
    return priority(capacity.rank_by, row["score"], max(row["revenue_at_stake"] or 0.0, 0.0))


def _capacity_reason(channel: str, wanted: str, header: dict, capacity: Capacity):
    if header["office"] is None:
        return None
    period = {capacity.period: capacity.period_of(header["lodged_at"].date()).isoformat()}
    return reason("route.capacity.held", to=channel, wanted=wanted, office=header["office"],
                  **period)  # fmt: skip
