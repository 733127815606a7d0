"""A declaration's trade documents: an officer (or the declarant's upload, through an
officer's session) adds the invoice, certificate of origin, packing list, licence or photo
of the goods; its file is kept by its SHA-256 and registered in the transparency log in the
same transaction as its record, so a document cannot be falsified unseen. An inspector asks
the declarant for a document by a due time; the upload of that type answers the request.
Checked at a distance, a declaration is released (or sent to inspection) without the goods
being seen: never while a requested document is missing or a document fails its check.
Every change is in the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Literal

from sqlalchemy import Connection, Engine, select

from tamis import audit
from tamis.documents import log
from tamis.documents.read import (
    ANSWERED,
    REQUESTED,
    Check,
    DocumentNotFound,
    check_document,
    check_rows,
    document,
)
from tamis.documents.tables import DOC_TYPES, document_requests, documents, remote_decisions
from tamis.refusals import Refusal
from tamis.store import files
from tamis.store.tables import declarations, items

__all__ = ["Check", "DocumentNotFound", "check_document", "document"]
DUE = timedelta(days=2)  # a request's default time to answer
Decision = Literal["release", "inspect"]


class DocumentError(Refusal):
    """A document, request or decision refused; the message names the record and field."""


class DocumentAltered(RuntimeError):
    pass


def _declaration(conn: Connection, declaration_id: str) -> None:
    found = conn.execute(
        select(declarations.c.declaration_id).where(declarations.c.declaration_id == declaration_id)
    ).first()
    if found is None:
        raise LookupError(f"declaration {declaration_id}: no such declaration")


def _doc_type(doc_type: str) -> str:
    if doc_type not in DOC_TYPES:
        raise DocumentError(
            f"doc_type {doc_type!r}: one of {', '.join(DOC_TYPES)}",
            "document.type_unknown",
            field="doc_type",
            doc_type=doc_type,
            expected=list(DOC_TYPES),
        )
    return doc_type


def _item_numbers(conn: Connection, declaration_id: str, given: str | list[int] | None):
    """The items a document is about as stored ('1,3'), each checked; None: the whole."""
    if given is None or given == "" or given == []:
        return None
    parts = given.split(",") if isinstance(given, str) else given
    try:
        numbers = sorted({int(str(p).strip()) for p in parts})
    except ValueError:
        raise DocumentError(
            f"item_numbers {given!r}: item numbers separated by commas",
            "document.item_numbers",
            field="item_numbers",
            given=given,
        ) from None
    known = set(
        conn.execute(
            select(items.c.item_number).where(items.c.declaration_id == declaration_id)
        ).scalars()
    )
    unknown = [n for n in numbers if n not in known]
    if unknown:
        raise DocumentError(
            f"declaration {declaration_id}: no item {', '.join(map(str, unknown))} "
            f"(item_numbers; it has {len(known)} item(s))",
            "document.no_item",
            field="item_numbers",
            unknown=unknown,
            count=len(known),
        )
    return ",".join(map(str, numbers))


def add_document(
    engine: Engine,
    declaration_id: str,
    doc_type: str,
    issuer: str,
    filename: str,
    content_type: str,
    content: BinaryIO,
    actor: str,
    item_numbers: str | list[int] | None = None,
    request_id: int | None = None,
) -> dict:
    """Keep the document's file, record it on the declaration and register it in the log,
    record and entry in one transaction. It answers ``request_id``, else the oldest open
    request of its type on the declaration."""
    _doc_type(doc_type)
    issuer = issuer.strip()
    if not issuer:
        raise DocumentError(
            "issuer: empty (who issued the document?)", "document.issuer_missing", field="issuer"
        )
    with engine.connect() as conn:
        _declaration(conn, declaration_id)
        kept_items = _item_numbers(conn, declaration_id, item_numbers)
    try:
        sha256, size = files.keep(content, filename)
    except files.FileTooLarge as error:
        raise DocumentError(
            str(error), "document.too_large", field="file", megabytes=files.MAX_BYTES // 2**20
        ) from None
    with engine.begin() as conn:
        entry = log.register(conn, bytes.fromhex(sha256), doc_type, declaration_id)
        values = dict(
            declaration_id=declaration_id, item_numbers=kept_items, doc_type=doc_type,
            issuer=issuer[:256], filename=filename[:256],
            content_type=files.content_type_of(sha256, filename),  # what was sent is not trusted
            size=size, sha256=sha256, salt=entry.salt.hex(), log_index=entry.index,
            uploaded_by=actor, uploaded_at=entry.at,
        )  # fmt: skip
        document_id = conn.execute(documents.insert().values(**values)).inserted_primary_key[0]
        answered = _answer(conn, declaration_id, doc_type, document_id, request_id)
        audit.record(conn, actor, "document.add", "declaration", declaration_id, None,
                     values | {"document_id": document_id, "answers": answered,
                               "sent_as": content_type[:128]})  # fmt: skip
    return values | {"document_id": document_id, "answers": answered}


def _answer(
    conn: Connection, declaration_id: str, doc_type: str, document_id: int, request_id: int | None
) -> int | None:
    r = document_requests.c
    query = select(document_requests).where(r.declaration_id == declaration_id)
    if request_id is not None:
        request = conn.execute(query.where(r.request_id == request_id)).first()
        if request is None:
            raise LookupError(f"request {request_id}: no such request on {declaration_id}")
        if request.status != REQUESTED:
            raise DocumentError(f"request {request_id}: already {request.status}")
        if request.doc_type != doc_type:
            raise DocumentError(
                f"request {request_id}: asks for a {request.doc_type}, not a {doc_type} (doc_type)"
            )
    else:
        request = conn.execute(
            query.where(r.status == REQUESTED, r.doc_type == doc_type).order_by(r.request_id)
        ).first()
        if request is None:
            return None
    conn.execute(
        document_requests.update()
        .where(r.request_id == request.request_id)
        .values(status=ANSWERED, answered_by_document_id=document_id)
    )
    return request.request_id


def open_document(engine: Engine, document_id: int) -> tuple[dict, Path]:
    """The document's row and file, refused when it no longer checks."""
    row = document(engine, document_id)
    check = check_document(engine, document_id)
    if check.verdict == "missing":
        raise DocumentNotFound(check.detail)
    if not check.ok:
        raise DocumentAltered(check.detail)
    return row, files.path_of(row["sha256"])


def request_document(
    engine: Engine,
    declaration_id: str,
    doc_type: str,
    actor: str,
    due_at: datetime | None = None,
    note: str | None = None,
    asked_at: datetime | None = None,
) -> dict:
    """Ask the declarant for a document of ``doc_type``, by ``due_at`` (two days if not
    said); ``asked_at``: when it was asked, if not now (a request loaded afterwards)."""
    _doc_type(doc_type)
    now = audit.naive_utc(asked_at) or audit.now()
    due_at = audit.naive_utc(due_at) or now + DUE
    if due_at <= now:
        raise DocumentError(
            f"due_at {due_at:%Y-%m-%d %H:%M}: not after it was asked",
            "document.due_past",
            field="due_at",
            due_at=due_at,
        )
    values = dict(
        declaration_id=declaration_id, doc_type=doc_type, note=note or None, asked_by=actor,
        asked_at=now, due_at=due_at, answered_by_document_id=None, status=REQUESTED,
    )  # fmt: skip
    with engine.begin() as conn:
        _declaration(conn, declaration_id)
        request_id = conn.execute(document_requests.insert().values(**values)).inserted_primary_key[
            0
        ]
        audit.record(conn, actor, "document.request", "declaration", declaration_id, None,
                     values | {"request_id": request_id})  # fmt: skip
    return values | {"request_id": request_id}


def answer(
    engine: Engine,
    request_id: int,
    issuer: str,
    filename: str,
    content_type: str,
    content: BinaryIO,
    actor: str,
    item_numbers: str | list[int] | None = None,
) -> dict:
    """The document a request asked for, uploaded: added as its type, answering it."""
    with engine.connect() as conn:
        request = conn.execute(
            select(document_requests).where(document_requests.c.request_id == request_id)
        ).first()
    if request is None:
        raise LookupError(f"request {request_id}: no such request")
    return add_document(
        engine, request.declaration_id, request.doc_type, issuer, filename, content_type,
        content, actor, item_numbers, request_id,
    )  # fmt: skip


def decide_remotely(
    engine: Engine, declaration_id: str, decision: Decision, actor: str, note: str | None = None
) -> dict:
    """Release the goods, or send them to inspection, on the documents checked at a
    distance. A release is refused while a requested document has not arrived or any of the
    declaration's documents fails its check, and when there is no document to check."""
    if decision not in ("release", "inspect"):
        raise DocumentError(
            f"decision {decision!r}: release, or inspect",
            "document.decision_unknown",
            field="decision",
            decision=decision,
        )
    d = documents.c
    with engine.begin() as conn:
        _declaration(conn, declaration_id)
        if decision == "release":
            _releasable(conn, declaration_id)
        values = dict(declaration_id=declaration_id, decision=decision, decided_by=actor,
                      decided_at=audit.now(), note=note or None)  # fmt: skip
        decision_id = conn.execute(remote_decisions.insert().values(**values)).inserted_primary_key[
            0
        ]
        checked = conn.execute(
            select(d.document_id).where(d.declaration_id == declaration_id)
        ).scalars()
        audit.record(conn, actor, f"declaration.remote_{decision}", "declaration",
                     declaration_id, None, values | {"decision_id": decision_id,
                                                     "documents": list(checked)})  # fmt: skip
    return values | {"decision_id": decision_id}


def _releasable(conn: Connection, declaration_id: str) -> None:
    r, d = document_requests.c, documents.c
    missing = conn.execute(
        select(document_requests)
        .where(r.declaration_id == declaration_id, r.status == REQUESTED)
        .order_by(r.request_id)
    ).first()
    if missing is not None:
        raise DocumentError(
            f"declaration {declaration_id}: not released, the {missing.doc_type} requested "
            f"(request {missing.request_id}, due {missing.due_at:%Y-%m-%d %H:%M}) has not arrived",
            "document.release_awaits",
            doc_type=missing.doc_type,
            due_at=missing.due_at,
        )
    rows = conn.execute(
        select(documents).where(d.declaration_id == declaration_id).order_by(d.document_id)
    ).all()
    if not rows:
        raise DocumentError(
            f"declaration {declaration_id}: not released, it has no document to check at a "
            "distance",
            "document.release_nothing",
        )
    failed = next((c for c in check_rows(conn, rows) if not c.ok), None)
    if failed is not None:
        raise DocumentError(
            f"declaration {declaration_id}: not released, {failed.detail}",
            "document.release_failed",
            document_id=failed.document_id,
            verdict=failed.verdict,
        )


def proof(engine: Engine, document_id: int) -> dict:
    """What proves offline that a document was registered: the log's bundle of its entry
    (inclusion proof, checkpoint, cosignatures) with the document's salt, given with the
    file to whoever must check it (``tamis documents verify``)."""
    row = document(engine, document_id)
    return log.bundle(engine, row["log_index"]) | {
        "document": {"document_id": document_id, "filename": row["filename"],
                     "sha256": row["sha256"], "salt": row["salt"]}
    }  # fmt: skip
