"""Electronic-seal positions of synthetic transit movements checked against their routes.

Movements run along three Moroccan corridors (Tanger Med → Casablanca port, Casablanca →
Fès inland, Casablanca → Oujda at the border): each seal reports a noisy fix every few
minutes while the truck waits at the departure terminal, drives (with authorised rests and
short pauses), arrives and waits at destination. A known set of anomalies is planted:
detours off the road, long stops in the open, seals opened before arrival, reports after
the movement was written off. The script runs ``check_positions`` and prints its speed
and, for each alert kind, precision and recall against what was planted.

    .venv/bin/python bench/transit.py [--positions 1000000] [--movements 1000] [--seed 0]
                                      [--flow-seeds 1,2,3] [--flow-movements 2000]

Then, for each of ``--flow-seeds``, the whole flow a user runs on a fresh SQLite store:
synthetic movements (``tamis.transit.synthetic``) sent as messages, the scheduler's round,
their seals' file ingested, and every kind of alert (overdue, enquiry, late, mass short,
other office, off route, long stop, seal opened) scored against what was planted.

Targets: precision and recall ≥ 0.95 for every kind; 1,000,000 positions checked in ≤ 20 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from tamis.transit.corridor import (
    ALERT_KINDS,
    MOVEMENTS_SCHEMA,
    POSITIONS_SCHEMA,
    Corridor,
    check_positions,
)

KM_PER_DEGREE = 6371.0088 * np.pi / 180
TANGER_MED, CASABLANCA_PORT = (-5.50, 35.89), (-7.61, 33.60)
RABAT, MEKNES, FES = (-6.84, 34.02), (-5.55, 33.89), (-5.00, 34.03)
# waypoints (lon, lat) and the authorised rest areas as shares of the way
ROUTES = {
    "tanger_med-casablanca": (
        (TANGER_MED, (-5.80, 35.76), (-6.15, 35.19), (-6.58, 34.26), RABAT, CASABLANCA_PORT),
        (0.55,),
    ),
    "casablanca-fes": (
        (CASABLANCA_PORT, (-7.38, 33.69), RABAT, (-6.07, 33.82), MEKNES, FES),
        (0.45,),
    ),
    "casablanca-oujda": (
        (CASABLANCA_PORT, RABAT, MEKNES, FES, (-4.01, 34.21), (-3.35, 34.23), (-1.91, 34.68)),
        (0.35, 0.7),
    ),
}
TERMINAL_KM, REST_AREA_KM = 2.0, 1.0  # radii of the authorised places
GPS_NOISE_KM = 0.015
MATCH_SLACK = timedelta(minutes=15)  # an alert this close to a planted anomaly finds it
ANOMALIES = {"off_route": 0.04, "long_stop": 0.04, "seal_opened": 0.03, "after_write_off": 0.03}
START = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Route:
    """A corridor drawn in km on its own plane, to walk along it."""

    corridor: Corridor
    rest_km: tuple[float, ...]
    lon0: float
    lat0: float
    x: np.ndarray  # waypoints
    y: np.ndarray
    along: np.ndarray  # km from departure at each waypoint

    @classmethod
    def of(cls, waypoints, rest_shares) -> Route:
        lon, lat = np.array(waypoints, dtype=float).T
        lon0, lat0 = float(lon.mean()), float(lat.mean())
        x, y = (lon - lon0) * np.cos(np.radians(lat0)) * KM_PER_DEGREE, (lat - lat0) * KM_PER_DEGREE
        along = np.concatenate(([0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))))
        route = cls(Corridor(tuple(waypoints)), (), lon0, lat0, x, y, along)
        rest_km = tuple(share * route.length for share in rest_shares)
        rest_lon, rest_lat = route.lonlat(np.array(rest_km), np.zeros(len(rest_km)))
        places = [(*waypoints[0], TERMINAL_KM), (*waypoints[-1], TERMINAL_KM)]
        places += [
            (lon_, lat_, REST_AREA_KM) for lon_, lat_ in zip(rest_lon, rest_lat, strict=True)
        ]
        corridor = Corridor(tuple(waypoints), stops=tuple(places))
        return replace(route, corridor=corridor, rest_km=rest_km)

    @property
    def length(self) -> float:
        return float(self.along[-1])

    def lonlat(self, along: np.ndarray, aside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points ``along`` km down the road and ``aside`` km to its left."""
        leg = np.clip(np.searchsorted(self.along, along, side="right") - 1, 0, len(self.x) - 2)
        dx, dy = np.diff(self.x)[leg], np.diff(self.y)[leg]
        norm = np.hypot(dx, dy)
        x = np.interp(along, self.along, self.x) - dy / norm * aside
        y = np.interp(along, self.along, self.y) + dx / norm * aside
        lon = self.lon0 + x / (np.cos(np.radians(self.lat0)) * KM_PER_DEGREE)
        return lon, self.lat0 + y / KM_PER_DEGREE


@dataclass(frozen=True)
class Synthetic:
    positions: pl.DataFrame
    movements: pl.DataFrame
    corridors: dict[str, Corridor]
    planted: pl.DataFrame  # mrn, kind, start, end
    now: datetime


def journey(route: Route, rng: np.random.Generator, anomaly: str | None):
    """The truck's way as knots (minute, km along, km aside) from the terminal to the
    destination, the minute it reaches it, and the planted anomaly's window in minutes."""
    speed = rng.uniform(55, 80) / 60  # km a minute
    incidents = []
    if rng.random() < 0.4:
        incidents.append((route.rest_km[rng.integers(len(route.rest_km))], "rest"))
    if rng.random() < 0.3:
        incidents.append((rng.uniform(0.1, 0.9) * route.length, "pause"))
    if anomaly in ("off_route", "long_stop"):
        while True:  # in the open: away from the rest areas and the terminals
            at = rng.uniform(0.2, 0.8) * route.length
            if all(abs(at - rest) > 5 for rest in route.rest_km):
                break
        incidents.append((at, anomaly))
    minute = rng.uniform(30, 240)  # waiting at the departure terminal
    knots, done, window = [(0.0, 0.0, 0.0), (minute, 0.0, 0.0)], 0.0, None
    for along, kind in sorted(incidents):
        minute += (along - done) / speed
        knots.append((minute, along, 0.0))
        if kind == "off_route":
            depth, side = rng.uniform(12, 30), rng.choice([-1, 1])
            out, hold = depth / speed, rng.uniform(10, 60)
            back = minute + 2 * out + hold
            knots += [
                (minute + out, along + 3, side * depth),
                (minute + out + hold, along + 6, side * depth),
                (back, along + 9, 0.0),
            ]
            window, minute, along = (minute, back), back, along + 9
        else:
            lasts = {"rest": (60, 240), "pause": (20, 90), "long_stop": (150, 360)}[kind]
            aside = rng.uniform(0.3, 1.5) if kind == "long_stop" else rng.uniform(0.05, 0.2)
            stay = rng.uniform(*lasts)
            knots += [
                (minute + 2, along, aside),
                (minute + 2 + stay, along, aside),
                (minute + 4 + stay, along, 0.0),
            ]
            if kind == "long_stop":
                window = (minute, minute + 4 + stay)
            minute += 4 + stay
        done = along
    minute += (route.length - done) / speed
    knots.append((minute, route.length, 0.0))
    return np.array(knots), minute, window


def movement(number: int, fixes: int, route: Route, anomaly: str | None, rng):
    """One movement's fixes, its row in the movements and its planted anomaly, if any."""
    knots, reached, window = journey(route, rng, anomaly)
    every = max(rng.uniform(1, 3), (reached + 90) / fixes)
    minutes = np.arange(fixes) * every
    lon, lat = route.lonlat(
        np.interp(minutes, knots[:, 0], knots[:, 1]), np.interp(minutes, knots[:, 0], knots[:, 2])
    )
    lon += rng.normal(0, GPS_NOISE_KM, fixes) / (np.cos(np.radians(lat)) * KM_PER_DEGREE)
    lat += rng.normal(0, GPS_NOISE_KM, fixes) / KM_PER_DEGREE
    events = np.full(fixes, None, dtype=object)
    events[0] = "closed"
    last = minutes[-1]
    arrives = anomaly == "after_write_off" or rng.random() < 0.85
    arrived = reached + rng.uniform(0, 20) if arrives else None
    if arrived is not None:  # the seal opened at destination, once arrived
        opening = np.searchsorted(minutes, arrived + rng.uniform(10, 40))
        if opening < fixes:
            events[opening] = "opened"
    written_off = None
    if anomaly == "after_write_off":
        written_off = arrived + (last - arrived) * rng.uniform(0.3, 0.7)
        window = (written_off, last)
    elif arrived is not None and rng.random() < 0.5:
        written_off = last + rng.uniform(5, 120)
    if anomaly == "seal_opened":
        early = rng.integers(
            np.searchsorted(minutes, knots[1, 0] + 10), np.searchsorted(minutes, reached - 10)
        )
        events[early] = "opened" if rng.random() < 0.7 else "tampered"
        window = (minutes[early], minutes[early])

    mrn, seal = f"25MA{number:012d}T{number % 10}", f"MA-ES-{number:07d}"
    departed = START + timedelta(minutes=float(rng.uniform(0, 30 * 24 * 60)))

    def when(minute: float | None) -> datetime | None:
        return None if minute is None else departed + timedelta(minutes=float(minute))

    fixes_frame = pl.DataFrame(
        {
            "mrn": mrn,
            "seal_id": seal,
            "at": pl.Series(minutes * 60e6).cast(pl.Int64).cast(pl.Duration("us")) + departed,
            "lon": lon,
            "lat": lat,
            "event": pl.Series(events, dtype=pl.String),
        }
    ).cast(POSITIONS_SCHEMA)
    seals = [seal, f"MA-ES-{number:07d}B"] if rng.random() < 0.2 else [seal]
    row = {
        "mrn": mrn,
        "seal_ids": seals,
        "arrived_at": when(arrived),
        "written_off_at": when(written_off),
    }
    planted = None if anomaly is None else (mrn, anomaly, when(window[0]), when(window[1]))
    return fixes_frame, row, route.corridor, planted


def synthetic_positions(positions: int, movements: int, seed: int) -> Synthetic:
    """Movements over the three corridors with their fixes interleaved as a feed would send
    them, a few exact repeats among them, and the anomalies planted."""
    rng = np.random.default_rng(seed)
    repeats = positions // 1000
    fixes = np.full(movements, (positions - repeats) // movements)
    fixes[: (positions - repeats) % movements] += 1
    kinds, shares = list(ANOMALIES), list(ANOMALIES.values())
    drawn = rng.choice([*kinds, None], size=movements, p=[*shares, 1 - sum(shares)])
    routes = [Route.of(*spec) for spec in ROUTES.values()]
    taken = rng.integers(len(routes), size=movements)
    frames, rows, corridors, planted = [], [], {}, []
    for number in range(movements):
        frame, row, corridor, anomaly = movement(
            number, int(fixes[number]), routes[taken[number]], drawn[number], rng
        )
        frames.append(frame)
        rows.append(row)
        corridors[row["mrn"]] = corridor
        if anomaly:
            planted.append(anomaly)
    feed = pl.concat(frames)
    feed = pl.concat([feed, feed.sample(n=repeats, seed=seed)]).sort("at", maintain_order=True)
    moves = pl.DataFrame(
        rows,
        schema=MOVEMENTS_SCHEMA,
        orient="row",
    )
    truth = pl.DataFrame(
        planted,
        schema={
            "mrn": pl.String,
            "kind": pl.String,
            "start": pl.Datetime("us", "UTC"),
            "end": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )
    return Synthetic(feed, moves, corridors, truth, feed["at"].max() + timedelta(hours=1))


def score(alerts: pl.DataFrame, planted: pl.DataFrame) -> pl.DataFrame:
    """Per alert kind: alerts raised, anomalies planted, precision and recall."""
    pairs = alerts.with_row_index("alert").join(
        planted.with_row_index("anomaly"), on=["mrn", "kind"]
    )
    found = pairs.filter(
        pl.col("at").is_between(pl.col("start") - MATCH_SLACK, pl.col("end") + MATCH_SLACK)
    )
    rows = []
    for kind in ALERT_KINDS:
        raised, wanted = alerts.filter(kind=kind).height, planted.filter(kind=kind).height
        hits = found.filter(kind=kind)
        rows.append(
            {
                "kind": kind,
                "alerts": raised,
                "planted": wanted,
                "precision": hits["alert"].n_unique() / raised if raised else 1.0,
                "recall": hits["anomaly"].n_unique() / wanted if wanted else 1.0,
            }
        )
    return pl.DataFrame(rows)


def whole_flow(seed: int, movements: int) -> pl.DataFrame:
    """The flow a user runs, on a fresh SQLite store: synthetic movements' messages through
    ``receive``, the scheduler's round, their seals' file ingested; per alert kind, precision
    and recall against what was planted (``tamis.transit.synthetic.ALERTS_OF``)."""
    import tempfile
    from collections import defaultdict
    from pathlib import Path

    from sqlalchemy import select

    from tamis.store import open_store
    from tamis.transit import synthetic
    from tamis.transit.seals import ingest_positions
    from tamis.transit.tables import transit_alerts

    with tempfile.TemporaryDirectory() as folder:
        engine = open_store(f"sqlite:///{Path(folder) / 'transit.db'}")
        holders = [f"IMP{i:04d}" for i in range(movements // 5)]
        moved, planted = synthetic.messages(
            holders, movements, datetime(2025, 1, 1), 330, seed, 0.1, set(holders[::10])
        )
        now = datetime(2026, 1, 1)
        mrns = synthetic.load(engine, moved, now)
        path = Path(folder) / "seals.csv"
        synthetic.positions(moved, mrns, planted, seed).write_csv(path)
        ingest_positions(path, engine, now=now)
        raised = defaultdict(set)
        with engine.connect() as conn:
            for mrn, kind in conn.execute(select(transit_alerts.c.mrn, transit_alerts.c.kind)):
                raised[kind].add(mrn)
        engine.dispose()
    expected = defaultdict(set)
    for p in planted:
        for kind in synthetic.ALERTS_OF[p.fraud]:
            expected[kind].add(mrns[p.lrn])
    rows = []
    for kind in sorted(set(expected) | set(raised)):
        hits = len(raised[kind] & expected[kind])
        rows.append(
            {
                "seed": seed,
                "kind": kind,
                "planted": len(expected[kind]),
                "alerted": len(raised[kind]),
                "precision": hits / len(raised[kind]) if raised[kind] else float("nan"),
                "recall": hits / len(expected[kind]) if expected[kind] else float("nan"),
            }
        )
    return pl.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--movements", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--flow-seeds",
        default="1,2,3",
        help="seeds of the whole flow through the store (empty: none)",
    )
    parser.add_argument("--flow-movements", type=int, default=2_000)
    args = parser.parse_args()
    for seed in [int(s) for s in args.flow_seeds.split(",") if s]:
        print(f"whole flow, seed {seed}: {args.flow_movements:,} movements", file=sys.stderr)
        started = time.perf_counter()
        found = whole_flow(seed, args.flow_movements)
        print(
            f"whole flow, seed {seed} ({time.perf_counter() - started:.0f} s): every kind of "
            "alert against what was planted"
        )
        with pl.Config(
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
            float_precision=3,
            tbl_rows=20,
        ):
            print(found)

    print(
        f"generating {args.positions:,} positions over {args.movements:,} movements",
        file=sys.stderr,
    )
    started = time.perf_counter()
    data = synthetic_positions(args.positions, args.movements, args.seed)
    print(f"generated in {time.perf_counter() - started:.1f} s; checking", file=sys.stderr)
    started = time.perf_counter()
    checked = check_positions(data.positions, data.movements, data.corridors, now=data.now)
    wall = time.perf_counter() - started
    assert checked.accepted.height + checked.rejected.height == data.positions.height

    print(f"positions {data.positions.height:,}; movements {data.movements.height:,}")
    print(f"checked in {wall:.2f} s: {data.positions.height / wall:,.0f} positions/s")
    print(f"accepted {checked.accepted.height:,}; rejected {checked.rejected.height:,}")
    for reason, count in (
        checked.rejected.group_by(pl.col("reason").str.extract(r"^([^:]+)")).len().rows()
    ):
        print(f"  rejected ({reason}): {count:,}")
    with pl.Config(
        tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True, float_precision=3
    ):
        print(score(checked.alerts, data.planted))


if __name__ == "__main__":
    main()
