"""Offence records: opened from a non-compliant inspection result or by an officer, numbered
per office and year, classified and penalised from the schedule as of the day of the facts.

A party who offended before within the schedule's window makes the offence a repeat one:
parties are the same when entity resolution (``tamis.intel.resolve``) puts them in one
entity, or they share a customs identifier or the standard form of their name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

import polars as pl
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import Connection, Engine, func, select, update

from tamis import audit
from tamis.declarations import FraudType
from tamis.intel.parties import name_key
from tamis.intel.resolve import party_records, read_entities
from tamis.offences.read import (
    CENT,
    OffenceError,
    Status,
    amount,
    minor,
    offence_id_of,
    offence_of_declaration,
    read_offence,
    stored_version,
)
from tamis.offences.schedule import ScheduleError, Version, penalty, schedule
from tamis.offences.tables import (
    offence_counters,
    offence_declarations,
    offence_parties,
    offence_schedules,
    offences,
)
from tamis.store import changes
from tamis.store.load import dialect_insert
from tamis.store.tables import MAX_ID, cases, declarations, inspection_outcomes, items


class PartyIn(BaseModel):
    role: Literal["importer", "declarant", "carrier", "person", "other"]
    name: str = Field(min_length=1, max_length=256)
    customs_id: str | None = Field(None, min_length=1, max_length=64)
    address: str | None = Field(None, max_length=512)


class OffenceIn(BaseModel):
    """What an officer records; blank figures are taken from the declarations and their
    inspection results."""

    facts: str = Field(min_length=3, max_length=20_000)
    declaration_ids: list[str] = Field(default_factory=list, max_length=100)
    parties: list[PartyIn] = Field(default_factory=list, max_length=50)
    office: str | None = Field(None, min_length=1, max_length=64)
    offence_date: date | None = None
    fraud_type: FraudType | None = None
    class_code: str | None = Field(None, max_length=16)
    case_id: int | None = Field(None, ge=1, le=MAX_ID)
    found_by: str | None = Field(None, min_length=1, max_length=64)
    goods: str | None = Field(None, max_length=2000)
    hs_code: str | None = Field(None, pattern=r"^\d{4,10}$")
    quantity: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=3)
    unit: str | None = Field(None, max_length=16)
    route: str | None = Field(None, max_length=128)
    concealment: str | None = Field(None, max_length=128)
    detection_method: str | None = Field(None, max_length=64)
    seized: bool = False
    seized_quantity: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=3)
    storage_place: str | None = Field(None, max_length=128)
    duties_evaded: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    goods_value: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)

    @field_validator("declaration_ids")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not 1 <= len(value) <= 64:
                raise ValueError(f"{value!r} is not a declaration id")
        return list(dict.fromkeys(values))

    @model_validator(mode="after")
    def _someone(self) -> OffenceIn:
        if not self.declaration_ids and not self.parties:
            raise ValueError("parties: an offence without a declaration names its offenders")
        if not self.declaration_ids and self.office is None:
            raise ValueError("office: an offence without a declaration names its office")
        if self.seized_quantity is not None and not self.seized:
            raise ValueError("seized_quantity: given for goods not seized")
        return self


# --- what the declarations and their inspection results say ---------------------------


@dataclass
class Facts:
    """An offence's figures as the store gives them for its declarations."""

    office: str | None = None
    lodged: date | None = None
    inspected: date | None = None
    inspector: str | None = None
    case_id: int | None = None
    fraud_type: str | None = None
    duties: Decimal = Decimal(0)
    value: Decimal = Decimal(0)
    goods: str | None = None
    hs_code: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    route: str | None = None
    parties: list[dict] = field(default_factory=list)


LARGEST = Decimal(10) ** 16  # in major units: the store's amounts are 64-bit hundredths


def _quantity(total: float) -> Decimal | None:
    quantity = Decimal(str(total)).quantize(Decimal("0.001"))
    return quantity if quantity < LARGEST / 10 else None


def _facts(conn: Connection, declaration_ids: list[str]) -> Facts:
    if not declaration_ids:
        return Facts()
    d, i, o = declarations, items, inspection_outcomes
    heads = conn.execute(select(d).where(d.c.declaration_id.in_(declaration_ids))).all()
    found = {h.declaration_id for h in heads}
    missing = [x for x in declaration_ids if x not in found]
    if missing:
        raise OffenceError(f"declaration_ids: declaration {missing[0]!r} is not in the store")
    goods = conn.execute(
        select(i).where(i.c.declaration_id.in_(declaration_ids)).order_by(i.c.item_number)
    ).all()
    results = conn.execute(
        select(o)
        .where(o.c.declaration_id.in_(declaration_ids), o.c.result == "non_compliant")
        .order_by(o.c.outcome_id)
    ).all()
    first = min(heads, key=lambda h: h.lodged_at)
    units = {g.quantity_unit for g in goods}
    facts = Facts(
        office=first.office,
        lodged=first.lodged_at.date(),
        duties=amount(sum(r.revenue_recovered_minor or 0 for r in results)),
        value=amount(sum(g.customs_value_minor or 0 for g in goods)),
        goods="; ".join(dict.fromkeys(g.description for g in goods if g.description)) or None,
        hs_code=goods[0].hs_code if len({g.hs_code for g in goods}) == 1 else None,
        quantity=_quantity(sum(g.quantity or 0 for g in goods)) if len(units) == 1 else None,
        unit=units.pop() if len(units) == 1 else None,
        route=" > ".join(
            dict.fromkeys(c for c in (first.export_country, first.loading_place, first.office) if c)
        ),
    )
    if results:
        facts.inspected = results[0].inspected_at.date()
        facts.inspector = results[0].inspector
        facts.case_id = results[0].case_id
        facts.fraud_type = results[0].fraud_type
    # the importers answer for their declarations; a declarant, carrier or person who is
    # liable too is named by the officer
    for h in {h.importer_id: h for h in heads if h.importer_id}.values():
        facts.parties.append({"role": "importer", "customs_id": h.importer_id,
                              "name": h.importer_name or h.importer_id,
                              "address": h.importer_address})  # fmt: skip
    return facts


# --- who the parties are --------------------------------------------------------------


def _keys(names: list[str | None]) -> list[str | None]:
    return (
        pl.DataFrame({"n": names}, schema={"n": pl.String})
        .select(name_key(pl.col("n")))[:, 0]
        .to_list()
    )


class Identities:
    """Who a party is, as entity resolution and the parties' identifiers and standard names
    say: two parties are the same when their identities meet."""

    def __init__(self, engine: Engine) -> None:
        records = read_entities(engine)
        self.by_record = dict(zip(records["record_key"], records["entity_id"], strict=True))
        with_id = records.drop_nulls("customs_id")
        self.by_customs = dict(zip(with_id["customs_id"], with_id["entity_id"], strict=True))
        named = records.with_columns(name_key(pl.col("name")).alias("key")).drop_nulls("key")
        unique = (
            named.group_by("key")
            .agg(pl.col("entity_id").unique())
            .filter(pl.col("entity_id").list.len() == 1)
        )
        self.by_name = {k: e[0] for k, e in unique.iter_rows()}

    def of(self, parties: list[dict]) -> list[set[str]]:
        if not parties:
            return []
        frame = pl.DataFrame(
            [{k: p.get(k) for k in ("customs_id", "name", "address")} for p in parties],
            schema={"customs_id": pl.String, "name": pl.String, "address": pl.String},
        )
        keys = party_records("offences", frame)["record_key"].to_list()
        names = _keys(frame["name"].to_list())
        said = []
        for party, record, name in zip(parties, keys, names, strict=True):
            found = {
                self.by_record.get(record),
                self.by_customs.get(party.get("customs_id")),
                self.by_name.get(name),
                party.get("customs_id"),
                f"name:{name}" if name else None,
            }
            said.append({f for f in found if f})
        return said

    def entity(self, party: dict) -> str | None:
        """The resolved entity of a party, if resolution knows it."""
        ids = self.of([party])[0]
        entities = {i for i in ids if not i.startswith("name:")} - {party.get("customs_id")}
        return min(entities) if entities else party.get("customs_id")


def _earlier(conn: Connection, day: date, window_years: int, skip: int | None):
    """Offences within the window before ``day`` with their parties."""
    since = _years_after(day, -window_years)
    query = (
        select(offences.c.offence_id, offences.c.number, offences.c.offence_date,
               offence_parties.c.customs_id, offence_parties.c.name, offence_parties.c.address,
               offence_parties.c.entity_id)
        .join(offence_parties, offence_parties.c.offence_id == offences.c.offence_id)
        .where(offences.c.offence_date >= since, offences.c.offence_date <= day)
        .order_by(offences.c.offence_date.desc(), offences.c.offence_id.desc())
    )  # fmt: skip
    if skip is not None:
        query = query.where(offences.c.offence_id != skip)
    return [r._asdict() for r in conn.execute(query)]


def repeat_of(
    conn: Connection, parties: list[dict], day: date, version: Version, known: Identities,
    skip: int | None = None,
) -> dict | None:  # fmt: skip
    """The latest earlier offence of one of ``parties`` within the window, with who matched."""
    earlier = _earlier(conn, day, version.repeat.window_years, skip)
    if not earlier or not parties:
        return None
    ours = known.of(parties)
    theirs = known.of(earlier)
    for before, identity in zip(earlier, theirs, strict=True):
        if before["entity_id"]:
            identity = identity | {before["entity_id"]}
        for party, mine in zip(parties, ours, strict=True):
            if mine & identity:
                return {"number": before["number"], "date": str(before["offence_date"]),
                        "party": party["name"], "as": before["name"]}  # fmt: skip
    return None


# --- numbering, schedule versions --------------------------------------------------------


def next_number(conn: Connection, office: str, year: int) -> tuple[int, str]:
    """The next sequence of ``office`` in ``year``, safe when two officers record at once."""
    conn.execute(
        dialect_insert(conn, offence_counters)
        .values(office=office, year=year, last=0)
        .on_conflict_do_nothing()
    )
    c = offence_counters.c
    sequence = conn.execute(
        update(offence_counters)
        .where(c.office == office, c.year == year)
        .values(last=c.last + 1)
        .returning(c.last)
    ).scalar_one()
    return sequence, f"{office}/{year}/{sequence:05d}"


def keep_version(conn: Connection, version: Version) -> None:
    """Store the schedule version an offence is computed with; a version that changed since
    it was first used is refused (it would change past penalties on replay)."""
    body = version.as_json()
    digest = hashlib.sha256(body.encode()).hexdigest()
    conn.execute(
        dialect_insert(conn, offence_schedules)
        .values(version=version.version, body=body, digest=digest, stored_at=audit.now())
        .on_conflict_do_nothing()
    )
    stored = conn.execute(
        select(offence_schedules.c.digest).where(offence_schedules.c.version == version.version)
    ).scalar()
    if stored != digest:
        raise ScheduleError(
            f"schedule version {version.version} differs from the one offences were computed "
            "with: a change to a schedule is a new version, with its valid_from"
        )


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- opening --------------------------------------------------------------------------


def open_offence(
    engine: Engine, said: OffenceIn, actor: str, known: Identities | None = None
) -> dict:
    """Record an offence; its row as stored. ``known``: identities built once for many."""
    known = known or Identities(engine)
    with engine.begin() as conn:
        offence_id = _open(conn, said, actor, known)
        return read_offence(conn, offence_id)


def _open(conn: Connection, said: OffenceIn, actor: str, known: Identities) -> int:
    facts = _facts(conn, said.declaration_ids)
    if said.case_id is not None:
        if (
            conn.execute(select(cases.c.case_id).where(cases.c.case_id == said.case_id)).first()
            is None
        ):
            raise OffenceError(f"case_id: case {said.case_id} is not in the store")
    day = said.offence_date or facts.inspected or facts.lodged
    if said.offence_date and said.offence_date > audit.now().date():
        raise OffenceError(f"offence_date: {said.offence_date} is in the future")
    office = said.office or facts.office
    if day is None or office is None:
        raise OffenceError("offence_date: give the day of the facts")
    duties = said.duties_evaded if said.duties_evaded is not None else facts.duties
    value = said.goods_value if said.goods_value is not None else facts.value
    fraud_type = (said.fraud_type and said.fraud_type.value) or facts.fraud_type
    version = schedule().on(day)
    if said.class_code:
        offence_class = version.offence_class(said.class_code)
    elif fraud_type:
        offence_class = version.classify(fraud_type, duties)
    else:
        raise OffenceError("class_code: no fraud type to classify the offence by: give the class")
    parties = [p.model_dump() for p in said.parties] or facts.parties
    if not parties:
        raise OffenceError("parties: the declarations name no importer: give the offenders")
    repeat = repeat_of(conn, parties, day, version, known)
    computed = penalty(version, offence_class, duties, value, repeat is not None)
    if computed.amount >= LARGEST:
        raise OffenceError(
            f"penalty: {computed.amount} {schedule().currency} is beyond what can be recorded: "
            "check the duties evaded and goods value"
        )
    keep_version(conn, version)
    sequence, number = next_number(conn, office, day.year)
    basis = computed.as_dict() | {"class": offence_class.code, "repeat": repeat}
    now = audit.now()
    row = {
        "number": number, "office": office, "year": day.year, "sequence": sequence,
        "offence_date": day, "origin": "inspection" if facts.inspected else "officer",
        "case_id": said.case_id or facts.case_id,
        "found_by": said.found_by or facts.inspector or actor, "recorded_by": actor,
        "recorded_at": now, "facts": said.facts, "fraud_type": fraud_type,
        "goods": said.goods or facts.goods, "hs_code": said.hs_code or facts.hs_code,
        "quantity": said.quantity if said.quantity is not None else facts.quantity,
        "unit": said.unit or facts.unit, "route": said.route or facts.route,
        "concealment": said.concealment, "detection_method": said.detection_method,
        "seized": int(said.seized), "seized_quantity": said.seized_quantity,
        "storage_place": said.storage_place, "currency": schedule().currency,
        "duties_evaded_minor": minor(duties), "goods_value_minor": minor(value),
        "schedule_version": version.version, "class_code": offence_class.code,
        "severity": offence_class.severity, "repeat_of": repeat and repeat["number"],
        "penalty_minor": minor(computed.amount), "penalty_basis": json.dumps(basis),
        "confiscation": int(computed.confiscation),
        "limitation_date": _years_after(day, offence_class.limitation_years),
        "status": Status.OPEN.value, "paid_minor": 0, "updated_at": now,
    }  # fmt: skip
    offence_id = conn.execute(offences.insert().values(**row)).inserted_primary_key[0]
    conn.execute(
        offence_parties.insert(),
        [{"offence_id": offence_id, "role": p["role"], "customs_id": p.get("customs_id"),
          "name": p["name"], "address": p.get("address"), "entity_id": known.entity(p)}
         for p in parties],
    )  # fmt: skip
    if said.declaration_ids:
        conn.execute(
            offence_declarations.insert(),
            [{"offence_id": offence_id, "declaration_id": d} for d in said.declaration_ids],
        )
        changes.announce(conn, said.declaration_ids)
    audit.record(conn, actor, "offence.open", "offence", number, None,
                 row | {"parties": parties, "declaration_ids": said.declaration_ids})  # fmt: skip
    return offence_id


def open_from_inspection(
    engine: Engine, declaration_id: str, actor: str, known: Identities | None = None, **more
) -> dict:
    """Open the offence a non-compliant inspection result of a declaration found."""
    with engine.connect() as conn:
        found = conn.execute(
            select(inspection_outcomes.c.outcome_id).where(
                inspection_outcomes.c.declaration_id == declaration_id,
                inspection_outcomes.c.result == "non_compliant",
            )
        ).first()
        already = offence_of_declaration(conn, declaration_id)
    if found is None:
        raise OffenceError(
            f"declaration {declaration_id}: no non-compliant inspection result to open an "
            "offence from (an officer records one with its facts)"
        )
    if already:
        raise OffenceError(f"declaration {declaration_id} already has offence {already[1]}")
    facts = more.pop("facts", None) or f"Non-compliant inspection of declaration {declaration_id}"
    said = OffenceIn(facts=facts, declaration_ids=[declaration_id], **more)
    return open_offence(engine, said, actor, known)


def replay(engine: Engine, ref: str | int) -> dict:
    """The penalty computed again from the stored schedule version and the offence's
    figures, beside the one recorded: they agree unless something was tampered with."""
    with engine.connect() as conn:
        offence = read_offence(conn, offence_id_of(conn, ref))
        version = stored_version(conn, offence["schedule_version"])
    offence_class = version.offence_class(offence["class_code"])
    computed = penalty(
        version,
        offence_class,
        amount(offence["duties_evaded_minor"]),
        amount(offence["goods_value_minor"]),
        offence["repeat_of"] is not None,
    )
    recorded = amount(offence["penalty_minor"])
    return {"number": offence["number"], "schedule_version": version.version,
            "class_code": offence_class.code, "recorded": str(recorded),
            "computed": str(computed.amount.quantize(CENT)), "basis": computed.as_dict(),
            "agrees": computed.amount == recorded}  # fmt: skip


def open_from_inspections(engine: Engine, actor: str, since: date | None = None, progress=None):
    """Open the offence of every non-compliant inspection result without one (results of
    ``since`` or later); what was opened, and what was refused with its reason."""
    o, d = inspection_outcomes.c, offence_declarations.c
    query = (
        select(o.declaration_id, func.min(o.inspected_at).label("at"))
        .where(o.result == "non_compliant", o.declaration_id.not_in(select(d.declaration_id)))
        .group_by(o.declaration_id)
        .order_by("at", o.declaration_id)
    )
    if since is not None:
        query = query.having(func.min(o.inspected_at) >= since)
    with engine.connect() as conn:
        waiting = conn.execute(query).scalars().all()
    known, opened, refused = Identities(engine), [], []
    for done, declaration_id in enumerate(waiting, start=1):
        try:
            opened.append(open_from_inspection(engine, declaration_id, actor, known)["number"])
        except (OffenceError, ScheduleError) as error:
            refused.append({"declaration_id": declaration_id, "reason": str(error)})
        if progress:
            progress(done, len(waiting))
    return {"results": len(waiting), "opened": opened, "refused": refused}
