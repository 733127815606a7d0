"""Offence pages (contentieux): the queue with its limitation and instalment alerts, an
offence with how its penalty was reached and the forms of its next step (as its status and
the officer's role allow), and an offender's record."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select

from tamis import audit
from tamis.api.auth import FIELD, READERS, SUPERVISORS
from tamis.api.deps import RecordId, Store
from tamis.offences import read, records, settlement
from tamis.offences.api import Refused, full
from tamis.offences.read import OffenceNotFound, Status
from tamis.offences.schedule import Base, settlement_bounds
from tamis.offences.settlement import JudgmentIn, PaymentIn, SettlementIn
from tamis.offences.tables import offence_parties, offences
from tamis.users import User
from tamis.web.i18n import Translator, language_of, typed, typed_day
from tamis.web.problems import refusal, validation_problems
from tamis.web.render import as_page, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)
Officer = as_page(FIELD)
Supervisor = as_page(SUPERVISORS)
Short = Annotated[str, Form(max_length=128)]
Long = Annotated[str, Form(max_length=20_000)]
STATUSES = [s.value for s in Status]
# The steps an offence can take next: the statuses it takes them in, and who takes them.
STEPS = (
    ("settlement", (Status.OPEN,), FIELD),
    ("decision", (Status.SETTLEMENT_PROPOSED,), SUPERVISORS),
    ("acceptance", (Status.SETTLEMENT_APPROVED,), FIELD),
    ("court", settlement.BEFORE_COURT, SUPERVISORS),
    ("judgment", (Status.IN_COURT,), SUPERVISORS),
    ("payment", settlement.PAYABLE, FIELD),
)


def filled(form: dict[str, str]) -> dict[str, str]:
    """The fields given, amounts as typed."""
    return {k: typed(v) if k == "amount" else v for k, v in form.items() if v}


def plan(text: str) -> list[dict]:
    """Instalments as typed, one a line: its due day, then its amount."""
    lines = (line.split(maxsplit=1) for line in text.splitlines() if line.strip())
    return [
        {"due_on": typed_day(due), "amount": typed(rest[0]) if rest else ""} for due, *rest in lines
    ]


def _figure(t: Translator, text: str | Decimal) -> str:
    value = Decimal(text)
    return t.number(float(value), 0 if value == value.to_integral_value() else 2)


def explained(offence: dict, rule, round_to: Decimal, t: Translator) -> list[str]:
    """How the penalty was reached, a step a line, in the page's language."""
    basis, currency = offence["penalty_basis"], offence["currency"]
    money = lambda key: f"{_figure(t, basis[key])} {currency}"  # noqa: E731
    if rule.base is Base.FIXED:
        lines = [t("offence.basis.fixed", amount=f"{_figure(t, rule.amount)} {currency}")]
    else:
        lines = [
            t("offence.basis.multiple", base=t(f"offence.base.{rule.base}"), value=money("base"),
              multiple=_figure(t, rule.multiple))
        ]  # fmt: skip
    if Decimal(basis["aggravation"]) != 1:
        lines.append(
            t("offence.basis.repeat", times=_figure(t, basis["aggravation"]),
              number=offence["repeat_of"])
        )  # fmt: skip
    lines.append(t("offence.basis.raw", amount=money("raw")))
    if basis["bound"]:
        lines.append(t(f"offence.basis.{basis['bound']}", amount=money(basis["bound"])))
    lines.append(
        t("offence.basis.rounded", step=_figure(t, round_to),
          amount=f"{t.money(offence['penalty_minor'])} {currency}")
    )  # fmt: skip
    return lines


def _offices(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(offences.c.office).distinct().order_by("office")).scalars())


@router.get("/offences")
def queue_page(
    request: Request,
    engine: Store,
    user: Reader,
    office: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=24)] = None,
):
    status = status if status in STATUSES else None
    rows = read.listing(engine, office or None, status and Status(status), limit=300)
    alerts = settlement.alerts(engine, audit.now().date())
    return render(
        request, "offences.html", user, offences=rows, alerts=alerts, offices=_offices(engine),
        office=office or "", status=status or "", statuses=STATUSES,
    )  # fmt: skip


def _offence_page(
    request: Request, engine, user: User, offence_id: int, status_code: int = 200, **said
):
    """The offence; ``said``: the step that failed, what was typed and why it was refused."""
    try:
        offence = full(engine, offence_id)
    except OffenceNotFound as error:
        raise HTTPException(404, str(error)) from None
    with engine.connect() as conn:
        version = read.stored_version(conn, offence["schedule_version"])
    offence_class = version.offence_class(offence["class_code"])
    proposal = offence["settlements"][-1] if offence["settlements"] else None
    steps = [
        name
        for name, statuses, group in STEPS
        if offence["status"] in statuses
        and user.role in group.roles
        # the officer who proposed a settlement does not decide it
        and not (name == "decision" and proposal["proposed_by"] == user.username)
    ]
    t = Translator(language_of(request))
    return render(
        request, "offence.html", user, status_code=status_code, o=offence,
        class_name=offence_class.name(t.language),
        basis=explained(offence, offence_class.penalty, version.round_to, t),
        bounds=settlement_bounds(offence_class, read.amount(offence["penalty_minor"])),
        proposal=proposal, steps=steps, failed=said.get("failed"), form=said.get("form", {}),
        errors=said.get("errors", []), problem=said.get("problem"),
    )  # fmt: skip


@router.get("/offences/{offence_id}")
def offence_page(request: Request, engine: Store, user: Reader, offence_id: RecordId):
    return _offence_page(request, engine, user, offence_id)


@router.post("/offences/from-inspection/{declaration_id}", dependencies=[Depends(check_csrf)])
def open_from_inspection(
    engine: Store, user: Officer, declaration_id: Annotated[str, Path(max_length=64)]
):
    """The offence of a declaration's non-compliant inspection result, from its case page."""
    try:
        opened = records.open_from_inspection(engine, declaration_id, user.username)
    except Refused as error:
        raise HTTPException(409, str(error)) from None
    return RedirectResponse(f"/offences/{opened['offence_id']}", 303)


def _step(
    request: Request, engine, user: User, offence_id: int, step: str, form: dict,
    take: Callable[[], object],
):  # fmt: skip
    """Take a step from the offence's page: back to it, or the page again saying why not."""
    said = {"failed": step, "form": form}
    t = Translator(language_of(request))
    try:
        take()
    except ValidationError as error:
        problems = validation_problems(error.errors(), t)
        return _offence_page(request, engine, user, offence_id, 422, errors=problems, **said)
    except OffenceNotFound as error:
        raise HTTPException(404, str(error)) from None
    except Refused as error:
        problem = refusal(error, t, "offence.field.")
        return _offence_page(request, engine, user, offence_id, 409, problem=problem, **said)
    return RedirectResponse(f"/offences/{offence_id}", 303)


@router.post("/offences/{offence_id}/settlement", dependencies=[Depends(check_csrf)])
def propose(
    request: Request, engine: Store, user: Officer, offence_id: RecordId,
    amount: Short = "", instalments: Long = "", note: Long = "",
):  # fmt: skip
    form = {"amount": amount, "instalments": instalments, "note": note}
    return _step(
        request, engine, user, offence_id, "settlement", form,
        lambda: settlement.propose(
            engine, offence_id,
            SettlementIn.model_validate(filled(form) | {"instalments": plan(instalments)}),
            user.username,
        ),
    )  # fmt: skip


@router.post("/offences/{offence_id}/decision", dependencies=[Depends(check_csrf)])
def decide(
    request: Request, engine: Store, user: Supervisor, offence_id: RecordId,
    approve: Annotated[bool, Form()], note: Long = "",
):  # fmt: skip
    return _step(
        request, engine, user, offence_id, "decision", {"note": note},
        lambda: settlement.decide(engine, offence_id, approve, user.username, note or None),
    )  # fmt: skip


@router.post("/offences/{offence_id}/acceptance", dependencies=[Depends(check_csrf)])
def accept(request: Request, engine: Store, user: Officer, offence_id: RecordId):
    return _step(
        request, engine, user, offence_id, "acceptance", {},
        lambda: settlement.accept(engine, offence_id, user.username),
    )  # fmt: skip


@router.post("/offences/{offence_id}/court", dependencies=[Depends(check_csrf)])
def refer_to_court(
    request: Request, engine: Store, user: Supervisor, offence_id: RecordId, court: Short = ""
):
    return _step(
        request, engine, user, offence_id, "court", {"court": court},
        lambda: settlement.refer_to_court(engine, offence_id, court, user.username),
    )  # fmt: skip


@router.post("/offences/{offence_id}/judgment", dependencies=[Depends(check_csrf)])
def record_judgment(
    request: Request, engine: Store, user: Supervisor, offence_id: RecordId,
    judged_on: Short = "", amount: Short = "", text: Long = "", due_on: Short = "",
):  # fmt: skip
    form = {"judged_on": judged_on, "amount": amount, "text": text, "due_on": due_on}
    return _step(
        request, engine, user, offence_id, "judgment", form,
        lambda: settlement.record_judgment(
            engine, offence_id, JudgmentIn.model_validate(filled(form)), user.username
        ),
    )  # fmt: skip


@router.post("/offences/{offence_id}/payments", dependencies=[Depends(check_csrf)])
def pay(
    request: Request, engine: Store, user: Officer, offence_id: RecordId,
    amount: Short = "", paid_on: Short = "", reference: Short = "",
):  # fmt: skip
    form = {"amount": amount, "paid_on": paid_on, "reference": reference}
    return _step(
        request, engine, user, offence_id, "payment", form,
        lambda: settlement.pay(
            engine, offence_id, PaymentIn.model_validate(filled(form)), user.username
        ),
    )  # fmt: skip


def _totals(rows: list[dict]) -> dict[str, dict[str, int]]:
    """Per currency: offences, penalties, what is due and what was paid (minor units)."""
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        sums = totals.setdefault(
            row["currency"], dict.fromkeys(("count", "penalty", "due", "paid"), 0)
        )
        sums["count"] += 1
        sums["penalty"] += row["penalty_minor"]
        sums["due"] += row["due_minor"] or 0
        sums["paid"] += row["paid_minor"]
    return totals


@router.get("/offenders/{party}")
def offender_page(
    request: Request,
    engine: Store,
    user: Reader,
    party: Annotated[str, Path(min_length=1, max_length=64)],
):
    """A party's offences, found by its customs identifier or its resolved entity."""
    rows = read.listing(engine, party=party, limit=1000)
    if not rows:
        raise HTTPException(404, f"party {party}: no offence is recorded against it")
    p = offence_parties.c
    with engine.connect() as conn:
        names = conn.execute(
            select(p.name, p.customs_id, p.address)
            .where(p.offence_id.in_([r["offence_id"] for r in rows]))
            .where((p.customs_id == party) | (p.entity_id == party))
            .distinct()
            .order_by(p.name)
        ).all()
    return render(
        request, "offender.html", user, party=party, names=names, offences=rows,
        totals=_totals(rows),
    )  # fmt: skip
