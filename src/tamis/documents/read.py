"""Trade documents as they are now: each one checked against its file and its entry in the
transparency log, a declaration's documents with the requests and remote decisions on them,
and what is wrong with the documents of every declaration (what the documents detector
reads).

A document is ``verified`` when its file still has the SHA-256 recorded at upload and that
SHA-256, salted with the document's salt, is the salted hash of its log entry, whose leaf is
the one the log's Merkle tree holds at its index. Otherwise it is ``missing`` (no file),
``altered`` (the file's bytes changed) or ``unregistered`` (the record no longer matches
its log entry: the record, or the log, was changed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, and_, select

from tamis import audit
from tamis.documents import log, merkle
from tamis.documents.log_tables import log_entries, log_nodes
from tamis.documents.tables import document_requests, documents, remote_decisions
from tamis.store import files

REQUESTED, ANSWERED = "requested", "answered"


class DocumentNotFound(LookupError):
    pass


@dataclass
class Check:
    document_id: int
    verdict: str  # verified, missing, altered, unregistered
    detail: str
    log_index: int

    @property
    def ok(self) -> bool:
        return self.verdict == "verified"

    def as_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}


def _leaves(conn: Connection, indexes: list[int]) -> dict[int, tuple[bytes, bytes | None]]:
    """Log index -> (its leaf, the leaf hash the tree holds at that index)."""
    if not indexes:
        return {}
    e, n = log_entries.c, log_nodes.c
    rows = conn.execute(
        select(e.leaf_index, e.leaf, n.hash)
        .join_from(
            log_entries,
            log_nodes,
            and_(n.level == 0, n.node_index == e.leaf_index),
            isouter=True,
        )
        .where(e.leaf_index.in_(indexes))
    )
    return {index: (leaf, node) for index, leaf, node in rows}


def check_rows(conn: Connection, rows: list) -> list[Check]:
    """Each document row checked against its file and its log entry."""
    leaves = _leaves(conn, [r.log_index for r in rows])
    return [_check(row, leaves.get(row.log_index)) for row in rows]


def _check(row, logged: tuple[bytes, bytes | None] | None) -> Check:
    named = f"document {row.document_id} ({row.doc_type}, {row.filename})"
    state = files.state(row.sha256)
    if state == "missing":
        return Check(row.document_id, "missing", f"{named}: its file is missing from storage",
                     row.log_index)  # fmt: skip
    if state == "altered":
        return Check(row.document_id, "altered", f"{named}: the file's bytes changed since it "
                     f"was registered (log entry {row.log_index})", row.log_index)  # fmt: skip
    unregistered = _log_problem(row, logged)
    if unregistered:
        return Check(row.document_id, "unregistered", f"{named}: {unregistered}", row.log_index)
    return Check(row.document_id, "verified", f"{named}: the file matches log entry "
                 f"{row.log_index}", row.log_index)  # fmt: skip


def _log_problem(row, logged: tuple[bytes, bytes | None] | None) -> str | None:
    index = row.log_index
    if logged is None:
        return f"log entry {index} is not in the log"
    leaf, in_tree = logged
    if in_tree != merkle.leaf_hash(leaf):
        return f"log entry {index} is not the leaf the log's tree holds at that index"
    try:
        entry = log.decode_leaf(leaf)
        salted = log.salted_hash(bytes.fromhex(row.salt), bytes.fromhex(row.sha256))
    except (log.LogError, ValueError) as error:
        return f"log entry {index} cannot be read ({error})"
    if salted != entry.salted_hash:
        return f"its sha256 and salt do not give the salted hash of log entry {index}"
    if (entry.doc_type, entry.reference) != (row.doc_type, row.declaration_id):
        return (
            f"log entry {index} registered a {entry.doc_type} of {entry.reference}, not a "
            f"{row.doc_type} of {row.declaration_id}"
        )
    return None


def document(engine: Engine, document_id: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(documents).where(documents.c.document_id == document_id)).first()
    if row is None:
        raise DocumentNotFound(f"document {document_id}: no such document")
    return dict(row._mapping)


def check_document(engine: Engine, document_id: int) -> Check:
    """Whether the document's file is still the one registered in the log."""
    with engine.connect() as conn:
        row = conn.execute(select(documents).where(documents.c.document_id == document_id)).first()
        if row is None:
            raise DocumentNotFound(f"document {document_id}: no such document")
        return check_rows(conn, [row])[0]


def overdue(request: dict, now: datetime) -> bool:
    return request["status"] == REQUESTED and request["due_at"] < now


def of_declaration(engine: Engine, declaration_id: str) -> dict:
    """The declaration's documents (each with its check), the documents asked of the
    declarant and the decisions taken at a distance, oldest first."""
    d, r, rd = documents.c, document_requests.c, remote_decisions.c
    now = audit.now()
    with engine.connect() as conn:
        rows = conn.execute(
            select(documents).where(d.declaration_id == declaration_id).order_by(d.document_id)
        ).all()
        checks = check_rows(conn, rows)
        asked = conn.execute(
            select(document_requests)
            .where(r.declaration_id == declaration_id)
            .order_by(r.request_id)
        ).all()
        decided = conn.execute(
            select(remote_decisions)
            .where(rd.declaration_id == declaration_id)
            .order_by(rd.decision_id)
        ).all()
    requests = [dict(a._mapping) for a in asked]
    return {
        "declaration_id": declaration_id,
        "documents": [
            dict(row._mapping) | {"check": check.as_dict()}
            for row, check in zip(rows, checks, strict=True)
        ],
        "requests": [q | {"overdue": overdue(q, now)} for q in requests],
        "remote_decisions": [dict(x._mapping) for x in decided],
    }


def anything(engine: Engine) -> bool:
    """Whether the store holds any document or request."""
    with engine.connect() as conn:
        for table in (documents, document_requests):
            if conn.execute(select(table).limit(1)).first() is not None:
                return True
    return False


def problems(engine: Engine, now: datetime | None = None) -> list[dict]:
    """What is wrong with declarations' documents: every document that does not check
    (missing, altered, unregistered) and every requested document past its due time, each
    with its declaration."""
    now = now or audit.now()
    d, r = documents.c, document_requests.c
    found = []
    with engine.connect() as conn:
        rows = conn.execute(select(documents).order_by(d.document_id)).all()
        for row, check in zip(rows, check_rows(conn, rows), strict=True):
            if not check.ok:
                found.append(
                    dict(declaration_id=row.declaration_id, problem=check.verdict,
                         document_id=row.document_id, doc_type=row.doc_type,
                         filename=row.filename, log_index=row.log_index)
                )  # fmt: skip
        late = conn.execute(
            select(document_requests)
            .where(r.status == REQUESTED, r.due_at < now)
            .order_by(r.request_id)
        ).all()
    found += [
        dict(declaration_id=q.declaration_id, problem="overdue", request_id=q.request_id,
             doc_type=q.doc_type, due_at=q.due_at)
        for q in late
    ]  # fmt: skip
    return found
