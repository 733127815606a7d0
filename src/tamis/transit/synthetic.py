"""Synthetic transit: movements of given holders along Moroccan corridors, as the messages
each side would send, with planted frauds whose truth is kept beside them.

Frauds planted (``FRAUDS``): the goods never arrive (diverted to the local market), arrive
late, arrive short of mass, or arrive at another office than declared. The rest arrive whole
and on time. ``load`` registers each holder's guarantee, sends every message through the
same ``receive`` as the API, then runs the scheduler's round as of ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine

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
FRAUDS = ("never_arrives", "late", "mass_short", "other_office")


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
