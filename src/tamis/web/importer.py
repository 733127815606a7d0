"""An importer's page: who it is across sources (its resolved entity's records), its
history, its latest declarations with their channel and inspection result, its cases, its
offences, its ties in the network of parties and, for analysts, the social-media sellers
linked to it. A fixed number of queries whatever the importer's size."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from sqlalchemy import Connection, func, select, tuple_

from tamis.api.auth import READERS, TARGETERS
from tamis.api.deps import Store
from tamis.cases import cases
from tamis.importers import importer_history
from tamis.intel.tables import entity_records, network_scores, network_ties
from tamis.offences.read import listing as offence_listing
from tamis.scoreboard.figures import latest_declarations
from tamis.social.views import importer_sellers
from tamis.store.tables import declarations, scoreboard_declarations
from tamis.users import User
from tamis.web.i18n import Translator, language_of
from tamis.web.render import as_page, render
from tamis.web.social import evidence_said

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)
ImporterId = Annotated[str, Path(min_length=1, max_length=64)]
LATEST = 20  # declarations, cases and offences shown; the lists hold the rest
IDENTITIES = 30  # distinct spellings of the importer across sources
TIES = 50
SPECIFIC = 50  # a tie shared by more importers is a hub (a broker): its sharers are not listed
NEIGHBOURS = 30


def linked_sellers(engine, user: User, importer_id: str | None, t: Translator) -> list[dict]:
    """Sellers linked to the importer, for those who may see the social-media source only
    (a view is audited when there is one to show)."""
    if not importer_id or user.role not in TARGETERS.roles:
        return []
    found = importer_sellers(engine, importer_id, user.username)
    return [s | {"said": evidence_said(s["evidence"], t)} for s in found]


def identity(conn: Connection, importer_id: str) -> tuple[str | None, list[dict]]:
    """The entity the importer was resolved to and how each source records it (name, tax
    number, address, phone, account: a record per spelling); (None, []) when unresolved."""
    r = entity_records.c
    entity = conn.execute(select(r.entity_id).where(r.entity_id == importer_id).limit(1)).scalar()
    if entity is None:  # merged into another company's entity
        entity = conn.execute(
            select(r.entity_id).where(r.customs_id == importer_id).limit(1)
        ).scalar()
    if entity is None:
        return None, []
    said = (r.source, r.name, r.customs_id, r.tax_number, r.address, r.phone, r.account)
    rows = conn.execute(
        select(*said).where(r.entity_id == entity).order_by(*said).limit(IDENTITIES)
    )
    return entity, [dict(row._mapping) for row in rows]


def channels(conn: Connection, importer_id: str) -> list[dict]:
    """Per current channel: declarations, inspected, found non-compliant, revenue recovered."""
    s, d = scoreboard_declarations.c, declarations.c
    query = (
        select(
            s.channel,
            func.count().label("declarations"),
            func.sum(s.inspected).label("inspected"),
            func.sum(s.hits).label("hits"),
            func.sum(s.revenue_recovered_minor).label("revenue_recovered_minor"),
        )
        .join_from(declarations, scoreboard_declarations, s.declaration_id == d.declaration_id)
        .where(d.importer_id == importer_id)
        .group_by(s.channel)
    )
    order = {c: n for n, c in enumerate(("red", "orange", "yellow", "green", "blue"))}
    rows = [dict(r._mapping) for r in conn.execute(query)]
    return sorted(rows, key=lambda r: order.get(r["channel"], len(order)))


def network(conn: Connection, importer_id: str) -> dict | None:
    """The importer's ties (as of the last network build) with its network risk, and the
    importers sharing its specific ties (not hubs); None when it is not in the network."""
    t = network_ties.c
    ties = conn.execute(
        select(t.kind, t.value, t.first_seen, t.n, t.shared_by)
        .where(t.importer_id == importer_id)
        .order_by(t.shared_by.desc(), t.kind, t.value)
        .limit(TIES)
    ).all()
    if not ties:
        return None
    specific = [(x.kind, x.value) for x in ties if 1 < x.shared_by <= SPECIFIC]
    sharing = (
        conn.execute(
            select(t.importer_id, t.kind, t.value)
            .where(tuple_(t.kind, t.value).in_(specific), t.importer_id != importer_id)
            .order_by(t.importer_id, t.kind)
            .limit(NEIGHBOURS * 4)
        ).all()
        if specific
        else []
    )
    neighbours: dict[str, list[str]] = {}
    for other, kind, _ in sharing:
        if other in neighbours or len(neighbours) < NEIGHBOURS:
            neighbours.setdefault(other, []).append(kind)
    scored = select(network_scores).where(
        network_scores.c.entity_id.in_([importer_id, *neighbours])
    )
    scores = {row.entity_id: row for row in conn.execute(scored)}
    return {
        "score": scores.get(importer_id),
        "ties": [dict(x._mapping) for x in ties],
        "neighbours": [
            {"importer_id": other, "kinds": sorted(set(kinds)), "score": scores.get(other)}
            for other, kinds in neighbours.items()
        ],
    }


def _profile(engine, importer_id: str) -> dict:
    # the scoreboard's declarations first: reading them brings its table up to date
    latest = latest_declarations(engine, importer_id, LATEST)
    with engine.connect() as conn:
        entity, identities = identity(conn, importer_id)
        case_counts, latest_cases = cases.of_importer(conn, importer_id, LATEST)
        return {
            "latest": latest,
            "entity": entity,
            "identities": identities,
            "channels": channels(conn, importer_id),
            "case_counts": case_counts,
            "cases": latest_cases,
            "network": network(conn, importer_id),
        }


@router.get("/importers/{importer_id}")
def importer_page(request: Request, engine: Store, user: Reader, importer_id: ImporterId):
    history = importer_history(engine, importer_id)
    if history is None:
        raise HTTPException(404, "importer.not_found")  # said in the page's language
    t = Translator(language_of(request))
    return render(
        request, "importer.html", user, importer_id=importer_id, history=history,
        offences=offence_listing(engine, party=importer_id, limit=LATEST),
        sellers=linked_sellers(engine, user, importer_id, t), TARGETERS=TARGETERS,
        **_profile(engine, importer_id),
    )  # fmt: skip
