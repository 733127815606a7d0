"""Transit movements moved by their messages, on SQLite and PostgreSQL: the whole life of a
movement, messages received twice, out of turn or broken, guarantees, overdue alerts."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import select

from tamis.transit.messages import RECEIVED_TYPES
from tamis.transit.movements import check_digit, engaged_minor, receive, register_guarantee
from tamis.transit.overdue import check_overdue
from tamis.transit.tables import transit_alerts, transit_messages, transit_movements

RELEASED = datetime(2026, 3, 2, 8, 0)


def declaration(ref: str = "m1", duties: int = 400_000, **overrides) -> dict:
    return {
        "type": "IE015",
        "sender": "TRADER-1",
        "message_id": ref,
        "lrn": f"LRN-{ref}",
        "holder": "IMP001",
        "departure_office": "TANGER-MED",
        "destination_office": "CASA-PORT",
        "destination_country": "MA",
        "guarantee": "G-1",
        "seals": ["SEAL-1"],
        "goods": [
            {
                "hs_code": "640399",
                "description": "shoes",
                "gross_mass_kg": 1000.0,
                "duties_minor": duties,
            }
        ],
    } | overrides


def message(kind: str, mrn: str, ref: str, sender: str = "TANGER-MED", **fields) -> dict:
    return {"type": kind, "sender": sender, "message_id": ref, "mrn": mrn} | fields


@pytest.fixture
def guaranteed(store):
    register_guarantee(store, "G-1", "IMP001", 1_000_000, "MAD", actor="admin")
    return store


def declared(store, ref: str = "m1", **overrides) -> str:
    receipt = receive(store, declaration(ref, **overrides), actor="trader")
    assert receipt.outcome == "accepted", receipt.reason
    return receipt.mrn


def released(store, ref: str = "m1", **overrides) -> str:
    mrn = declared(store, ref, **overrides)
    receipt = receive(store, message("IE029", mrn, f"r-{ref}", released_at=RELEASED), "officer")
    assert receipt.state == "released", receipt.reason
    return mrn


def sent(store, mrn: str) -> list[str]:
    with store.connect() as conn:
        return (
            conn.execute(
                select(transit_messages.c.type)
                .where(transit_messages.c.mrn == mrn, transit_messages.c.direction == "out")
                .order_by(transit_messages.c.message_id)
            )
            .scalars()
            .all()
        )


def alerts(store, mrn: str | None = None) -> list[tuple[str, str]]:
    query = select(transit_alerts.c.mrn, transit_alerts.c.kind).order_by(transit_alerts.c.alert_id)
    if mrn:
        query = query.where(transit_alerts.c.mrn == mrn)
    with store.connect() as conn:
        return [tuple(r) for r in conn.execute(query).all()]


def test_a_movement_from_declaration_to_write_off(guaranteed):
    store = guaranteed
    mrn = released(store)
    assert len(mrn) == 18 and mrn[2:4] == "MA" and mrn[-1] == check_digit(mrn[:-1])
    with store.connect() as conn:
        assert engaged_minor(conn, "G-1") == 400_000
    arrival = message(
        "IE006", mrn, "a1", "CASA-PORT", arrived_at=RELEASED + timedelta(days=1), office="CASA-PORT"
    )
    assert receive(store, arrival, "officer").state == "arrived"
    results = message("IE018", mrn, "c1", "CASA-PORT", result="A1", arrival_mass_kg=998.0)
    assert receive(store, results, "officer").state == "written_off"
    assert sent(store, mrn) == ["IE028", "IE001", "IE045"]
    with store.connect() as conn:
        assert engaged_minor(conn, "G-1") == 0  # the guarantee is discharged
        limit = conn.execute(select(transit_movements.c.limit_at)).scalar()
    assert limit == RELEASED + timedelta(days=8)
    assert alerts(store) == []


def test_a_message_received_twice_changes_nothing_and_says_so(guaranteed):
    store = guaranteed
    first = receive(store, declaration("m1"), "trader")
    again = receive(store, declaration("m1"), "trader")
    assert again.duplicate and again.mrn == first.mrn and again.outcome == "accepted"
    with store.connect() as conn:
        assert conn.execute(select(transit_movements.c.mrn)).scalars().all() == [first.mrn]
        assert engaged_minor(conn, "G-1") == 400_000


def test_the_same_message_racing_itself_is_taken_once(guaranteed):
    receipts = []
    threads = [
        threading.Thread(target=lambda: receipts.append(receive(guaranteed, declaration(), "t")))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.duplicate for r in receipts) == [False, True, True, True]
    assert len({r.mrn for r in receipts}) == 1


def test_a_message_out_of_turn_is_refused_and_kept(guaranteed):
    store = guaranteed
    mrn = declared(store)
    early = receive(
        store, message("IE006", mrn, "a1", arrived_at=RELEASED, office="CASA-PORT"), "o"
    )
    assert early.outcome == "refused" and early.status == 409
    assert "it is declared, IE006 needs it released" in early.reason
    unknown = receive(store, message("IE018", "26MA0000000000000X0", "c9", result="A1"), "o")
    assert unknown.outcome == "refused" and unknown.status == 422  # not an MRN: 19 characters
    missing = receive(store, message("IE018", "26MA00000000000000", "c9", result="A1"), "o")
    assert missing.status == 404 and "no such movement" in missing.reason
    with store.connect() as conn:
        kept = conn.execute(
            select(transit_messages.c.type, transit_messages.c.outcome, transit_messages.c.reason)
            .where(transit_messages.c.direction == "in")
            .order_by(transit_messages.c.message_id)
        ).all()
    assert [(k.type, k.outcome) for k in kept] == [
        ("IE015", "accepted"),
        ("IE006", "refused"),
        ("IE018", "refused"),
        ("IE018", "refused"),
    ]
    assert all(k.reason for k in kept[1:])


@pytest.mark.parametrize(
    "body, field",
    [
        ("{not json", "message"),
        ('{"type": "IE999", "sender": "X", "message_id": "1"}', "type"),
        (json.dumps(declaration() | {"goods": []}), "goods"),
        (json.dumps(declaration() | {"destination_country": "Morocco"}), "destination_country"),
        (json.dumps(declaration() | {"goods": [{"hs_code": "64", "gross_mass_kg": 1}]}), "hs_code"),
        (json.dumps(declaration() | {"smuggled": True}), "smuggled"),
    ],
)
def test_a_broken_message_is_refused_with_its_field_and_kept(guaranteed, body, field):
    receipt = receive(guaranteed, body, "trader")
    assert receipt.outcome == "refused" and receipt.status == 422
    assert field in receipt.reason
    with guaranteed.connect() as conn:
        kept = conn.execute(select(transit_messages.c.body, transit_messages.c.outcome)).all()
    assert [(k.body, k.outcome) for k in kept] == [(body, "refused")]


def test_a_guarantee_is_never_exceeded_even_by_declarations_racing(guaranteed):
    store = guaranteed
    declared(store, "m1", duties=700_000)
    over = receive(store, declaration("m2", duties=400_000), "trader")
    assert over.outcome == "refused" and "guarantee: G-1 would be exceeded" in over.reason
    assert receive(store, declaration("m3", duties=300_000), "trader").outcome == "accepted"
    register_guarantee(store, "G-2", "IMP001", 500_000, "MAD", actor="admin")
    receipts = []
    racing = [declaration(f"r{i}", duties=200_000, guarantee="G-2") for i in range(5)]
    threads = [
        threading.Thread(target=lambda b=b: receipts.append(receive(store, b, "t"))) for b in racing
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.outcome for r in receipts) == ["accepted"] * 2 + ["refused"] * 3
    with store.connect() as conn:
        assert engaged_minor(conn, "G-2") == 400_000
    other = receive(store, declaration("m4", holder="IMP999"), "trader")
    assert "not held by IMP999" in other.reason
    unknown = receive(store, declaration("m5", guarantee="G-404"), "trader")
    assert "not a registered guarantee" in unknown.reason


def test_late_arrival_short_mass_and_other_office_alert_and_wait_for_write_off(guaranteed):
    store = guaranteed
    mrn = released(store)
    late = RELEASED + timedelta(days=10)
    receive(store, message("IE006", mrn, "a1", arrived_at=late, office="CASA-AIR"), "officer")
    results = message("IE018", mrn, "c1", result="A1", arrival_mass_kg=700.0)
    assert receive(store, results, "officer").state == "discrepancies"
    assert alerts(store, mrn) == [(mrn, "late"), (mrn, "other_office"), (mrn, "mass_short")]
    with store.connect() as conn:
        assert engaged_minor(conn, "G-1") == 400_000  # engaged until written off
    assert receive(store, message("IE045", mrn, "w1"), "officer").state == "written_off"
    assert sent(store, mrn)[-1] == "IE045"


def test_arrival_before_release_is_refused(guaranteed):
    mrn = released(guaranteed)
    before = RELEASED - timedelta(hours=1)
    receipt = receive(guaranteed, message("IE006", mrn, "a1", arrived_at=before, office="X"), "o")
    assert receipt.outcome == "refused" and "before the release" in receipt.reason


def test_change_of_destination_and_incident_while_on_the_way(guaranteed):
    store = guaranteed
    mrn = released(store)
    change = message("IE024", mrn, "d1", destination_office="ES001", destination_country="ES")
    assert receive(store, change, "officer").outcome == "accepted"
    incident = message(
        "IE180",
        mrn,
        "i1",
        at=RELEASED + timedelta(hours=5),
        description="seal found broken at a rest area",
        lon=-6.5,
        lat=34.3,
    )
    assert receive(store, incident, "officer").outcome == "accepted"
    assert sent(store, mrn) == ["IE028", "IE001", "IE001"]
    with store.connect() as conn:
        row = conn.execute(select(transit_movements)).one()
        to = (
            conn.execute(
                select(transit_messages.c.recipient).where(transit_messages.c.type == "IE001")
            )
            .scalars()
            .all()
        )
    assert (row.destination_office, row.partner) == ("ES001", "ES")
    assert to == ["CASA-PORT", "ES"]
    assert alerts(store, mrn) == [(mrn, "incident")]


def test_a_partner_reports_only_on_movements_bound_for_it(guaranteed):
    store = guaranteed
    to_spain = released(store, "m1", destination_office="ES001", destination_country="ES")
    at_home = released(store, "m2")
    arrival = {"arrived_at": RELEASED + timedelta(days=2), "office": "ES001"}
    theirs = receive(store, message("IE006", to_spain, "p1", "ES", **arrival), "es", partner="ES")
    assert theirs.state == "arrived"
    ours = receive(store, message("IE006", at_home, "p2", "ES", **arrival), "es", partner="ES")
    assert ours.status == 403 and "not bound for ES" in ours.reason
    declare = receive(store, declaration("p3") | {"sender": "ES"}, "es", partner="ES")
    assert declare.status == 403
    as_other = message("IE018", to_spain, "r-m1", "TANGER-MED", result="A1")  # another's id
    posing = receive(store, as_other, "es", partner="ES")
    assert posing.status == 403 and "a partner sends as itself" in posing.reason
    assert not posing.duplicate and posing.mrn is None  # nothing said of the real message


def test_overdue_then_enquiry_each_raised_once(guaranteed):
    store = guaranteed
    mrn = released(store)
    arrived = released(store, "m2")
    receive(store, message("IE006", arrived, "a2", arrived_at=RELEASED, office="CASA-PORT"), "o")
    assert check_overdue(store, RELEASED + timedelta(days=7)) == []
    first = check_overdue(store, RELEASED + timedelta(days=8, minutes=1))
    assert [(a["mrn"], a["kind"]) for a in first] == [(mrn, "overdue")]
    assert check_overdue(store, RELEASED + timedelta(days=9)) == []  # raised once
    later = check_overdue(store, RELEASED + timedelta(days=16))
    assert [(a["mrn"], a["kind"]) for a in later] == [(mrn, "enquiry")]
    assert alerts(store) == [(mrn, "overdue"), (mrn, "enquiry")]


def test_every_received_type_has_a_step():
    from tamis.transit.messages import RECEIVED
    from tamis.transit.movements import STEPS

    assert RECEIVED_TYPES == (
        "IE015",
        "IE001",
        "IE029",
        "IE024",
        "IE180",
        "IE006",
        "IE018",
        "IE045",
    )
    handled = {model.model_fields["type"].default for model in STEPS} | {"IE015", "IE001"}
    assert handled == set(RECEIVED_TYPES)
    assert RECEIVED.json_schema()  # a published schema partners can validate against


def test_a_holder_whose_goods_vanished_in_transit_is_flagged_on_its_declarations(guaranteed):
    from tamis.detectors.base import StoreContext
    from tamis.detectors.transit import TransitDetector
    from tamis.reasons import render

    store = guaranteed
    assert TransitDetector.from_store(store, StoreContext(store)) is None  # no record yet
    released(store, "m1")
    vanished_last = released(store, "m2")
    check_overdue(store, RELEASED + timedelta(days=30))
    register_guarantee(store, "G-9", "IMP009", 10**9, "MAD", actor="admin")
    clean = released(store, "m3", holder="IMP009", guarantee="G-9")
    arrived = RELEASED + timedelta(days=1)
    receive(store, message("IE006", clean, "a3", arrived_at=arrived, office="CASA-PORT"), "o")
    detector = TransitDetector.from_store(store, StoreContext(store))
    batch = pl.DataFrame(
        {"declaration_id": ["D1", "D2", "D3"], "importer_id": ["IMP001", "IMP009", "IMP404"]}
    )
    signals = {r["declaration_id"]: r for r in detector.assess(batch).iter_rows(named=True)}
    assert signals["D2"]["score"] == 0 and signals["D3"]["score"] == 0
    flagged = signals["D1"]
    assert flagged["score"] == pytest.approx(2 / 3)  # two movements, both overdue, one enquiry
    said = render(flagged["reasons"][0], "fr")
    assert said.startswith("antécédents de transit : 2 des 2 mouvement(s) de transit de IMP001")
    assert "en alerte (enquête ouverte, délai dépassé)" in said
    assert render(flagged["reasons"][0]).endswith(
        f"alerted (enquiry opened, overdue), the last {vanished_last}"
    )


def test_a_movement_is_routed_at_departure_on_its_risk(guaranteed):
    from tamis.reasons import render
    from tamis.transit.read import movement

    store = guaranteed
    register_guarantee(store, "G-1", "IMP001", 10**9, "MAD", actor="admin")
    calm = movement(store, declared(store, "m1"))
    assert calm["risk_score"] == pytest.approx(400_000 / 5_400_000, abs=1e-6)
    calm_said = [render(r) for r in calm["risk_reasons"]]  # and one in 50 drawn at random
    assert [r for r in calm_said if not r.startswith("random selection: draw")] == [
        "4,000 MAD of duties and taxes at stake"
    ]
    released(store, "m2")
    released(store, "m3")
    check_overdue(store, RELEASED + timedelta(days=30))  # m2 and m3 never arrived
    risky = movement(
        store, declared(store, "m4", seals=[], destination_country="ES", destination_office="ES001")
    )
    expected = 1 - (1 - 2 / 4) * (1 - 400_000 / 5_400_000) * (1 - 0.2) * (1 - 0.3)
    assert risky["risk_score"] == pytest.approx(expected, abs=1e-6)
    assert risky["channel"] in ("orange", "red")  # orange by its score; red if drawn at random
    said = [render(r, "fr") for r in risky["risk_reasons"]]
    assert said[0].startswith("antécédents de transit : 2 des 3 mouvement(s) de transit")
    drawn = [r for r in said if r.startswith("sélection aléatoire")]  # one in 50 movements
    assert [r for r in said[2:] if r not in drawn] == [
        "l'itinéraire franchit la frontière vers ES",
        "les marchandises voyagent sans scellé électronique",
    ]


def test_a_holder_whose_goods_vanished_is_a_known_offender_for_network_risk(guaranteed):
    from tamis.intel.network import known_offenders

    store = guaranteed
    released(store, "m1")
    late = released(store, "m2")
    receive(
        store,
        message("IE006", late, "a2", arrived_at=RELEASED + timedelta(days=9), office="CASA-PORT"),
        "o",
    )
    assert known_offenders(store) == {}
    check_overdue(store, RELEASED + timedelta(days=30))  # m1: overdue, then an enquiry
    assert known_offenders(store) == {"IMP001": 1}  # late arrival alone is no offence
