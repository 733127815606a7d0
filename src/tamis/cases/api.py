"""The targeting centre over HTTP: cases, inspection results, watchlists, post-clearance
audit, mutual assistance and importers' history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from tamis.api.auth import FIELD, PARTNERS, READERS, TARGETERS, Allow
from tamis.api.deps import MAX_ID, Offset, RecordId, Store
from tamis.cases import assistance, attachments, cases, post_clearance, watchlists
from tamis.cases.results import InspectionIn, record_inspection, record_result
from tamis.importers import importer_history
from tamis.store.files import UPLOAD_BODY_BYTES
from tamis.users import Role, User

Reader = Annotated[User, Depends(READERS)]
Targeter = Annotated[User, Depends(TARGETERS)]
FieldOfficer = Annotated[User, Depends(FIELD)]
Correspondent = Annotated[
    User, Depends(Allow(Role.ADMIN, Role.ANALYST, Role.AUDITOR, Role.PARTNER))
]


def own_case(engine: Store, user: FieldOfficer, case_id: RecordId) -> User:
    """An officer acting on a case: an inspector only on theirs, or on an unassigned one of
    their office."""
    try:
        refused = cases.not_theirs(engine, case_id, user)
    except cases.CaseNotFound as error:
        raise HTTPException(404, str(error)) from None
    if refused:
        raise HTTPException(403, refused)
    return user


OwnCase = Annotated[User, Depends(own_case)]


def _refused(error: Exception) -> HTTPException:
    """Our domain errors as HTTP: a missing thing is 404, a refused change 409."""
    if isinstance(error, LookupError):
        return HTTPException(404, str(error))
    return HTTPException(409, str(error))


REFUSED = (LookupError, cases.CaseError, assistance.AssistanceError, ValueError)


def refusals() -> Iterator[None]:
    """Every route here answers our domain's refusals the same way."""
    try:
        yield
    except REFUSED as error:
        raise _refused(error) from None


router = APIRouter(prefix="/api", tags=["targeting centre"], dependencies=[Depends(refusals)])


class CaseIn(BaseModel):
    reason: str = Field(min_length=3)
    declaration_id: str | None = Field(None, max_length=64)
    office: str | None = Field(None, max_length=64)


class Assignment(BaseModel):
    assignee: str = Field(min_length=1, max_length=64)


class StatusIn(BaseModel):
    """A move (open, in_inspection); ``closed`` closes the case without inspection, and
    needs ``reason``: a case closes otherwise through its inspection result."""

    status: cases.Status
    reason: str | None = Field(None, max_length=2000, description="why closed without inspection")


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


@router.get("/cases")
def list_cases(
    engine: Store,
    user: Reader,
    office: str | None = None,
    status: cases.Status | None = None,
    assignee: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[dict]:
    """The queue: highest score first, then most revenue at stake."""
    return [cases.in_words(c) for c in cases.queue(engine, office, status, assignee, limit, offset)]


@router.post("/cases", status_code=201)
def open_case(engine: Store, user: Targeter, body: CaseIn) -> dict:
    """An analyst's own suspicion opens a case."""
    case_id = cases.open_case(engine, body.reason, user.username, body.declaration_id, body.office)
    return cases.in_words(cases.get_case(engine, case_id))


@router.get("/cases/{case_id}")
def get_case(engine: Store, user: Reader, case_id: RecordId) -> dict:
    return cases.in_words(cases.get_case(engine, case_id))


def _then_show(engine, case_id: int, change, *args) -> dict:
    change(*args)
    return cases.in_words(cases.get_case(engine, case_id))


@router.post("/cases/{case_id}/assign")
def assign(engine: Store, user: Targeter, case_id: RecordId, body: Assignment) -> dict:
    return _then_show(engine, case_id, cases.assign, engine, case_id, body.assignee, user.username)


@router.post("/cases/{case_id}/status")
def set_status(engine: Store, user: OwnCase, case_id: RecordId, body: StatusIn) -> dict:
    def move() -> None:
        with engine.begin() as conn:
            cases.set_status(conn, case_id, body.status, user.username, body.reason)

    return _then_show(engine, case_id, move)


@router.post("/cases/{case_id}/notes", status_code=201)
def add_note(engine: Store, user: OwnCase, case_id: RecordId, body: NoteIn) -> dict:
    return _then_show(engine, case_id, cases.add_note, engine, case_id, body.text, user.username)


@router.post("/cases/{case_id}/attachments", status_code=201, max_body_size=UPLOAD_BODY_BYTES)
def attach(engine: Store, user: OwnCase, case_id: RecordId, file: UploadFile) -> dict:
    """A photo of the goods or a document: stored on disk by checksum, not in SQL."""
    return attachments.store_attachment(
        engine,
        case_id,
        file.filename or "attachment",
        file.content_type or "application/octet-stream",
        file.file,
        user.username,
    )


@router.get("/attachments/{attachment_id}", response_class=FileResponse)
def download(engine: Store, user: Reader, attachment_id: RecordId) -> FileResponse:
    try:
        row, path = attachments.open_attachment(engine, attachment_id)
    except attachments.AttachmentMissing as error:
        raise HTTPException(404, str(error)) from None
    except attachments.AttachmentAltered as error:
        raise HTTPException(409, str(error)) from None
    return FileResponse(path, media_type=row["content_type"], filename=row["filename"])


@router.post("/cases/{case_id}/result")
def case_result(engine: Store, user: OwnCase, case_id: RecordId, body: InspectionIn) -> dict:
    """Record what the inspection found; the case closes."""
    return _then_show(engine, case_id, record_result, engine, case_id, body, user.username)


@router.post("/declarations/{declaration_id}/inspection", status_code=201)
def declaration_result(
    engine: Store, user: FieldOfficer, declaration_id: str, body: InspectionIn
) -> dict:
    """A result on a declaration without a case (e.g. a random or documentary check)."""
    record_inspection(engine, declaration_id, body, user.username)
    return {"declaration_id": declaration_id, "recorded": True}


@router.get("/importers/{importer_id}")
def importer(engine: Store, user: Reader, importer_id: str) -> dict:
    history = importer_history(engine, importer_id)
    if history is None:
        raise HTTPException(404, f"no declaration from importer {importer_id!r}")
    return history


@router.get("/watchlists")
def list_watchlists(engine: Store, user: Reader) -> list[watchlists.Watchlist]:
    return watchlists.all_watchlists(engine)


def _fresh_assessor(request: Request) -> None:
    request.app.state.assessor = None  # the next lodgement uses the lists as they are now


@router.post("/watchlists", status_code=201)
def create_watchlist(
    request: Request, engine: Store, user: Targeter, body: watchlists.WatchlistIn
) -> watchlists.Watchlist:
    watchlist_id = watchlists.create(engine, body, user.username)
    _fresh_assessor(request)
    return watchlists.get(engine, watchlist_id)


@router.put("/watchlists/{watchlist_id}")
def change_watchlist(
    request: Request,
    engine: Store,
    user: Targeter,
    watchlist_id: RecordId,
    body: watchlists.WatchlistIn,
) -> watchlists.Watchlist:
    watchlists.change(engine, watchlist_id, body, user.username)
    _fresh_assessor(request)
    return watchlists.get(engine, watchlist_id)


@router.post("/watchlists/{watchlist_id}/run")
def run_watchlist(engine: Store, user: Targeter, watchlist_id: RecordId) -> dict:
    """Look for hits among the declarations already stored."""
    return {"new_hits": watchlists.run(engine, watchlist_id, user.username)}


@router.get("/watchlists/{watchlist_id}/report")
def watchlist_report(engine: Store, user: Reader, watchlist_id: RecordId) -> dict:
    return watchlists.report(engine, watchlist_id)


class AuditSelectionIn(BaseModel):
    budget: int = Field(ge=1, le=100_000, description="how many audits can be done")
    since: datetime | None = None
    until: datetime | None = None


@router.post("/post-clearance/selections", status_code=201)
def select_for_audit(engine: Store, user: Targeter, body: AuditSelectionIn) -> dict:
    return post_clearance.select_for_audit(
        engine, body.budget, user.username, body.since, body.until
    )


@router.get("/post-clearance/selections")
def audit_selections(engine: Store, user: Reader) -> list[dict]:
    return post_clearance.selections(engine)


@router.get("/post-clearance/selections/{selection_id}")
def audit_selection(engine: Store, user: Reader, selection_id: RecordId) -> dict:
    return post_clearance.get_selection(engine, selection_id)


class AnswerIn(BaseModel):
    answer: str = Field(min_length=1)


@router.get("/assistance")
def list_assistance(
    engine: Store,
    user: Correspondent,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[dict]:
    """Requests exchanged with partners; a partner sees only its own."""
    return assistance.requests(engine, user, case_id)


@router.post("/assistance", status_code=201)
def create_assistance(engine: Store, user: Targeter, body: assistance.AssistanceIn) -> dict:
    request_id = assistance.create(engine, body, user)
    return assistance.get(engine, request_id, user)


@router.get("/assistance/{request_id}")
def get_assistance(engine: Store, user: Correspondent, request_id: RecordId) -> dict:
    return assistance.get(engine, request_id, user)


@router.post("/assistance/{request_id}/answer")
def answer_assistance(
    engine: Store, user: Annotated[User, Depends(PARTNERS)], request_id: RecordId, body: AnswerIn
) -> dict:
    return _then_assistance(engine, request_id, user, assistance.answer, body.answer)


@router.post("/assistance/{request_id}/close")
def close_assistance(engine: Store, user: Targeter, request_id: RecordId) -> dict:
    return _then_assistance(engine, request_id, user, assistance.close)


def _then_assistance(engine, request_id: int, user: User, change, *args) -> dict:
    change(engine, request_id, *args, user)
    return assistance.get(engine, request_id, user)
