"""Electronic-seal positions of a movement from Tanger Med to Casablanca port, checked
against its declared route: what is refused, and what raises an alert."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import polars as pl
import pytest

from tamis.transit.corridor import (
    ALERTS_SCHEMA,
    MOVEMENTS_SCHEMA,
    POSITIONS_SCHEMA,
    REJECTED_SCHEMA,
    Corridor,
    check_positions,
)

TANGER_MED = (-5.50, 35.89)
TANGER = (-5.80, 35.76)
KENITRA = (-6.58, 34.26)
RABAT = (-6.84, 34.02)
CASABLANCA_PORT = (-7.61, 33.60)
ROUTE = (TANGER_MED, TANGER, KENITRA, RABAT, CASABLANCA_PORT)

MRN = "25MA0001T0000012"
SEAL = "SEAL-0001"
DEPARTED = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
NOW = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)
KM_PER_DEGREE = 111.2

CORRIDOR = Corridor(
    path=ROUTE,
    width_km=5.0,
    stops=((*TANGER_MED, 2.0), (*CASABLANCA_PORT, 2.0)),
)


def between(start: tuple[float, float], end: tuple[float, float], share: float):
    return start[0] + (end[0] - start[0]) * share, start[1] + (end[1] - start[1]) * share


def drive(waypoints, step_km: float = 4.0) -> list[tuple[float, float]]:
    """Points every few km along straight legs between the waypoints."""
    points = [waypoints[0]]
    for start, end in pairwise(waypoints):
        legs = math.ceil(km(start, end) / step_km)
        points += [between(start, end, (i + 1) / legs) for i in range(legs)]
    return points


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    cos = math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((a[0] - b[0]) * cos, a[1] - b[1]) * KM_PER_DEGREE


def aside(start: tuple[float, float], end: tuple[float, float], share: float, off_km: float):
    """A point off_km to the side of the road from start to end, share of the way along."""
    lon, lat = between(start, end, share)
    cos = math.cos(math.radians(lat))
    east, north = (end[0] - start[0]) * cos, end[1] - start[1]
    length = math.hypot(east, north)
    return (
        lon + north / length * off_km / KM_PER_DEGREE / cos,
        lat - east / length * off_km / KM_PER_DEGREE,
    )


def jitter(point: tuple[float, float], fixes: int) -> list[tuple[float, float]]:
    """A parked truck's fixes: a few tens of metres of GPS noise around one point."""
    return [
        (point[0] + 0.0002 * math.sin(i), point[1] + 0.0002 * math.cos(i)) for i in range(fixes)
    ]


def positions(points, *, events: dict[int, str] | None = None):
    events = events or {}
    return pl.DataFrame(
        {
            "mrn": [MRN] * len(points),
            "seal_id": [SEAL] * len(points),
            "at": [DEPARTED + i * EVERY for i in range(len(points))],
            "lon": [lon for lon, _ in points],
            "lat": [lat for _, lat in points],
            "event": [events.get(i) for i in range(len(points))],
        },
        schema=POSITIONS_SCHEMA,
    )


def movements(arrived_at: datetime | None = None, written_off_at: datetime | None = None):
    return pl.DataFrame(
        {
            "mrn": [MRN],
            "seal_ids": [[SEAL, "SEAL-0002"]],
            "arrived_at": [arrived_at],
            "written_off_at": [written_off_at],
        },
        schema=MOVEMENTS_SCHEMA,
    )


def check(frame: pl.DataFrame, moved: pl.DataFrame | None = None, corridor: Corridor = CORRIDOR):
    return check_positions(frame, movements() if moved is None else moved, {MRN: corridor}, now=NOW)


def kinds(checked) -> list[str]:
    return checked.alerts["kind"].to_list()


def test_a_movement_along_its_route_raises_no_alert():
    route = positions(drive(ROUTE), events={0: "closed"})
    checked = check(route)
    assert route.height > 50
    assert checked.accepted.height == route.height
    assert checked.rejected.is_empty()
    assert checked.alerts.is_empty()


def test_a_detour_twenty_km_off_the_road_is_one_off_route_alert():
    detour = [aside(KENITRA, RABAT, 0.5, off) for off in (8, 14, 20, 14, 8)]
    track = drive((TANGER_MED, TANGER, KENITRA, between(KENITRA, RABAT, 0.45)))
    track += detour + drive((between(KENITRA, RABAT, 0.55), RABAT, CASABLANCA_PORT))
    checked = check(positions(track))
    assert kinds(checked) == ["off_route"]
    alert = checked.alerts.row(0, named=True)
    assert (alert["lon"], alert["lat"]) == pytest.approx(detour[0])
    assert json.loads(alert["detail"])["distance_km"] == pytest.approx(20, abs=3)
    assert json.loads(alert["detail"])["positions"] == len(detour)


def test_two_detours_are_two_alerts():
    track = drive((TANGER_MED, TANGER, KENITRA))
    track += [aside(KENITRA, RABAT, 0.3, 15)] + [between(KENITRA, RABAT, 0.5)]
    track += [aside(KENITRA, RABAT, 0.7, 15)] + drive((RABAT, CASABLANCA_PORT))
    assert kinds(check(positions(track))) == ["off_route", "off_route"]


def three_hour_stop(field: tuple[float, float]) -> pl.DataFrame:
    hours = 3 * 60 // 5 + 1
    track = drive((TANGER_MED, TANGER, KENITRA)) + jitter(field, hours)
    return positions(track + drive((KENITRA, RABAT, CASABLANCA_PORT))[1:])


def test_a_three_hour_stop_in_a_field_is_one_long_stop():
    field = aside(TANGER, KENITRA, 1.0, 1.0)  # a km off the road, within the corridor
    checked = check(three_hour_stop(field))
    assert kinds(checked) == ["long_stop"]
    alert = checked.alerts.row(0, named=True)
    assert (alert["lon"], alert["lat"]) == pytest.approx(field, abs=0.001)
    assert json.loads(alert["detail"])["minutes"] == pytest.approx(180, abs=10)


def test_the_same_stop_in_an_authorised_place_is_no_alert():
    field = aside(TANGER, KENITRA, 1.0, 1.0)
    rest_area = Corridor(ROUTE, stops=(*CORRIDOR.stops, (*field, 1.5)))
    assert check(three_hour_stop(field), corridor=rest_area).alerts.is_empty()


def test_a_stop_that_begins_at_the_gate_of_an_authorised_place_is_no_alert():
    gate, parked = aside(TANGER, KENITRA, 1.0, 0.8), aside(TANGER, KENITRA, 1.0, 1.1)
    rest_area = Corridor(ROUTE, stops=(*CORRIDOR.stops, (*aside(TANGER, KENITRA, 1.0, 2.0), 1.0)))
    track = drive((TANGER_MED, TANGER, KENITRA)) + jitter(gate, 3) + jitter(parked, 36)
    track += drive((KENITRA, RABAT, CASABLANCA_PORT))[1:]
    assert check(positions(track), corridor=rest_area).alerts.is_empty()
    assert kinds(check(positions(track))) == ["long_stop"]


def test_a_stop_under_two_hours_is_no_alert():
    track = drive((TANGER_MED, TANGER, KENITRA)) + jitter(aside(TANGER, KENITRA, 1.0, 1.0), 20)
    assert check(positions(track + drive((KENITRA, RABAT)))).alerts.is_empty()


def test_a_seal_opened_before_arrival_alerts_and_after_arrival_does_not():
    track = drive(ROUTE)
    arrived = DEPARTED + len(track) * EVERY
    track += jitter(CASABLANCA_PORT, 6)
    on_the_road = positions(track, events={len(track) // 2: "opened"})
    checked = check(on_the_road, movements(arrived_at=arrived))
    assert kinds(checked) == ["seal_opened"]
    assert checked.alerts["at"][0] == DEPARTED + len(track) // 2 * EVERY

    at_the_port = positions(track, events={len(track) - 2: "opened"})
    assert check(at_the_port, movements(arrived_at=arrived)).alerts.is_empty()
    assert kinds(check(at_the_port, movements())) == ["seal_opened"]  # not arrived yet


def test_a_tampered_seal_alerts():
    tampered = positions(drive(ROUTE), events={10: "tampered"})
    assert kinds(check(tampered)) == ["seal_opened"]


def test_positions_after_write_off_are_one_alert():
    track = drive(ROUTE) + jitter(CASABLANCA_PORT, 12)
    arrived = DEPARTED + (len(track) - 12) * EVERY
    written_off = arrived + 30 * timedelta(minutes=1)
    checked = check(positions(track), movements(arrived, written_off))
    assert kinds(checked) == ["after_write_off"]
    alert = checked.alerts.row(0, named=True)
    assert written_off < alert["at"] <= written_off + EVERY
    assert json.loads(alert["detail"])["positions"] == 5

    before = check(positions(track), movements(arrived, NOW))
    assert before.alerts.is_empty()


LAST = DEPARTED + 9 * EVERY
BAD_INPUTS = {  # the column changed, its value, the field named, what the reason says
    "lat 95": ("lat", 95.0, "lat", "between -90 and 90"),
    "lon NaN": ("lon", float("nan"), "lon", "between -180 and 180"),
    "lon missing": ("lon", None, "lon", "between -180 and 180"),
    "future time": ("at", NOW + timedelta(hours=1), "at", "future"),
    "time missing": ("at", None, "at", "missing"),
    "unknown seal": ("seal_id", "SEAL-9999", "seal_id", "unknown seal"),
    "unknown mrn": ("mrn", "25MA9999T9999999", "mrn", "unknown movement"),
    "out of order": ("at", LAST - 2 * EVERY, "at", "out of order"),
    "unknown event": ("event", "unlocked", "event", "unknown event"),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_a_bad_position_is_rejected_with_its_field_named(case):
    column, value, field, expected = BAD_INPUTS[case]
    good = positions(drive(ROUTE)[:10])
    after = good.tail(1).with_columns(at=LAST + EVERY)
    wrong = after.with_columns(pl.lit(value, dtype=POSITIONS_SCHEMA[column]).alias(column))
    received = pl.concat([good, wrong, good.tail(1).with_columns(at=LAST + 2 * EVERY)])
    checked = check(received)
    assert checked.accepted.height + checked.rejected.height == received.height
    assert checked.rejected.height == 1
    refused = checked.rejected.row(0, named=True)
    assert refused["row"] == 10
    assert refused["field"] == field
    assert field in refused["reason"] and expected in refused["reason"]


def test_an_exact_duplicate_is_rejected_once_and_the_original_kept():
    good = positions(drive(ROUTE)[:10])
    sealed_there = good.tail(1).with_columns(event=pl.lit("closed"))  # not a repeat: an event
    checked = check(pl.concat([good, good.slice(4, 1), sealed_there]))
    assert checked.accepted.height == 11
    assert checked.rejected.select("row", "field").row(0) == (10, "at")
    assert "duplicate" in checked.rejected["reason"][0]
    assert "row 4" in checked.rejected["reason"][0]


def test_a_late_fix_is_judged_against_the_last_accepted_one():
    good = positions(drive(ROUTE)[:4])
    minutes = [0, 10, 5, 7]  # 7 follows the refused 5 but is still before 10
    times = [DEPARTED + timedelta(minutes=m) for m in minutes]
    checked = check(good.with_columns(at=pl.Series(times, dtype=POSITIONS_SCHEMA["at"])))
    assert checked.rejected["row"].to_list() == [2, 3]
    assert checked.accepted["at"].to_list() == times[:2]


def test_rejected_positions_raise_no_alert():
    far = aside(KENITRA, RABAT, 0.5, 30)
    track = positions(drive(ROUTE)[:20] + [far], events={20: "unlocked"})
    checked = check(track)
    assert checked.rejected.height == 1
    assert checked.alerts.is_empty()


def test_a_movement_without_a_declared_route_is_checked_for_all_but_its_route():
    far = [aside(KENITRA, RABAT, 0.5, 30)] * 3
    track = positions(drive(ROUTE)[:20] + far, events={5: "opened"})
    checked = check_positions(track, movements(), {}, now=NOW)
    assert kinds(checked) == ["seal_opened"]


def test_an_empty_batch_gives_empty_frames_with_their_columns():
    checked = check(pl.DataFrame(schema=POSITIONS_SCHEMA))
    assert checked.accepted.schema == pl.Schema(POSITIONS_SCHEMA)
    assert checked.rejected.schema == pl.Schema(REJECTED_SCHEMA)
    assert checked.alerts.schema == pl.Schema(ALERTS_SCHEMA)
    assert checked.accepted.is_empty() and checked.alerts.is_empty()
