"""The declaration page's trade documents: each with its check against the documents log,
the documents asked of the declarant, the decisions taken at a distance, and the
credentials issued about the consignment or its importer, each verified now (shown only: a
credential lowers no risk)."""

from __future__ import annotations

import json
from datetime import datetime

from tamis.documents import credentials, read
from tamis.documents.tables import DOC_TYPES
from tamis.refusals import Refusal


def documents_of(engine, declaration_id: str, importer_id: str | None) -> dict:
    """What the page shows of the declaration's documents and credentials."""
    dossier = read.of_declaration(engine, declaration_id)
    subjects = [declaration_id] + ([importer_id] if importer_id else [])
    issued = credentials.of_subjects(engine, subjects)
    verified = []
    if issued:
        key = credentials.issuer_key()
        lists = {}
        for row in issued:
            if row["status_list"] not in lists:
                lists[row["status_list"]] = credentials.status_list(engine, row["status_list"], key)
            verdict = credentials.verify(
                json.loads(row["json"]), key.public_key(), lists[row["status_list"]]
            )
            verified.append(row | {"verdict": verdict.as_dict()})
    return dossier | {"credentials": verified, "doc_types": DOC_TYPES}


def due_at(text: str) -> datetime | None:
    """A request's due time as a datetime-local field gives it (empty: the default)."""
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as error:
        raise Refusal(str(error), "document.due_unreadable", field="due_at", given=text) from None
