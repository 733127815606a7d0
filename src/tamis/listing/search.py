"""The search box: what someone typed, taken as the one thing it names (a declaration, a
case, an importer, an HS code or chapter), else the declarations and importers whose
identifiers start with it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Engine, and_, func, select

from tamis.listing.page import code_range
from tamis.store.tables import MAX_ID, cases, declarations, items

CASE = re.compile(r"^(?:#|(?:case|dossier)\s*(?:no\.?|n°)?\s*#?)\s*(\d{1,10})$", re.IGNORECASE)
DIGITS = re.compile(r"^\d{2,10}$")
LIMIT = 20  # matches shown of each kind
LONGEST = 64  # an identifier is never longer


@dataclass(frozen=True)
class Found:
    """What a search found: ``kind`` is declaration, case, importer or hs for the one
    thing named (``key`` says which), else "matches" with the lists (empty: nothing)."""

    kind: str
    key: str = ""
    declarations: list[str] = field(default_factory=list)
    importers: list[dict] = field(default_factory=list)


def _case(conn, number: str) -> bool:
    if int(number) > MAX_ID:
        return False
    found = select(cases.c.case_id).where(cases.c.case_id == int(number))
    return conn.execute(found).first() is not None


def _starting(column: ColumnElement, prefix: str) -> ColumnElement:
    """``column`` starts with ``prefix``: an index range (the highest code point closes it
    on both stores), checked again by LIKE whatever the collation says."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return and_(
        column >= prefix, column < prefix + "\U0010ffff", column.like(escaped + "%", escape="\\")
    )


def search(engine: Engine, typed: str) -> Found:
    """What ``typed`` names: a case by "#12" or "case 12"; an exact declaration or importer
    id; digits as an HS code or chapter when an item is classified under it, else as a case
    number; otherwise declarations and importers whose ids start with it."""
    q = " ".join(typed.split())[:LONGEST]
    if not q:
        return Found("matches")
    code = q.upper()
    d = declarations
    with engine.connect() as conn:
        if (named := CASE.match(q)) and _case(conn, named[1]):
            return Found("case", str(int(named[1])))
        if conn.execute(select(d.c.declaration_id).where(d.c.declaration_id == code)).first():
            return Found("declaration", code)
        if conn.execute(select(d.c.importer_id).where(d.c.importer_id == code).limit(1)).first():
            return Found("importer", code)
        if DIGITS.match(q):
            classified = select(items.c.hs_code).where(code_range(items.c.hs_code, q)).limit(1)
            if conn.execute(classified).first():
                return Found("hs", q)
            if _case(conn, q):
                return Found("case", str(int(q)))
        ids = conn.execute(
            select(d.c.declaration_id)
            .where(_starting(d.c.declaration_id, code))
            .order_by(d.c.declaration_id)
            .limit(LIMIT)
        ).scalars()
        importer_ids = (
            conn.execute(
                select(d.c.importer_id)
                .where(_starting(d.c.importer_id, code))
                .distinct()
                .order_by(d.c.importer_id)
                .limit(LIMIT)
            )
            .scalars()
            .all()
        )
        named = conn.execute(
            select(d.c.importer_id, func.max(d.c.importer_name).label("importer_name"))
            .where(d.c.importer_id.in_(importer_ids))
            .group_by(d.c.importer_id)
            .order_by(d.c.importer_id)
        )
        return Found("matches", q, list(ids), [dict(r._mapping) for r in named])
