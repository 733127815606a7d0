"""A watchlist from an offence: its importers' next declarations of the same goods (HS
heading) go to at least the orange channel for a while, the offence as the reason."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import Engine

from tamis import audit
from tamis.cases import watchlists
from tamis.offences.read import OffenceError, offence_id_of, read_offence, stored_version

CHANNEL = "orange"


def watch_offence(engine: Engine, ref: str | int, actor: str, days: int = 365) -> int:
    """Create the watchlist of offence ``ref`` (its id or number), valid from today for
    ``days``: its importers (customs identifiers) and its HS heading (4 digits); the
    watchlist's id. Creating it is audited by ``watchlists.create``."""
    if days < 1:
        raise OffenceError(f"days: a watchlist of offence {ref} lasts a day or more, not {days}")
    with engine.connect() as conn:
        offence = read_offence(conn, offence_id_of(conn, ref))
        version = stored_version(conn, offence["schedule_version"])
    number = offence["number"]
    importers = sorted(
        {p["customs_id"] for p in offence["parties"] if p["role"] == "importer" and p["customs_id"]}
    )
    headings = [offence["hs_code"][:4]] if offence["hs_code"] else []
    if not importers and not headings:
        raise OffenceError(
            f"offence {number}: parties: no importer with a customs identifier, and hs_code "
            "is empty: nothing to watch"
        )
    label = version.offence_class(offence["class_code"]).name("en")
    start = datetime.combine(audit.now().date(), time())
    said = watchlists.WatchlistIn(
        name=f"Offence {number}",
        reason=f"Offence {number}: {label}",
        hs_prefixes=headings,
        importers=importers,
        valid_from=start,
        valid_to=start + timedelta(days=days),
        route_channel=CHANNEL,
    )
    return watchlists.create(engine, said, actor)
