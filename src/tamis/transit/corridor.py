"""Electronic-seal positions checked against a transit movement's declared route.

Goods in transit travel under bond along a declared route; an electronic seal (a GPS
padlock) on the container reports positions and seal events. ``check_positions`` refuses
the fixes that cannot be trusted and raises alerts on the others: off the route, a long
stop outside the authorised places, the seal opened before arrival, anything reported
after the movement was written off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import shapely

KM_PER_DEGREE = 6371.0088 * np.pi / 180  # along a meridian, mean Earth radius
CLOCK_SKEW = timedelta(minutes=5)  # a seal's clock may run a little ahead of ours
SEAL_CHANGES = ("opened", "closed", "tampered")
SEAL_EVENTS = ("position", *SEAL_CHANGES)  # or null for a plain fix
OPENING_EVENTS = ("opened", "tampered")

POSITIONS_SCHEMA = {
    "mrn": pl.String,
    "seal_id": pl.String,
    "at": pl.Datetime("us", "UTC"),
    "lon": pl.Float64,
    "lat": pl.Float64,
    "event": pl.String,
}
MOVEMENTS_SCHEMA = {
    "mrn": pl.String,
    "seal_ids": pl.List(pl.String),
    "arrived_at": pl.Datetime("us", "UTC"),
    "written_off_at": pl.Datetime("us", "UTC"),
}
REJECTED_SCHEMA = {
    **POSITIONS_SCHEMA,
    "row": pl.Int64,
    "field": pl.String,
    "value": pl.String,
    "reason": pl.String,
}
ALERTS_SCHEMA = {
    "mrn": pl.String,
    "seal_id": pl.String,
    "kind": pl.String,
    "at": pl.Datetime("us", "UTC"),
    "lon": pl.Float64,
    "lat": pl.Float64,
    "detail": pl.String,  # JSON: the figures behind the alert
}
ALERT_KINDS = ("off_route", "long_stop", "seal_opened", "after_write_off")


@dataclass(frozen=True)
class Corridor:
    """The declared route of a movement: a path of (lon, lat) points and the width in km
    either side within which the goods must stay; places where a stop is authorised."""

    path: tuple[tuple[float, float], ...]
    width_km: float = 5.0
    # (lon, lat, radius_km): departure, destination, rest areas
    stops: tuple[tuple[float, float, float], ...] = ()

    def __post_init__(self) -> None:
        if len(self.path) < 2:
            raise ValueError("a corridor's path needs at least two points")

    @property
    def origin(self) -> tuple[float, float]:
        """The centre of the local plane the corridor is measured in."""
        lons, lats = zip(*self.path, strict=True)
        return float(np.mean(lons)), float(np.mean(lats))


@dataclass(frozen=True)
class Checked:
    """What ``check_positions`` made of a batch of positions."""

    accepted: pl.DataFrame  # POSITIONS_SCHEMA
    rejected: pl.DataFrame  # REJECTED_SCHEMA
    alerts: pl.DataFrame  # ALERTS_SCHEMA


def check_positions(
    positions: pl.DataFrame,
    movements: pl.DataFrame,
    corridors: dict[str, Corridor],
    *,
    now: datetime,
    max_stop_minutes: float = 120,
    stop_radius_km: float = 0.5,
) -> Checked:
    """Positions (POSITIONS_SCHEMA) of the seals of ``movements`` (MOVEMENTS_SCHEMA) checked
    against their corridors (mrn → Corridor).

    Off-route and long-stop alerts look at the positions of a movement in transit: before
    its arrival and not after its write-off. A movement without a corridor is checked for
    everything but its route.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    received = (
        positions.select([pl.col(name).cast(dtype) for name, dtype in POSITIONS_SCHEMA.items()])
        .with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
    )
    movements = movements.select(
        [pl.col(name).cast(dtype) for name, dtype in MOVEMENTS_SCHEMA.items()]
    ).unique("mrn", keep="first", maintain_order=True)
    accepted, rejected = _screen(received, movements, now)
    accepted = accepted.join(
        movements.select("mrn", "arrived_at", "written_off_at"),
        on="mrn",
        how="left",
        maintain_order="left",
    )
    alerts = pl.concat(
        [
            _route_alerts(accepted, corridors, max_stop_minutes, stop_radius_km),
            _seal_opened(accepted),
            _after_write_off(accepted),
        ]
    ).sort("mrn", "seal_id", "at", "kind")
    return Checked(accepted.select(list(POSITIONS_SCHEMA)), rejected, alerts)


def _first(cases: list[tuple[pl.Expr, pl.Expr]]) -> pl.Expr:
    """The value of the first case whose condition holds, null when none does."""
    (condition, value), *rest = cases
    chosen = pl.when(condition).then(value)
    for condition, value in rest:
        chosen = chosen.when(condition).then(value)
    return chosen


def _out_of_range(column: str, limit: float) -> pl.Expr:
    value = pl.col(column)
    return (value.is_null() | value.is_nan() | (value.abs() > limit)).fill_null(True)


def _screen(
    received: pl.DataFrame, movements: pl.DataFrame, now: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The positions split into accepted and rejected, with the first reason for refusing."""
    movement = movements.select("mrn", pl.lit(True).alias("_movement"))
    sealed = (
        movements.select("mrn", pl.col("seal_ids").alias("seal_id"))
        .explode("seal_id")
        .unique()
        .with_columns(pl.lit(True).alias("_sealed"))
    )
    frame = received.join(movement, on="mrn", how="left", maintain_order="left").join(
        sealed, on=["mrn", "seal_id"], how="left", maintain_order="left"
    )
    event = pl.col("event")
    # (field, failed, reason): each position is refused for the first check it fails
    checks = [
        ("lon", _out_of_range("lon", 180), "lon must be a longitude between -180 and 180 degrees"),
        ("lat", _out_of_range("lat", 90), "lat must be a latitude between -90 and 90 degrees"),
        ("at", pl.col("at").is_null(), "at is missing: a position needs the time it was taken"),
        (
            "at",
            pl.col("at") > now + CLOCK_SKEW,
            "at is in the future: later than now + 5 minutes",
        ),
        (
            "event",
            event.is_not_null() & ~event.is_in(SEAL_EVENTS),
            "unknown event: event must be empty or one of " + ", ".join(SEAL_EVENTS),
        ),
        (
            "mrn",
            pl.col("_movement").is_null(),
            "unknown movement: mrn is not among the movements in transit",
        ),
        (
            "seal_id",
            pl.col("_sealed").is_null(),
            "unknown seal: seal_id is not among the movement's seal_ids",
        ),
    ]
    frame = frame.with_columns(
        _first([(failed, pl.lit(name)) for name, failed, _ in checks]).alias("field"),
        _first([(failed, pl.col(name).cast(pl.String)) for name, failed, _ in checks]).alias(
            "value"
        ),
        _first([(failed, pl.lit(why)) for _, failed, why in checks]).alias("reason"),
    ).drop("_movement", "_sealed")
    refused = frame.filter(pl.col("field").is_not_null())

    # A repeat of a position already received, then a fix earlier than the seal's latest
    # accepted one: the latest accepted time is the running maximum of the times before it
    # (a refused late fix never raises it), so no loop is needed.
    seal = ["mrn", "seal_id"]
    kept = frame.filter(pl.col("field").is_null()).with_columns(
        pl.col("row").min().over([*seal, "at", "lon", "lat", "event"]).alias("_original")
    )
    duplicates = kept.filter(pl.col("row") != pl.col("_original")).with_columns(
        pl.lit("at").alias("field"),
        pl.col("at").cast(pl.String).alias("value"),
        pl.format(
            "duplicate: same seal_id, at, lon, lat and event as row {}", pl.col("_original")
        ).alias("reason"),
    )
    kept = kept.filter(pl.col("row") == pl.col("_original"))
    ordered = kept.with_columns(pl.col("at").cum_max().shift(1).over(seal).alias("_latest"))
    late = ordered.filter(pl.col("at") < pl.col("_latest")).with_columns(
        pl.lit("at").alias("field"),
        pl.col("at").cast(pl.String).alias("value"),
        pl.format(
            "out of order: at is earlier than the seal's previous position ({})",
            pl.col("_latest"),
        ).alias("reason"),
    )
    accepted = (
        ordered.filter((pl.col("at") >= pl.col("_latest")).fill_null(True))
        .select(["row", *POSITIONS_SCHEMA])
        .sort("row")
    )
    rejected = (
        pl.concat([part.select(list(REJECTED_SCHEMA)) for part in (refused, duplicates, late)])
        .cast(REJECTED_SCHEMA)
        .sort("row")
    )
    return accepted, rejected


def _alerts(frame: pl.DataFrame, kind: str, **detail: pl.Expr) -> pl.DataFrame:
    """Alerts of one kind from a frame with mrn, seal_id, at, lon and lat."""
    return frame.select(
        "mrn",
        "seal_id",
        pl.lit(kind).alias("kind"),
        "at",
        "lon",
        "lat",
        pl.struct(**detail).struct.json_encode().alias("detail"),
    ).cast(ALERTS_SCHEMA)


def _seal_opened(accepted: pl.DataFrame) -> pl.DataFrame:
    opened = accepted.filter(
        pl.col("event").is_in(OPENING_EVENTS)
        & (pl.col("arrived_at").is_null() | (pl.col("at") < pl.col("arrived_at")))
    )
    return _alerts(opened, "seal_opened", event=pl.col("event"))


def _after_write_off(accepted: pl.DataFrame) -> pl.DataFrame:
    """One alert per seal, at its first report after the movement was written off."""
    late = (
        accepted.filter(pl.col("at") > pl.col("written_off_at"))
        .group_by("mrn", "seal_id")
        .agg(
            pl.col("at", "lon", "lat", "written_off_at").first(),
            pl.len().alias("positions"),
            pl.col("event").is_in(SEAL_CHANGES).sum().alias("events"),
        )
    )
    return _alerts(
        late,
        "after_write_off",
        minutes_after_write_off=_minutes(pl.col("at") - pl.col("written_off_at")),
        positions=pl.col("positions"),
        events=pl.col("events"),
    )


def _minutes(duration: pl.Expr) -> pl.Expr:
    return (duration.dt.total_microseconds() / 60e6).round(1)


def _route_alerts(
    accepted: pl.DataFrame,
    corridors: dict[str, Corridor],
    max_stop_minutes: float,
    radius_km: float,
) -> pl.DataFrame:
    """Off-route and long-stop alerts on the positions of movements in transit."""
    in_transit = accepted.filter(
        (pl.col("arrived_at").is_null() | (pl.col("at") < pl.col("arrived_at")))
        & (pl.col("written_off_at").is_null() | (pl.col("at") <= pl.col("written_off_at")))
    )
    routes = _Routes(corridors, in_transit["mrn"].unique().to_list())
    frame = (
        in_transit.join(routes.frame, on="mrn", how="left")
        .with_columns(
            pl.col("_route").fill_null(routes.none),
            # a movement without a corridor is measured around its first position
            pl.col("_lon0").fill_null(pl.col("lon").first().over("mrn")),
            pl.col("_lat0").fill_null(pl.col("lat").first().over("mrn")),
        )
        .with_columns(
            (
                (pl.col("lon") - pl.col("_lon0")) * pl.col("_lat0").radians().cos() * KM_PER_DEGREE
            ).alias("_x"),
            ((pl.col("lat") - pl.col("_lat0")) * KM_PER_DEGREE).alias("_y"),
        )
        .sort("mrn", "seal_id", "at", "row")
        .with_columns(
            (
                (pl.col("mrn") != pl.col("mrn").shift())
                | (pl.col("seal_id") != pl.col("seal_id").shift())
            )
            .fill_null(True)
            .alias("_new_seal")
        )
    )
    points = shapely.points(frame["_x"].to_numpy(), frame["_y"].to_numpy())
    route = frame["_route"].to_numpy()
    frame = frame.with_columns(
        pl.Series("_distance", shapely.distance(routes.lines[route], points), nan_to_null=True),
        pl.Series("_authorised", shapely.intersects(routes.places[route], points)),
    )
    return pl.concat([_off_route(frame), _long_stops(frame, max_stop_minutes, radius_km)])


class _Routes:
    """The corridors drawn in km, each in its own local plane: a path and the union of its
    authorised places, indexed by ``_route``; the last index, ``none``, is for a movement
    without a corridor (shapely answers NaN or False for a missing geometry)."""

    def __init__(self, corridors: dict[str, Corridor], mrns: list[str]) -> None:
        # Equirectangular projection around the corridor's centre: over routes of a few
        # hundred km its distances are within a few per cent, enough for widths of some km.
        self.mrns = [mrn for mrn in mrns if mrn in corridors]
        origins = [corridors[mrn].origin for mrn in self.mrns]
        lines, places = [], []
        for mrn, (lon0, lat0) in zip(self.mrns, origins, strict=True):
            corridor = corridors[mrn]
            lines.append(shapely.linestrings(*_project(corridor.path, lon0, lat0)))
            if corridor.stops:
                stops = np.asarray(corridor.stops, dtype=float)
                centres = shapely.points(*_project(stops[:, :2], lon0, lat0))
                places.append(shapely.union_all(shapely.buffer(centres, stops[:, 2])))
            else:
                places.append(None)
        self.none = len(self.mrns)
        self.lines = np.array([*lines, None], dtype=object)
        self.places = np.array([*places, None], dtype=object)
        shapely.prepare(self.lines)
        shapely.prepare(self.places)
        self.frame = pl.DataFrame(
            {
                "mrn": self.mrns,
                "_route": range(self.none),
                "_lon0": [lon0 for lon0, _ in origins],
                "_lat0": [lat0 for _, lat0 in origins],
                "_width": [corridors[mrn].width_km for mrn in self.mrns],
            },
            schema={
                "mrn": pl.String,
                "_route": pl.Int64,
                "_lon0": pl.Float64,
                "_lat0": pl.Float64,
                "_width": pl.Float64,
            },
        )


def _project(lonlat, lon0: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) points in degrees to x and y in km on the plane centred on (lon0, lat0)."""
    lonlat = np.asarray(lonlat, dtype=float)
    x = (lonlat[:, 0] - lon0) * np.cos(np.radians(lat0)) * KM_PER_DEGREE
    return x, (lonlat[:, 1] - lat0) * KM_PER_DEGREE


def _off_route(frame: pl.DataFrame) -> pl.DataFrame:
    """One alert per excursion: consecutive off-route positions of a seal, at the first."""
    off = (pl.col("_distance") > pl.col("_width")).fill_null(False)
    excursions = (
        frame.with_columns(off.alias("_off"))
        .with_columns(
            (pl.col("_off") & (pl.col("_new_seal") | ~pl.col("_off").shift(1, fill_value=False)))
            .cum_sum()
            .alias("_excursion")
        )
        .filter("_off")
        .group_by("_excursion")
        .agg(
            pl.col("mrn", "seal_id", "at", "lon", "lat").first(),
            pl.col("_distance").max(),
            pl.len().alias("positions"),
            pl.col("at").last().alias("_until"),
        )
    )
    return _alerts(
        excursions,
        "off_route",
        distance_km=pl.col("_distance").round(2),
        positions=pl.col("positions"),
        minutes=_minutes(pl.col("_until") - pl.col("at")),
    )


def _long_stops(frame: pl.DataFrame, max_stop_minutes: float, radius_km: float) -> pl.DataFrame:
    """One alert per stop longer than allowed outside every authorised place, at its start.

    A stop begins at a fix (its anchor) that the following fixes of the seal stay within
    ``radius_km`` of; its length runs to the last of them. Every fix is tried as an anchor at
    once, one step further down the track per pass: a moving seal drops out at the first
    step, so the passes only go on through stops.
    """
    x, y = frame["_x"].to_numpy(), frame["_y"].to_numpy()
    seal = frame["_new_seal"].cum_sum().to_numpy()
    time = frame["at"].dt.epoch("us").to_numpy()
    authorised = frame["_authorised"].to_numpy()
    # a sentinel past the end belongs to no seal, so a step never runs off the arrays
    x, y, seal = np.append(x, np.nan), np.append(y, np.nan), np.append(seal, -1)

    anchors = np.flatnonzero(~authorised)  # a stop in an authorised place starts none
    last = anchors.copy()
    still = np.arange(anchors.size)
    step = 1
    while still.size:
        anchor = anchors[still]
        later = anchor + step
        near = (seal[later] == seal[anchor]) & (
            np.hypot(x[later] - x[anchor], y[later] - y[anchor]) <= radius_km
        )
        still, later = still[near], later[near]
        last[still] = later
        step += 1

    long = time[last] - time[anchors] > max_stop_minutes * 60e6
    anchors, last = anchors[long], last[long]
    # anchors of one stop overlap: a stop starts at an anchor past every earlier one's reach
    reach = np.maximum.accumulate(last)
    first = anchors > np.concatenate(([-1], reach[:-1]))
    starts = anchors[first]
    ends = (
        reach[np.append(np.flatnonzero(first)[1:] - 1, first.size - 1)] if starts.size else starts
    )
    # a stop that touches an authorised place (an anchor at its edge) is not a long stop
    touched = np.concatenate(([0], np.cumsum(authorised)))
    outside = touched[ends + 1] == touched[starts]
    starts, ends = starts[outside], ends[outside]
    stops = frame[starts].with_columns(frame["at"].gather(ends).alias("_until"))
    return _alerts(stops, "long_stop", minutes=_minutes(pl.col("_until") - pl.col("at")))
