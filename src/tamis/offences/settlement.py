"""What follows an offence: a settlement (transaction) proposed within the schedule's bounds,
approved by a supervisor other than its proposer, accepted and paid by instalments; or the
courts and their judgment; and the limitation period, alerted before it lapses.

Every change locks the offence's row first, so two officers acting at once on one offence
act one after the other, and is audited in its transaction.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator
from sqlalchemy import Connection, Engine, select, update

from tamis import audit
from tamis.offences.read import (
    ENDED,
    OffenceError,
    OffenceNotFound,
    Status,
    amount,
    minor,
    offence_id_of,
    read_offence,
    stored_version,
)
from tamis.offences.schedule import settlement_bounds
from tamis.offences.tables import instalments, offences, payments, settlements
from tamis.refusals import Refusal

PAYABLE = (Status.SETTLED, Status.JUDGED)
BEFORE_COURT = (Status.OPEN, Status.SETTLEMENT_PROPOSED, Status.SETTLEMENT_APPROVED)
DEFAULT_DUE_DAYS = 30
Amount = Field(gt=0, max_digits=18, decimal_places=2)


class InstalmentIn(BaseModel):
    due_on: date
    amount: Decimal = Amount


class SettlementIn(BaseModel):
    amount: Decimal = Amount
    instalments: list[InstalmentIn] = Field(default_factory=list, max_length=60)
    note: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _adds_up(self) -> SettlementIn:
        if self.instalments:
            total = sum(i.amount for i in self.instalments)
            if total != self.amount:
                raise Refusal(
                    f"instalments: they add up to {total}, not to {self.amount}",
                    "offence.instalments_total",
                    field="instalments",
                    total=total,
                    amount=self.amount,
                )
            days = [i.due_on for i in self.instalments]
            if days != sorted(days) or len(set(days)) != len(days):
                raise Refusal(
                    "instalments: due dates must come one after the other",
                    "offence.instalments_order",
                    field="instalments",
                )
        return self


def _past(day: date) -> date:
    if day > audit.now().date():
        raise Refusal(f"{day} is in the future", "date.future", day=day)
    return day


Past = Annotated[date, AfterValidator(_past)]


class PaymentIn(BaseModel):
    amount: Decimal = Amount
    paid_on: Past
    reference: str = Field(min_length=1, max_length=64)


class JudgmentIn(BaseModel):
    judged_on: Past
    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    text: str = Field(min_length=3, max_length=20_000)
    due_on: date | None = None


def _locked(conn: Connection, ref) -> dict:
    """The offence, held until the transaction ends."""
    offence_id = offence_id_of(conn, ref)
    held = conn.execute(
        update(offences)
        .where(offences.c.offence_id == offence_id)
        .values(updated_at=offences.c.updated_at)
    )
    if not held.rowcount:
        raise OffenceNotFound(f"no offence {ref}")
    return read_offence(conn, offence_id)


def _expect(offence: dict, allowed: tuple[Status, ...], doing: str) -> None:
    if offence["status"] not in allowed:
        raise OffenceError(
            f"offence {offence['number']} is {offence['status']}: it cannot {doing} "
            f"(only when {', '.join(allowed)})",
            "offence.not_now",
            number=offence["number"],
            status=Status(offence["status"]),
            allowed=list(allowed),
        )


def _move(conn: Connection, offence: dict, status: Status, actor: str, action: str,
          detail: dict | None = None, **values) -> None:  # fmt: skip
    now = audit.now()
    conn.execute(
        update(offences)
        .where(offences.c.offence_id == offence["offence_id"])
        .values(status=status.value, updated_at=now, **values)
    )
    before = {"status": offence["status"]} | {k: offence.get(k) for k in values}
    after = {"status": status.value} | values | (detail or {})
    audit.record(conn, actor, f"offence.{action}", "offence", offence["number"], before, after)


def _pending(conn: Connection, offence_id: int):
    return conn.execute(
        select(settlements)
        .where(settlements.c.offence_id == offence_id)
        .order_by(settlements.c.settlement_id.desc())
        .limit(1)
    ).first()


def propose(engine: Engine, ref, said: SettlementIn, actor: str) -> dict:
    """Propose a settlement of an open offence, within the schedule's bounds."""
    with engine.begin() as conn:
        offence = _locked(conn, ref)
        _expect(offence, (Status.OPEN,), "take a settlement proposal")
        version = stored_version(conn, offence["schedule_version"])
        offence_class = version.offence_class(offence["class_code"])
        low, high = settlement_bounds(offence_class, amount(offence["penalty_minor"]))
        if not low <= said.amount <= high:
            raise OffenceError(
                f"amount: {said.amount} is outside the schedule's bounds for class "
                f"{offence_class.code}: from {low} to {high} {offence['currency']}",
                "offence.out_of_bounds",
                field="amount",
                amount=said.amount,
                low=low,
                high=high,
                currency=offence["currency"],
                class_code=offence_class.code,
            )
        plan = said.instalments or [
            InstalmentIn(due_on=audit.now().date() + timedelta(days=DEFAULT_DUE_DAYS),
                         amount=said.amount)
        ]  # fmt: skip
        if plan[0].due_on < offence["offence_date"]:
            raise OffenceError(
                "instalments: the first one is due before the facts",
                "offence.instalment_before_facts",
                field="instalments",
                day=offence["offence_date"],
            )
        now = audit.now()
        conn.execute(
            settlements.insert().values(
                offence_id=offence["offence_id"], amount_minor=minor(said.amount),
                status="proposed", proposed_by=actor, proposed_at=now, note=said.note,
            )
        )  # fmt: skip
        conn.execute(instalments.delete().where(instalments.c.offence_id == offence["offence_id"]))
        conn.execute(
            instalments.insert(),
            [{"offence_id": offence["offence_id"], "number": n, "due_on": i.due_on,
              "amount_minor": minor(i.amount)} for n, i in enumerate(plan, 1)],
        )  # fmt: skip
        _move(conn, offence, Status.SETTLEMENT_PROPOSED, actor, "settlement.propose",
              {"amount": str(said.amount), "bounds": [str(low), str(high)],
               "instalments": [[str(i.due_on), str(i.amount)] for i in plan]})  # fmt: skip
        return read_offence(conn, offence["offence_id"])


def decide(engine: Engine, ref, approve: bool, actor: str, note: str | None = None) -> dict:
    """A supervisor approves or rejects the proposed settlement; not its own proposal."""
    with engine.begin() as conn:
        offence = _locked(conn, ref)
        _expect(offence, (Status.SETTLEMENT_PROPOSED,), "have a settlement decided")
        proposal = _pending(conn, offence["offence_id"])
        if proposal.proposed_by == actor:
            raise OffenceError(
                f"offence {offence['number']}: {actor} proposed this settlement and cannot "
                "also decide it",
                "offence.own_proposal",
                number=offence["number"],
                actor=actor,
            )
        conn.execute(
            update(settlements)
            .where(settlements.c.settlement_id == proposal.settlement_id)
            .values(status="approved" if approve else "rejected", decided_by=actor,
                    decided_at=audit.now(), note=note or proposal.note)
        )  # fmt: skip
        to = Status.SETTLEMENT_APPROVED if approve else Status.OPEN
        action = "settlement.approve" if approve else "settlement.reject"
        _move(conn, offence, to, actor, action, {"note": note})
        return read_offence(conn, offence["offence_id"])


def accept(engine: Engine, ref, actor: str) -> dict:
    """The offender accepted the approved settlement: what it says is now due."""
    with engine.begin() as conn:
        offence = _locked(conn, ref)
        _expect(offence, (Status.SETTLEMENT_APPROVED,), "be settled")
        proposal = _pending(conn, offence["offence_id"])
        conn.execute(
            update(settlements)
            .where(settlements.c.settlement_id == proposal.settlement_id)
            .values(status="accepted", accepted_at=audit.now())
        )
        _move(conn, offence, Status.SETTLED, actor, "settlement.accept",
              due_minor=proposal.amount_minor)  # fmt: skip
        return read_offence(conn, offence["offence_id"])


def refer_to_court(engine: Engine, ref, court: str, actor: str) -> dict:
    """Send the offence to the courts (no settlement, or the offender refused it)."""
    if not court.strip():
        raise OffenceError("court: name the court", "offence.court_missing", field="court")
    with engine.begin() as conn:
        offence = _locked(conn, ref)
        _expect(offence, BEFORE_COURT, "go to court")
        conn.execute(
            update(settlements)
            .where(settlements.c.offence_id == offence["offence_id"],
                   settlements.c.status.in_(("proposed", "approved")))
            .values(status="withdrawn")
        )  # fmt: skip
        conn.execute(instalments.delete().where(instalments.c.offence_id == offence["offence_id"]))
        _move(conn, offence, Status.IN_COURT, actor, "court.refer", court=court.strip()[:128],
              referred_at=audit.now())  # fmt: skip
        return read_offence(conn, offence["offence_id"])


def record_judgment(engine: Engine, ref, said: JudgmentIn, actor: str) -> dict:
    """The court's judgment: the amount it fixed is due (nothing due closes the offence)."""
    with engine.begin() as conn:
        offence = _locked(conn, ref)
        _expect(offence, (Status.IN_COURT,), "be judged")
        if said.judged_on < offence["offence_date"]:
            raise OffenceError(
                "judged_on: before the facts",
                "offence.before_facts",
                field="judged_on",
                day=offence["offence_date"],
            )
        due = minor(said.amount)
        if due:
            due_on = said.due_on or said.judged_on + timedelta(days=DEFAULT_DUE_DAYS)
            conn.execute(
                instalments.insert().values(offence_id=offence["offence_id"], number=1,
                                            due_on=due_on, amount_minor=due)
            )  # fmt: skip
        _move(conn, offence, Status.JUDGED if due else Status.CLOSED, actor, "court.judgment",
              judged_on=said.judged_on, judgment=said.text, due_minor=due)  # fmt: skip
        return read_offence(conn, offence["offence_id"])


def pay(engine: Engine, ref, said: PaymentIn, actor: str) -> dict:
    """A payment of what is due; the same receipt twice is recorded once."""
    with engine.begin() as conn:
        offence = _locked(conn, ref)
        earlier = conn.execute(
            select(payments).where(payments.c.offence_id == offence["offence_id"],
                                   payments.c.reference == said.reference)
        ).first()  # fmt: skip
        if earlier is not None:
            if earlier.amount_minor != minor(said.amount) or earlier.paid_on != said.paid_on:
                raise OffenceError(
                    f"reference: receipt {said.reference} is already recorded on offence "
                    f"{offence['number']} for {amount(earlier.amount_minor)} on {earlier.paid_on}",
                    "offence.receipt_recorded",
                    field="reference",
                    reference=said.reference,
                    number=offence["number"],
                    amount=amount(earlier.amount_minor),
                    currency=offence["currency"],
                    day=earlier.paid_on,
                )
            return read_offence(conn, offence["offence_id"]) | {"duplicate": True}
        if offence["status"] in ENDED:
            raise OffenceError(
                f"offence {offence['number']} is {offence['status']}: no payment is due on it",
                "offence.nothing_due",
                number=offence["number"],
                status=Status(offence["status"]),
            )
        _expect(offence, PAYABLE, "take a payment")
        left = offence["due_minor"] - offence["paid_minor"]
        if minor(said.amount) > left:
            raise OffenceError(
                f"amount: {said.amount} is more than the {amount(left)} {offence['currency']} "
                f"left to pay on offence {offence['number']}",
                "offence.more_than_due",
                field="amount",
                amount=said.amount,
                left=amount(left),
                currency=offence["currency"],
                number=offence["number"],
            )
        if said.paid_on < offence["offence_date"]:
            raise OffenceError(
                "paid_on: before the facts",
                "offence.before_facts",
                field="paid_on",
                day=offence["offence_date"],
            )
        conn.execute(
            payments.insert().values(offence_id=offence["offence_id"], reference=said.reference,
                                     paid_on=said.paid_on, amount_minor=minor(said.amount),
                                     recorded_by=actor, recorded_at=audit.now())
        )  # fmt: skip
        paid = offence["paid_minor"] + minor(said.amount)
        status = Status.PAID if paid == offence["due_minor"] else Status(offence["status"])
        paying = {"reference": said.reference, "amount": str(said.amount),
                  "paid_on": str(said.paid_on)}  # fmt: skip
        _move(conn, offence, status, actor, "payment", paying, paid_minor=paid)
        return read_offence(conn, offence["offence_id"]) | {"duplicate": False}


def schedule_of_payments(engine: Engine, ref) -> dict:
    """The settlements, instalments (each with what is left of it) and payments."""
    with engine.connect() as conn:
        offence_id = offence_id_of(conn, ref)
        offence = read_offence(conn, offence_id)
        proposals = [r._asdict() for r in conn.execute(
            select(settlements).where(settlements.c.offence_id == offence_id)
            .order_by(settlements.c.settlement_id))]  # fmt: skip
        plan = [r._asdict() for r in conn.execute(
            select(instalments).where(instalments.c.offence_id == offence_id)
            .order_by(instalments.c.number))]  # fmt: skip
        paid = [r._asdict() for r in conn.execute(
            select(payments).where(payments.c.offence_id == offence_id)
            .order_by(payments.c.paid_on, payments.c.payment_id))]  # fmt: skip
    covered = offence["paid_minor"]
    for instalment in plan:
        taken = min(covered, instalment["amount_minor"])
        instalment["left_minor"] = instalment["amount_minor"] - taken
        covered -= taken
    return {"settlements": proposals, "instalments": plan, "payments": paid}


def alerts(engine: Engine, today: date) -> list[dict]:
    """Offences whose limitation lapses within the schedule's warning days (or has lapsed)
    before a settlement or the courts, and instalments past due and not covered."""
    from tamis.offences.schedule import schedule

    said = []
    o = offences.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(o.offence_id, o.number, o.office, o.limitation_date, o.status,
                   o.schedule_version)
            .where(o.status.in_([s.value for s in BEFORE_COURT]))
            .order_by(o.limitation_date)
        ).all()  # fmt: skip
        warn = {}
        for row in rows:
            if row.schedule_version not in warn:
                try:
                    warn[row.schedule_version] = stored_version(
                        conn, row.schedule_version
                    ).limitation_warning_days
                except LookupError:
                    warn[row.schedule_version] = schedule().on(today).limitation_warning_days
            left = (row.limitation_date - today).days
            if left <= warn[row.schedule_version]:
                kind = "lapsed" if left < 0 else "limitation"
                said.append({"kind": kind, "offence_id": row.offence_id, "number": row.number,
                             "office": row.office,
                             "on": row.limitation_date, "days_left": left})  # fmt: skip
        plans = conn.execute(
            select(o.offence_id, o.number, o.office, o.paid_minor, o.currency,
                   instalments.c.number.label("n"),
                   instalments.c.due_on, instalments.c.amount_minor)
            .join(instalments, instalments.c.offence_id == o.offence_id)
            .where(o.status.in_([s.value for s in PAYABLE]))
            .order_by(o.number, instalments.c.number)
        ).all()  # fmt: skip
    owed: dict[str, int] = {}
    for row in plans:
        owed[row.number] = owed.get(row.number, 0) + row.amount_minor
        if row.due_on < today and owed[row.number] > row.paid_minor:
            said.append({"kind": "instalment_overdue", "offence_id": row.offence_id,
                         "number": row.number, "office": row.office,
                         "on": row.due_on, "days_left": (row.due_on - today).days,
                         "instalment": row.n,
                         "unpaid": str(amount(owed[row.number] - row.paid_minor)),
                         "unpaid_minor": owed[row.number] - row.paid_minor,
                         "currency": row.currency})  # fmt: skip
    return said
