"""Case pages: the queue by office and status, a case with its declaration, notes,
attachments and results, and the forms that record an inspection result (validated as the
API validates it, every problem named), move the case, note it or assign it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select

from tamis import audit
from tamis.api.auth import FIELD, READERS, TARGETERS
from tamis.api.deps import RecordId, Store
from tamis.assess import latest_decision
from tamis.cases import cases
from tamis.cases.api import OwnCase as OwnCasePage
from tamis.cases.results import AHEAD_OF_UTC, InspectionIn, corrections, record_result
from tamis.declarations import FraudType, InspectionResult
from tamis.offences.read import offence_of_declaration
from tamis.store.tables import declarations, users
from tamis.users import User
from tamis.web.i18n import Translator, language_of, typed
from tamis.web.problems import refusal, validation_problems
from tamis.web.render import as_page, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)
Targeter = as_page(TARGETERS)
RESULT_FIELDS = tuple(InspectionIn.model_fields)
MONEY_FIELDS = ("revenue_recovered", "corrected_customs_value")


def _case(engine, case_id: int) -> dict:
    try:
        return cases.get_case(engine, case_id)
    except cases.CaseNotFound as error:
        raise HTTPException(404, str(error)) from None


def _assignees(engine) -> list[str]:
    query = select(users.c.username).where(
        users.c.role.in_(cases.ASSIGNABLE_ROLES), users.c.active == 1
    )
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(users.c.username)).scalars())


def _minor(amount: float | None) -> int | None:
    return None if amount is None else round(amount * 100)


def _importer_of(conn, declaration_id: str | None) -> str | None:
    if declaration_id is None:
        return None
    query = select(declarations.c.importer_id).where(
        declarations.c.declaration_id == declaration_id
    )
    return conn.execute(query).scalar()


def _case_page(request: Request, engine, user: User, case_id: int, status_code=200, **form):
    case = _case(engine, case_id)
    declaration_id = case["declaration_id"]
    decision = latest_decision(engine, declaration_id) if declaration_id else None
    with engine.connect() as conn:
        offence = declaration_id and offence_of_declaration(conn, declaration_id)
        corrected = corrections(conn, declaration_id) if declaration_id else []
        importer_id = _importer_of(conn, declaration_id)
    status = cases.Status(case["status"])
    acts = user.role in FIELD.roles and cases.not_theirs(engine, case_id, user) is None
    return render(
        request, "case.html", user, status_code=status_code, case=case,
        reasons=decision["reasons"] if decision else [], importer_id=importer_id,
        results=[r.value for r in InspectionResult], fraud_types=[f.value for f in FraudType],
        moves=[s.value for s in cases.MOVES[status]], closable=status in cases.CLOSING,
        acts=acts, corrections=[c for c in corrected if c["case_id"] == case_id],
        assignees=_assignees(engine), FIELD=FIELD, TARGETERS=TARGETERS, offence=offence,
        stake_minor=_minor(case["revenue_at_stake"]),
        latest_inspection=f"{audit.now() + AHEAD_OF_UTC:%Y-%m-%dT%H:%M}",
        form=form.get("form", {}), errors=form.get("errors", []), problem=form.get("problem"),
        failed=form.get("failed"),
    )  # fmt: skip


@router.get("/cases/{case_id}")
def case_page(request: Request, engine: Store, user: Reader, case_id: RecordId):
    return _case_page(request, engine, user, case_id)


def _typed(form: dict[str, str]) -> dict[str, str]:
    """Amounts as people type them: '1 234,56' is 1234.56."""
    return {k: typed(v) if k in MONEY_FIELDS else v for k, v in form.items() if v}


@router.post("/cases/{case_id}/result", dependencies=[Depends(check_csrf)])
async def result(request: Request, engine: Store, user: OwnCasePage, case_id: RecordId):
    form = {k: v.strip() for k, v in (await request.form()).items() if k in RESULT_FIELDS}
    t = Translator(language_of(request))
    try:
        found = InspectionIn.model_validate(_typed(form))
        record_result(engine, case_id, found, user.username)
    except ValidationError as error:
        problems = validation_problems(error.errors(), t)
        return _case_page(request, engine, user, case_id, 422, form=form, errors=problems)
    except cases.CaseError as error:
        problem = refusal(error, t)
        return _case_page(request, engine, user, case_id, 409, form=form, problem=problem)
    return RedirectResponse(f"/cases/{case_id}", 303)


def _then_back(engine, request: Request, user: User, case_id: int, change, **said) -> object:
    """Back to the case, or the case again saying why not (``said``: the form that failed)."""
    t = Translator(language_of(request))
    try:
        change()
    except cases.ClosingRefused:
        return _case_page(
            request, engine, user, case_id, 409, problem=t("cases.close_needs_reason"), **said
        )
    except cases.CaseError as error:
        return _case_page(request, engine, user, case_id, 409, problem=refusal(error, t), **said)
    except cases.CaseNotFound as error:
        raise HTTPException(404, str(error)) from None
    return RedirectResponse(f"/cases/{case_id}", 303)


@router.post("/cases/{case_id}/status", dependencies=[Depends(check_csrf)])
def move(
    request: Request, engine: Store, user: OwnCasePage, case_id: RecordId,
    status: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
):  # fmt: skip
    """A plain move, or (``closed`` with its reason) closing without inspection."""
    if not status:
        problem = Translator(language_of(request))("cases.choose_status")
        return _case_page(request, engine, user, case_id, 422, problem=problem)

    def change() -> None:
        with engine.begin() as conn:
            cases.set_status(conn, case_id, status, user.username, reason)

    failed = "close" if status == cases.Status.CLOSED else "move"
    return _then_back(
        engine, request, user, case_id, change, failed=failed, form={"reason": reason}
    )


@router.post("/cases/{case_id}/notes", dependencies=[Depends(check_csrf)])
def note(
    request: Request, engine: Store, user: OwnCasePage, case_id: RecordId,
    text: Annotated[str, Form(max_length=20_000)],
):  # fmt: skip
    return _then_back(
        engine, request, user, case_id,
        lambda: cases.add_note(engine, case_id, text, user.username),
    )  # fmt: skip


@router.post("/cases/{case_id}/assign", dependencies=[Depends(check_csrf)])
def assign(
    request: Request, engine: Store, user: Targeter, case_id: RecordId,
    assignee: Annotated[str, Form(max_length=64)],
):  # fmt: skip
    return _then_back(
        engine, request, user, case_id,
        lambda: cases.assign(engine, case_id, assignee, user.username),
    )  # fmt: skip
