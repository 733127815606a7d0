"""Synthetic transit: movements of given holders along Moroccan corridors, as the messages
each side would send and the positions their seals report, with planted frauds whose truth
is kept beside them.

Frauds planted (``FRAUDS``): the goods never arrive (diverted to the local market: the seal
leaves the road and stops reporting), arrive late, arrive short of mass, arrive at another
office than declared, leave the road for a while, stop for hours in the open, or have their
seal opened on the way. The rest arrive whole and on time. ``load`` registers each
holder's guarantee, sends every message through the same ``receive`` as the API, then runs
the scheduler's round as of ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from sqlalchemy import Engine

from tamis.transit.corridor import Corridor
from tamis.transit.corridors import network
from tamis.transit.movements import receive, register_guarantee
from tamis.transit.overdue import check_overdue

# (departure, destination, destination country, days allowed): inland and across a border
CORRIDORS = (
    ("TANGER-MED", "CASA-PORT", "MA", 3),
    ("CASA-PORT", "FES-INLAND", "MA", 4),
    ("TANGER-MED", "MARRAKECH-INLAND", "MA", 5),
    ("CASA-PORT", "DZ-MAGHNIA", "DZ", 6),
)
GOODS = (
    ("640399", "leather shoes", 80_000),
    ("851713", "smartphones", 250_000),
    ("610910", "cotton T-shirts", 40_000),
    ("300490", "medicines", 60_000),
)
FRAUDS = (
    "never_arrives",
    "late",
    "mass_short",
    "other_office",
    "off_route",
    "long_stop",
    "seal_opened",
)
ALERTS_OF = {  # the alerts each planted fraud must raise (diverted goods stop, then leave)
    "never_arrives": {"overdue", "enquiry", "off_route", "long_stop"},
    "late": {"late"},
    "mass_short": {"mass_short"},
    "other_office": {"other_office"},
    "off_route": {"off_route"},
    "long_stop": {"long_stop"},
    "seal_opened": {"seal_opened"},
    None: set(),
}
FIX_EVERY = timedelta(minutes=15)  # a seal's report interval
DETOUR_KM, STOP_HOURS = 25.0, 4.0


@dataclass(frozen=True)
class Planted:
    lrn: str
    holder: str
    fraud: str | None


def messages(
    holders: list[str],
    n: int,
    start: datetime,
    days: int,
    seed: int,
    fraud_rate: float = 0.1,
    risky: set[str] | None = None,
) -> tuple[list[list[dict]], list[Planted]]:
    """``n`` movements over ``days`` days from ``start``, of ``holders`` (``risky`` ones
    commit the frauds, at five times ``fraud_rate``): per movement, its messages in the
    order they are sent (the MRN to fill in from the IE015's answer), and what was planted."""
    rng = np.random.default_rng(seed)
    risky = risky or set()
    movements, planted = [], []
    for i in range(n):
        holder = holders[int(rng.integers(len(holders)))]
        departure, destination, country, allowed = CORRIDORS[int(rng.integers(len(CORRIDORS)))]
        hs, description, duty_per_tonne = GOODS[int(rng.integers(len(GOODS)))]
        mass = float(np.round(rng.uniform(500, 20_000), 1))
        rate = min(1.0, fraud_rate * (5 if holder in risky else 0.5))
        fraud = FRAUDS[int(rng.integers(len(FRAUDS)))] if rng.random() < rate else None
        released = start + timedelta(days=float(rng.uniform(0, days)))
        lrn = f"LRN-{seed}-{i:06d}"
        sent = [
            {
                "type": "IE015",
                "sender": holder,
                "message_id": lrn,
                "lrn": lrn,
                "holder": holder,
                "departure_office": departure,
                "destination_office": destination,
                "destination_country": country,
                "guarantee": f"G-{holder}",
                "seals": [f"SEAL-{seed}-{i:06d}"],
                "transit_days": allowed,
                "goods": [
                    {
                        "hs_code": hs,
                        "description": description,
                        "gross_mass_kg": mass,
                        "duties_minor": int(duty_per_tonne * mass / 1000) * 100,
                    }
                ],
            },
            {
                "type": "IE029",
                "sender": departure,
                "message_id": f"{lrn}-29",
                "released_at": released.isoformat(),
            },
        ]
        if fraud != "never_arrives":
            hours = rng.uniform(6, 24 * allowed - 6)
            if fraud == "late":
                hours = 24 * allowed + rng.uniform(24, 96)
            arrived = released + timedelta(hours=float(hours))
            office = f"{destination}-ANNEX" if fraud == "other_office" else destination
            kept = mass * (
                rng.uniform(0.6, 0.9) if fraud == "mass_short" else rng.uniform(0.995, 1)
            )
            sent += [
                {
                    "type": "IE006",
                    "sender": office,
                    "message_id": f"{lrn}-06",
                    "arrived_at": arrived.isoformat(),
                    "office": office,
                },
                {
                    "type": "IE018",
                    "sender": office,
                    "message_id": f"{lrn}-18",
                    "result": "A1",
                    "arrival_mass_kg": round(float(kept), 1),
                },
            ]
        movements.append(sent)
        planted.append(Planted(lrn, holder, fraud))
    return movements, planted


def load(engine: Engine, movements: list[list[dict]], now: datetime) -> dict[str, str]:
    """Send ``movements``' messages (guarantees registered for their holders first), then
    run the scheduler's round as of ``now``: the MRN of each LRN."""
    holders = {sent[0]["holder"] for sent in movements}
    for holder in sorted(holders):
        register_guarantee(engine, f"G-{holder}", holder, 10**12, "MAD", actor="synthetic")
    mrns = {}
    for sent in movements:
        first = receive(engine, sent[0], actor="synthetic")
        mrns[sent[0]["lrn"]] = first.mrn
        for later in sent[1:]:
            receive(engine, later | {"mrn": first.mrn}, actor="synthetic")
    check_overdue(engine, now)
    return mrns


def positions(
    movements: list[list[dict]], mrns: dict[str, str], planted: list[Planted], seed: int
) -> list[dict]:
    """Every 15 minutes from release to arrival (or, for goods that never arrive, until
    they leave the road), each movement's seal position along its corridor, with the
    planted excursions, stops and openings (as the seals' file holds them)."""
    rng = np.random.default_rng(seed + 1)
    roads = network()
    fixes = []
    for sent, truth in zip(movements, planted, strict=True):
        declared = sent[0]
        road = roads.between(declared["departure_office"], declared["destination_office"])
        if road is None:
            continue
        released = datetime.fromisoformat(sent[1]["released_at"])
        arrival = next((m for m in sent if m["type"] == "IE006"), None)
        if arrival is None:
            ends = released + timedelta(hours=float(rng.uniform(10, 30)))
        else:
            ends = datetime.fromisoformat(arrival["arrived_at"])
        seal = {"mrn": mrns[declared["lrn"]], "seal_id": declared["seals"][0]}
        fixes += [f | seal for f in _journey(road, released, ends, truth.fraud, rng)]
    schema = {
        "mrn": pl.String,
        "seal_id": pl.String,
        "at": pl.Datetime("us"),
        "lon": pl.Float64,
        "lat": pl.Float64,
        "event": pl.String,
    }
    return pl.DataFrame(fixes, schema=schema).select(list(schema))


def _journey(road: Corridor, start: datetime, end: datetime, fraud: str | None, rng) -> list[dict]:
    path = np.asarray(road.path)
    steps = np.r_[0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))]
    times = np.arange(start, end, FIX_EVERY).astype(datetime)
    share = np.linspace(0, 1, len(times))
    if fraud == "never_arrives":
        share = np.minimum(share * 2, 0.5)  # halfway, then off the road (below)
    where = np.c_[
        np.interp(share * steps[-1], steps, path[:, 0]),
        np.interp(share * steps[-1], steps, path[:, 1]),
    ]
    where += rng.normal(0, 0.0002, where.shape)  # some 20 m of GPS noise
    events: list[str | None] = [None] * len(times)
    middle = len(times) // 2
    if fraud in ("off_route", "never_arrives") and len(times) > 8:
        later = slice(middle, middle + 4) if fraud == "off_route" else slice(middle, None)
        where[later, 1] += DETOUR_KM / 111.0  # north of the road
    if fraud == "long_stop" and len(times) > 8:
        fixes = int(STOP_HOURS * 3600 / FIX_EVERY.total_seconds())
        held = slice(middle, min(middle + fixes, len(times)))
        where[held] = where[middle] + rng.normal(0, 0.00005, (held.stop - held.start, 2))
    if fraud == "seal_opened" and len(times) > 8:
        events[middle] = "opened"
    return [
        {"at": t, "lon": round(float(x), 6), "lat": round(float(y), 6), "event": e}
        for t, (x, y), e in zip(times, where, events, strict=True)
    ]
