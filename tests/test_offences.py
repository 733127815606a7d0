"""Offences as officers and supervisors work them, on SQLite and PostgreSQL: opened from an
inspection or by an officer, numbered, penalised from the schedule, settled or sent to
court, paid, and recognised again when the same party offends later."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal as D

import polars as pl
import pytest
from sqlalchemy import update

from tamis import audit
from tamis.intel.parties import name_key
from tamis.intel.resolve import read_entities, resolve
from tamis.offences import records
from tamis.offences import settlement as st
from tamis.offences.read import OffenceError, OffenceNotFound, get, listing
from tamis.offences.records import OffenceIn, PartyIn, open_from_inspection, open_offence
from tamis.offences.schedule import ScheduleError
from tamis.offences.tables import offences
from tamis.store.read import read_outcomes
from tests.intel_store import loaded_store
from tests.stores import assessed_store

col = pl.col


@pytest.fixture
def found(store, tmp_path):
    """(engine, declarations found non-compliant, oldest first)."""
    assessed_store(store, tmp_path, declarations=1500)
    bad = read_outcomes(store).filter(col("result") == "non_compliant").sort("inspected_at")
    return store, bad["declaration_id"].unique(maintain_order=True).to_list()


def officer(facts="Goods found undeclared in a container", office="TANGER-MED", **more):
    parties = more.pop("parties", [PartyIn(role="person", name="Karim El Fassi")])
    said = {"class_code": "D1", "offence_date": date(2025, 3, 1)} | more
    return OffenceIn(facts=facts, office=office, parties=parties, **said)


def test_an_offence_opened_from_an_inspection_takes_its_figures(found):
    engine, bad = found
    offence = open_from_inspection(engine, bad[0], "karim")
    result = read_outcomes(engine).filter(col("declaration_id") == bad[0]).row(0, named=True)
    assert offence["number"] == f"{offence['office']}/{offence['year']}/00001"
    assert offence["origin"] == "inspection" and offence["declaration_ids"] == [bad[0]]
    assert offence["offence_date"] == result["inspected_at"].date()
    assert offence["fraud_type"] == result["fraud_type"]
    assert offence["duties_evaded_minor"] == round(result["revenue_recovered"] * 100)
    assert [p["role"] for p in offence["parties"]] == ["importer"]
    assert offence["status"] == "open" and offence["repeat_of"] is None
    assert records.replay(engine, offence["number"])["agrees"]
    trail = audit.entries(engine, entity="offence", entity_id=offence["number"])
    assert [e["action"] for e in trail] == ["offence.open"] and trail[0]["actor"] == "karim"
    with pytest.raises(OffenceError, match=f"already has offence {offence['number']}"):
        open_from_inspection(engine, bad[0], "karim")


def test_what_cannot_be_an_offence_is_refused_with_its_reason(found):
    engine, bad = found
    with pytest.raises(OffenceError, match="declaration 'D-NOPE' is not in the store"):
        open_offence(engine, OffenceIn(facts="facts", declaration_ids=["D-NOPE"]), "karim")
    compliant = read_outcomes(engine).filter(col("result") == "compliant")["declaration_id"][0]
    with pytest.raises(OffenceError, match="no non-compliant inspection result"):
        open_from_inspection(engine, compliant, "karim")
    with pytest.raises(ValueError, match="names its offenders"):
        OffenceIn(facts="facts", office="X")
    with pytest.raises(ScheduleError, match="class 'Z9' is not in schedule version"):
        open_offence(engine, officer(class_code="Z9"), "karim")
    with pytest.raises(ScheduleError, match="no schedule version is in force on 1999-01-01"):
        open_offence(engine, officer(offence_date=date(1999, 1, 1)), "karim")
    assert listing(engine) == []  # nothing half-recorded


def test_numbers_run_per_office_and_year_even_when_officers_record_at_once(store):
    numbers, errors = [], []

    def record(day):
        try:
            numbers.append(open_offence(store, officer(offence_date=day), "karim")["number"])
        except Exception as error:  # noqa: BLE001  (the assertion shows it)
            errors.append(error)

    days = [date(2025, 3, 1)] * 6 + [date(2026, 1, 5)] * 2
    threads = [threading.Thread(target=record, args=(d,)) for d in days]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == [f"TANGER-MED/2025/{n:05d}" for n in range(1, 7)] + [
        "TANGER-MED/2026/00001",
        "TANGER-MED/2026/00002",
    ]
    other = open_offence(store, officer(office="CASA-PORT"), "karim")
    assert other["number"] == "CASA-PORT/2025/00001"


def _settled(engine, number: str, amount: D, plan=None) -> dict:
    st.propose(engine, number, st.SettlementIn(amount=amount, instalments=plan or []), "karim")
    st.decide(engine, number, True, "sara")
    return st.accept(engine, number, "karim")


def test_a_settlement_within_bounds_approved_by_another_officer_then_paid(found):
    engine, bad = found
    offence = open_offence(engine, officer(goods_value=D("2000")), "karim")  # D1: 10,000
    number = offence["number"]
    assert offence["penalty_minor"] == 1_000_000
    with pytest.raises(
        OffenceError, match="outside the schedule's bounds .* from 5000.00 to 10000"
    ):
        st.propose(engine, number, st.SettlementIn(amount=D("4999.99")), "karim")
    with pytest.raises(OffenceError, match="outside"):
        st.propose(engine, number, st.SettlementIn(amount=D("10000.01")), "karim")
    plan = [
        st.InstalmentIn(due_on=date(2025, 4, 1), amount=D("3000")),
        st.InstalmentIn(due_on=date(2025, 5, 1), amount=D("3000")),
    ]
    st.propose(engine, number, st.SettlementIn(amount=D("6000"), instalments=plan), "karim")
    with pytest.raises(OffenceError, match="karim proposed this settlement and cannot also"):
        st.decide(engine, number, True, "karim")
    with pytest.raises(OffenceError, match="is settlement_proposed: it cannot be settled"):
        st.accept(engine, number, "karim")
    st.decide(engine, number, False, "sara", "too low for a second offence")
    assert get(engine, number)["status"] == "open"
    settled = _settled(engine, number, D("6000"), plan)
    assert settled["status"] == "settled" and settled["due_minor"] == 600_000
    overdue = st.alerts(engine, date(2025, 4, 15))
    assert [(a["kind"], a["number"], a["unpaid"]) for a in overdue] == [
        ("instalment_overdue", number, "3000.00")
    ]
    first = st.PaymentIn(amount=D("3000"), paid_on=date(2025, 4, 2), reference="Q-1")
    assert not st.pay(engine, number, first, "karim")["duplicate"]
    assert st.pay(engine, number, first, "karim")["duplicate"]  # the same receipt, once
    with pytest.raises(OffenceError, match="receipt Q-1 is already recorded"):
        st.pay(engine, number, first.model_copy(update={"amount": D("5")}), "karim")
    with pytest.raises(OffenceError, match="more than the 3000.00 MAD left to pay"):
        st.pay(
            engine,
            number,
            st.PaymentIn(amount=D("3000.01"), paid_on=date(2025, 4, 3), reference="Q-2"),
            "karim",
        )
    assert st.alerts(engine, date(2025, 4, 15)) == []
    last = st.PaymentIn(amount=D("3000"), paid_on=date(2025, 4, 20), reference="Q-2")
    assert st.pay(engine, number, last, "karim")["status"] == "paid"
    with pytest.raises(OffenceError, match="is paid: no payment is due on it"):
        st.pay(engine, number, last.model_copy(update={"reference": "Q-3"}), "karim")
    plan_now = st.schedule_of_payments(engine, number)
    assert [i["left_minor"] for i in plan_now["instalments"]] == [0, 0]
    assert [s["status"] for s in plan_now["settlements"]] == ["rejected", "accepted"]
    actions = [e["action"] for e in audit.entries(engine, entity="offence", entity_id=number)]
    assert actions == [
        "offence.open",
        "offence.settlement.propose",
        "offence.settlement.reject",
        "offence.settlement.propose",
        "offence.settlement.approve",
        "offence.settlement.accept",
        "offence.payment",
        "offence.payment",
    ]


def test_two_payments_racing_never_pay_more_than_is_due(store):
    number = open_offence(store, officer(goods_value=D("1")), "karim")["number"]
    _settled(store, number, D("5000"))
    errors = []

    def pay(n):
        try:
            st.pay(
                store,
                number,
                st.PaymentIn(amount=D("3000"), paid_on=date(2025, 3, 2), reference=f"R-{n}"),
                "karim",
            )
        except OffenceError as error:
            errors.append(error)

    threads = [threading.Thread(target=pay, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert get(store, number)["paid_minor"] == 300_000 and len(errors) == 3


def test_the_courts_and_their_judgment(store):
    number = open_offence(store, officer(goods_value=D("1")), "karim")["number"]
    st.propose(store, number, st.SettlementIn(amount=D("5000")), "karim")
    referred = st.refer_to_court(store, number, "Tribunal de première instance, Tanger", "sara")
    assert referred["status"] == "in_court" and referred["court"].startswith("Tribunal")
    assert st.schedule_of_payments(store, number)["settlements"][0]["status"] == "withdrawn"
    with pytest.raises(OffenceError, match="is in_court: it cannot take a payment"):
        st.pay(
            store,
            number,
            st.PaymentIn(amount=D(1), paid_on=date(2025, 5, 1), reference="X"),
            "karim",
        )
    judged = st.record_judgment(
        store,
        number,
        st.JudgmentIn(judged_on=date(2025, 9, 1), amount=D("12000"), text="Amende et confiscation"),
        "sara",
    )
    assert judged["status"] == "judged" and judged["due_minor"] == 1_200_000
    acquitted = open_offence(store, officer(goods_value=D("1")), "karim")["number"]
    st.refer_to_court(store, acquitted, "Tribunal", "sara")
    done = st.record_judgment(
        store,
        acquitted,
        st.JudgmentIn(judged_on=date(2025, 9, 1), amount=D(0), text="Relaxe"),
        "sara",
    )
    assert done["status"] == "closed"
    with pytest.raises(OffenceNotFound):
        st.refer_to_court(store, "NOWHERE/2025/00001", "Tribunal", "sara")


def test_limitation_is_alerted_before_it_lapses(store):
    number = open_offence(store, officer(), "karim")["number"]  # D1: 4 years from 2025-03-01
    assert get(store, number)["limitation_date"] == date(2029, 3, 1)
    assert st.alerts(store, date(2028, 11, 30)) == []  # 91 days before
    soon = st.alerts(store, date(2028, 12, 1))
    assert [(a["kind"], a["number"], a["days_left"]) for a in soon] == [("limitation", number, 90)]
    assert st.alerts(store, date(2029, 3, 2))[0]["kind"] == "lapsed"
    st.refer_to_court(store, number, "Tribunal", "sara")
    assert st.alerts(store, date(2028, 12, 1)) == []  # the courts hold it now


def test_replay_shows_a_penalty_changed_behind_the_schedule(store, tmp_path, monkeypatch):
    number = open_offence(store, officer(goods_value=D("9000")), "karim")["number"]
    assert records.replay(store, number) | {"basis": None} == {
        "number": number,
        "schedule_version": "2026-1",
        "class_code": "D1",
        "recorded": "27000.00",
        "computed": "27000.00",
        "basis": None,
        "agrees": True,
    }
    with store.begin() as conn:
        conn.execute(update(offences).values(penalty_minor=100))
    assert not records.replay(store, number)["agrees"]
    # the shipped version edited in place is refused: past penalties would change
    edited = tmp_path / "edited.yaml"
    from tamis.offences.schedule import SHIPPED

    edited.write_text(SHIPPED.read_text().replace('multiple: "3"', 'multiple: "4"'), "utf-8")
    monkeypatch.setenv("TAMIS_OFFENCE_SCHEDULE", str(edited))
    with pytest.raises(ScheduleError, match="a change to a schedule is a new version"):
        open_offence(store, officer(), "karim")


def test_listing_by_office_status_and_party(store):
    mine = PartyIn(role="importer", name="STE ATLAS IMPORT SARL", customs_id="IMP9")
    first = open_offence(store, officer(parties=[mine]), "karim")
    open_offence(store, officer(office="CASA-PORT"), "karim")
    assert [o["number"] for o in listing(store, office="TANGER-MED")] == [first["number"]]
    assert [o["number"] for o in listing(store, party="IMP9")] == [first["number"]]
    assert len(listing(store, status="open")) == 2 and listing(store, status="paid") == []


def test_a_repeat_offender_is_recognised_through_a_spelling_variant(store_url, tmp_path):
    engine, _ = loaded_store(store_url, tmp_path, 600, 4)
    resolve(engine)
    entities = read_entities(engine).with_columns(name_key(col("name")).alias("key"))
    importers = entities.filter(col("source") == "declarations").select(
        "entity_id", col("customs_id").alias("importer_id"), col("key").alias("spelt")
    )
    variants = (
        entities.filter(col("source") != "declarations", col("customs_id").is_null())
        .join(importers, on="entity_id")
        .filter(col("key") != col("spelt"))
        .unique(["entity_id", "key"], keep="first")
        .filter(col("key").is_unique())  # a spelling no other company shares
        .sort("entity_id")
    )
    variant = variants.row(0, named=True)
    registered = PartyIn(role="importer", name="as registered", customs_id=variant["importer_id"])
    long_ago = open_offence(
        engine, officer(offence_date=date(2019, 1, 1), parties=[registered]), "karim"
    )
    earlier = open_offence(
        engine, officer(offence_date=date(2024, 1, 2), parties=[registered]), "karim"
    )
    assert earlier["repeat_of"] is None  # five years and a day after the first
    later = open_offence(
        engine,
        officer(
            facts="Undeclared goods in a container consigned to it",
            offence_date=date(2024, 6, 1),
            goods_value=D("2000"),
            parties=[PartyIn(role="importer", name=variant["name"], address=variant["address"])],
        ),
        "sara",
    )
    assert later["repeat_of"] == earlier["number"] != long_ago["number"]
    assert later["penalty_basis"]["repeat"]["party"] == variant["name"]
    assert later["penalty_minor"] == 2 * 1_000_000  # the minimum doubled
    stranger = PartyIn(role="person", name="Someone Unrelated Entirely")
    unrelated = open_offence(
        engine, officer(offence_date=date(2024, 6, 2), parties=[stranger]), "sara"
    )
    assert unrelated["repeat_of"] is None


def test_a_limitation_from_29_february_ends_on_28_february(store):
    leap = open_offence(store, officer(offence_date=date(2024, 2, 29), class_code="C2"), "karim")
    assert leap["limitation_date"] == date(2026, 2, 28)  # C2: two years


def test_facts_and_payments_in_the_future_and_penalties_beyond_the_store_are_refused(store):
    tomorrow = audit.now().date() + timedelta(days=1)
    with pytest.raises(OffenceError, match=f"offence_date: {tomorrow} is in the future"):
        open_offence(store, officer(offence_date=tomorrow), "karim")
    huge = officer(goods_value=D("9999999999999999.99"))  # three times it: beyond 64 bits
    with pytest.raises(OffenceError, match="penalty: .* is beyond what can be recorded"):
        open_offence(store, huge, "karim")
    with pytest.raises(ValueError, match="is in the future"):
        st.PaymentIn(amount=D(1), paid_on=tomorrow, reference="R")
    with pytest.raises(ValueError, match="is in the future"):
        st.JudgmentIn(judged_on=tomorrow, amount=D(1), text="Amende")
    assert listing(store) == []
