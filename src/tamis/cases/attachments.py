"""Attachments of a case (photos of the goods, documents): the file on disk under its
SHA-256, the row in SQL with the checksum; a file whose bytes changed is refused."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine, select

from tamis import audit
from tamis.cases.cases import CaseError, _row
from tamis.settings import settings
from tamis.store.tables import attachments

MAX_BYTES = 50 * 1024 * 1024
CHUNK = 1024 * 1024


class AttachmentMissing(LookupError):
    pass


class AttachmentAltered(RuntimeError):
    """The file on disk no longer has the checksum recorded when it was stored."""


def _folder() -> Path:
    return Path(settings().attachments_dir)


def _path(sha256: str) -> Path:
    return _folder() / sha256[:2] / sha256


def store_attachment(
    engine: Engine, case_id: int, filename: str, content_type: str, content: BinaryIO, actor: str
) -> dict:
    """Stream the content to disk (at most ``MAX_BYTES``), then record it on the case."""
    with engine.connect() as conn:
        _row(conn, case_id)
    digest, size = hashlib.sha256(), 0
    _folder().mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=_folder(), delete=False) as spool:
        while chunk := content.read(CHUNK):
            size += len(chunk)
            if size > MAX_BYTES:
                Path(spool.name).unlink()
                raise CaseError(f"file {filename!r}: larger than {MAX_BYTES // 2**20} MiB")
            digest.update(chunk)
            spool.write(chunk)
    sha256 = digest.hexdigest()
    target = _path(sha256)
    target.parent.mkdir(exist_ok=True)
    shutil.move(spool.name, target)  # same content, same name: storing twice is harmless
    values = dict(
        case_id=case_id,
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=sha256,
        uploaded_by=actor,
        uploaded_at=audit.now(),
    )
    with engine.begin() as conn:
        attachment_id = conn.execute(attachments.insert().values(**values)).inserted_primary_key[0]
        audit.record(conn, actor, "case.attach", "case", case_id, None, values)
    return values | {"attachment_id": attachment_id}


def open_attachment(engine: Engine, attachment_id: int) -> tuple[dict, Path]:
    """The attachment's row and its file, after checking the file still has its checksum."""
    with engine.connect() as conn:
        row = conn.execute(
            select(attachments).where(attachments.c.attachment_id == attachment_id)
        ).first()
    if row is None:
        raise AttachmentMissing(f"no attachment {attachment_id}")
    path = _path(row.sha256)
    if not path.is_file():
        raise AttachmentMissing(f"attachment {attachment_id}: its file is missing from storage")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != row.sha256:
        raise AttachmentAltered(f"attachment {attachment_id}: the stored file was altered")
    return dict(row._mapping), path
