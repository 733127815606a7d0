"""Attachments of a case (photos of the goods, documents): the file on disk under its
SHA-256 (``tamis.store.files``), the row in SQL with the checksum; a file whose bytes
changed is refused."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine, select

from tamis import audit
from tamis.cases.cases import CaseError, _row
from tamis.store import files
from tamis.store.tables import attachments


class AttachmentMissing(LookupError):
    pass


class AttachmentAltered(RuntimeError):
    """The file on disk no longer has the checksum recorded when it was stored."""


def store_attachment(
    engine: Engine, case_id: int, filename: str, content_type: str, content: BinaryIO, actor: str
) -> dict:
    """Stream the content to disk (at most ``files.MAX_BYTES``), then record it on the case."""
    with engine.connect() as conn:
        _row(conn, case_id)
    try:
        sha256, size = files.keep(content, filename)
    except files.FileTooLarge as error:
        raise CaseError(str(error)) from None
    values = dict(
        case_id=case_id,
        filename=filename,
        content_type=files.content_type_of(sha256, filename),  # what was sent is not trusted
        size=size,
        sha256=sha256,
        uploaded_by=actor,
        uploaded_at=audit.now(),
    )
    with engine.begin() as conn:
        attachment_id = conn.execute(attachments.insert().values(**values)).inserted_primary_key[0]
        audit.record(conn, actor, "case.attach", "case", case_id, None,
                     values | {"sent_as": content_type[:128]})  # fmt: skip
    return values | {"attachment_id": attachment_id}


def open_attachment(engine: Engine, attachment_id: int) -> tuple[dict, Path]:
    """The attachment's row and its file, after checking the file still has its checksum."""
    with engine.connect() as conn:
        row = conn.execute(
            select(attachments).where(attachments.c.attachment_id == attachment_id)
        ).first()
    if row is None:
        raise AttachmentMissing(f"no attachment {attachment_id}")
    state = files.state(row.sha256)
    if state == "missing":
        raise AttachmentMissing(f"attachment {attachment_id}: its file is missing from storage")
    if state == "altered":
        raise AttachmentAltered(f"attachment {attachment_id}: the stored file was altered")
    return dict(row._mapping), files.path_of(row.sha256)
