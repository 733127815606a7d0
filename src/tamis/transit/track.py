"""A movement's track on a plain map, drawn by the server as SVG (no tile server): its
corridor, the positions its seal reported, the offices and the alerts raised on the way."""

from __future__ import annotations

import math
from collections.abc import Callable

from markupsafe import Markup, escape
from sqlalchemy import Engine, select

from tamis.transit.corridors import network
from tamis.transit.tables import transit_positions

WIDTH, HEIGHT, MARGIN = 640, 420, 24


def track_svg(
    engine: Engine,
    movement: dict,
    alert_said: Callable[[dict], str] = lambda a: f"{a['kind']} {a['at']:%Y-%m-%d %H:%M}",
    corridor_said: str = "corridor",
) -> Markup:
    """The SVG of ``movement`` (as ``tamis.transit.read.movement`` gives it); an empty
    string when there is nothing to draw (no corridor, no position). ``alert_said`` and
    ``corridor_said`` name an alert and the corridor in the reader's language."""
    with engine.connect() as conn:
        fixes = conn.execute(
            select(transit_positions.c.lon, transit_positions.c.lat)
            .where(transit_positions.c.mrn == movement["mrn"])
            .order_by(transit_positions.c.at)
        ).all()
    roads = network()
    road = roads.between(movement["departure_office"], movement["destination_office"])
    path = list(road.path) if road else []
    offices = [
        roads.offices[o]
        for o in (movement["departure_office"], movement["destination_office"])
        if o in roads.offices
    ]
    marks = [
        (a["detail"]["lon"], a["detail"]["lat"], alert_said(a))
        for a in movement["alerts"]
        if "lon" in a["detail"] and "lat" in a["detail"]
    ]
    points = path + [tuple(f) for f in fixes] + offices + [m[:2] for m in marks]
    if len(points) < 2:
        return Markup("")
    xy = _projection(points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" class="track"><rect width="{WIDTH}" height="{HEIGHT}" fill="#f7f7f2"/>'
    ]
    if path:
        line = _points(xy, path)
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="#c9d8e8" stroke-width="14" '
            'stroke-linejoin="round" stroke-linecap="round">'
            f"<title>{escape(corridor_said)}</title></polyline>"
        )
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="#8aa" stroke-dasharray="4 3"/>'
        )
    if fixes:
        parts.append(
            f'<polyline class="positions" points="{_points(xy, fixes)}" fill="none" '
            'stroke="#1f5fa8" stroke-width="2"/>'
        )
    for lon, lat in offices:
        x, y = xy(lon, lat)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#2e8b57"/>')
    for lon, lat, label in marks:
        x, y = xy(lon, lat)
        parts.append(
            f'<circle class="alert" cx="{x:.1f}" cy="{y:.1f}" r="7" fill="#c62828">'
            f"<title>{escape(label)}</title></circle>"
        )
    return Markup("".join(parts) + "</svg>")


def _projection(points: list[tuple[float, float]]):
    """(lon, lat) → (x, y) on the canvas: equirectangular at the points' mean latitude,
    scaled to fit with the same scale on both axes."""
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    squeeze = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * squeeze, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (
            MARGIN + (lon - min(lons)) * squeeze * scale,
            HEIGHT - MARGIN - (lat - min(lats)) * scale,
        )

    return xy


def _points(xy, lonlats) -> str:
    return " ".join("{:.1f},{:.1f}".format(*xy(lon, lat)) for lon, lat in lonlats)
