"""Offences back into targeting and into the figures: the repeat-offender detector, the
importer's history, a watchlist from an offence, the scoreboard's fraud notices and the
offences' figures, and the WCO CEN seizure export."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from tamis import audit
from tamis.detectors.base import ItemRows, StoreContext
from tamis.detectors.repeat_offender import RepeatOffenderDetector
from tamis.detectors.watchlist import WatchlistDetector
from tamis.offences import settlement
from tamis.offences.read import amount
from tamis.offences.records import Identities, open_from_inspection
from tamis.offences.reporting import CEN_COLUMNS, cen_csv, cen_seizures, figures
from tamis.offences.watch import watch_offence
from tamis.reasons import render
from tamis.scoreboard.figures import Period, scoreboard
from tamis.settings import settings
from tamis.store.read import read_items, read_outcomes
from tests.conftest import login
from tests.stores import assessed_store

col = pl.col


def offences_store(engine, tmp_path, **more) -> list[dict]:
    """A store of 1,500 assessed declarations with an offence opened from each
    non-compliant inspection result (``more`` said of every offence); the offences."""
    assessed_store(engine, tmp_path, declarations=1500)
    found = read_outcomes(engine).filter(col("result") == "non_compliant")
    known = Identities(engine)
    ids = found["declaration_id"].unique().sort().to_list()
    assert len(ids) >= 3, "the synthetic store should hold a few non-compliant results"
    return [open_from_inspection(engine, d, "karim", known, **more) for d in ids]


def later(engine, declaration_ids=None, days: int = 30) -> pl.DataFrame:
    """The store's declarations lodged again ``days`` later under new ids."""
    items = read_items(engine)
    if declaration_ids is not None:
        items = items.filter(col("declaration_id").is_in(declaration_ids))
    return items.with_columns(
        ("L-" + col("declaration_id")).alias("declaration_id"),
        col("lodged_at") + timedelta(days=days),
    )


def test_a_repeat_offenders_later_declarations_carry_its_offences(client, tmp_path):
    engine = client.app.state.engine
    opened = offences_store(engine, tmp_path)
    latest: dict[str, dict] = {}
    for offence in sorted(opened, key=lambda o: (o["offence_date"], o["offence_id"])):
        for party in offence["parties"]:
            for key in {party["customs_id"], party["entity_id"]} - {None}:
                latest[key] = offence
    detector = RepeatOffenderDetector.from_store(engine, StoreContext(engine))
    batch = later(engine)
    signals = (
        batch.select("declaration_id", "importer_id")
        .unique()
        .join(detector.assess(batch), on="declaration_id")
    )
    offenders = signals.filter(col("importer_id").is_in(list(latest)))
    others = signals.filter(~col("importer_id").is_in(list(latest)))
    assert offenders.height and others.height
    assert (others["score"] == 0).all() and (others["reasons"].list.len() == 0).all()
    assert offenders["score"].is_between(0.2, 0.95).all()
    for importer, reasons in offenders.select("importer_id", "reasons").iter_rows():
        offence = latest[importer]
        english, french = render(reasons[0], "en"), render(reasons[0], "fr")
        assert offence["number"] in english and offence["class_code"] in english, english
        assert f"{offence['number']} ({offence['class_code']} : " in french, french

    # a lodged declaration scores as in a batch, through the plain path
    chosen = [*offenders["declaration_id"].head(3), *others["declaration_id"].head(3)]
    together = {r["declaration_id"]: r for r in detector.assess(batch).iter_rows(named=True)}
    for declaration_id in chosen:
        items = batch.filter(col("declaration_id") == declaration_id)
        plain = detector.assess_rows(ItemRows(items.rows(named=True), items.schema))
        got, expected = plain[declaration_id], together[declaration_id]
        assert got["score"] == pytest.approx(expected["score"], abs=1e-12)
        assert got["reasons"] == expected["reasons"]

    # the importer's history says its offences
    offence = opened[0]
    importer = offence["parties"][0]["customs_id"]
    theirs = [o for o in opened if importer in {p["customs_id"] for p in o["parties"]}]
    history = client.get(f"/api/importers/{importer}", headers=login(client, "analyst")).json()
    assert history["offences"]["count"] == len(theirs)
    assert history["offences"]["latest"][0] == latest[importer]["number"]
    penalties = sum(o["penalty_minor"] for o in theirs)
    assert history["offences"]["penalties_minor"] == {offence["currency"]: penalties}


def test_fraud_notices_and_figures_come_from_the_offences(store, tmp_path):
    opened = offences_store(store, tmp_path)
    board = scoreboard(store, Period("2025-01", "2025-03"))
    assert board["totals"]["fraud_notices"] == len(opened)
    rows = figures(store)
    assert sum(r["offences"] for r in rows) == len(opened)
    assert sum(r["penalties_minor"] for r in rows) == sum(o["penalty_minor"] for o in opened)
    for office in {o["office"] for o in opened}:
        theirs = [o for o in opened if o["office"] == office]
        said = figures(store, office=office)
        assert sum(r["penalties_minor"] for r in said) == sum(o["penalty_minor"] for o in theirs)

    # settled, approved by another officer, accepted and paid in July
    offence = opened[0]
    number, penalty = offence["number"], amount(offence["penalty_minor"])
    settlement.propose(store, number, settlement.SettlementIn(amount=penalty), "karim")
    settlement.decide(store, number, True, "samira")
    settlement.accept(store, number, "karim")
    paid = settlement.PaymentIn(amount=penalty, paid_on=date(2025, 7, 15), reference="Q-1")
    assert settlement.pay(store, number, paid, "karim")["status"] == "paid"
    month = f"{offence['offence_date']:%Y-%m}"
    [facts] = figures(store, offence["office"], month, month)
    assert facts["settled_minor"] == offence["penalty_minor"] and facts["judged_minor"] == 0
    assert facts["collected_minor"] == 0  # collected in the month of payment, not of the facts
    [july] = figures(store, offence["office"], "2025-07", "2025-07")
    assert july["collected_minor"] == offence["penalty_minor"] and july["offences"] == 0
    assert not figures(store, offence["office"], "2025-08", "2025-12")
    with pytest.raises(ValueError, match="first: '2025-7' is not a month"):
        figures(store, first="2025-7")


def test_the_cen_export_has_one_row_per_seizure_in_the_forms_columns(store, tmp_path):
    assessed_store(store, tmp_path, declarations=1500)
    found = read_outcomes(store).filter(col("result") == "non_compliant")
    known = Identities(store)
    ids = found["declaration_id"].unique().sort().to_list()
    seizing = {"seized": True, "concealment": "double fond", "detection_method": "scanner",
               "goods": "Chaussures contrefaites — saisies"}  # fmt: skip
    opened = [
        open_from_inspection(store, d, "karim", known, **(seizing if i % 2 else {}))
        for i, d in enumerate(ids)
    ]
    seized = [o for o in opened if o["seized"]]
    frame = cen_seizures(store)
    assert frame.columns == list(CEN_COLUMNS)
    assert frame["case_number"].to_list() == [o["number"] for o in seized]
    stored = read_items(store).sort("declaration_id", "item_number")
    for row, offence in zip(frame.iter_rows(named=True), seized, strict=True):
        goods = stored.filter(col("declaration_id") == offence["declaration_ids"][0])
        head = goods.row(0, named=True)
        assert row["seizure_date"] == str(offence["offence_date"])
        assert row["reporting_country"] == row["destination_country"] == settings().country
        assert row["offence_type"].startswith(offence["class_code"] + " ")
        assert row["estimated_value"] == str(amount(offence["goods_value_minor"]))
        assert row["duties_evaded"] == str(amount(offence["duties_evaded_minor"]))
        assert row["country_of_departure"] == head["export_country"]
        assert row["transport_mode"] == head["transport_mode"]
        assert row["country_of_origin"] == "; ".join(dict.fromkeys(goods["origin_country"]))
        assert row["concealment_method"] == "double fond" and row["offender_type"] == "importer"
        assert row["offender_nationality"] is None
    since = seized[-1]["offence_date"]
    assert cen_seizures(store, since=since)["case_number"].to_list()[-1] == seized[-1]["number"]
    path = cen_csv(frame, tmp_path / "cen.csv")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(",".join(CEN_COLUMNS)) and "Chaussures contrefaites — saisies" in text
    assert pl.read_csv(path, infer_schema=False).equals(frame)


def test_a_watchlist_from_an_offence_sends_the_importers_next_declaration_to_orange(
    store, tmp_path
):
    offence = offences_store(store, tmp_path)[0]
    watchlist_id = watch_offence(store, offence["number"], "karim", days=90)
    with pytest.raises(ValueError, match="name: a watchlist 'Offence .*' exists already"):
        watch_offence(store, offence["number"], "karim")
    [entry] = audit.entries(store, entity="watchlist", entity_id=str(watchlist_id))
    assert entry["action"] == "watchlist.create" and entry["actor"] == "karim"
    detector = WatchlistDetector.from_store(store, StoreContext(store))
    tomorrow = audit.now() + timedelta(days=1)
    again = later(store, [offence["declaration_ids"][0]]).with_columns(
        pl.lit(tomorrow).alias("lodged_at")
    )
    importer = offence["parties"][0]["customs_id"]
    stranger = again.with_columns(
        pl.lit("NOT-" + importer).alias("importer_id"),
        ("S" + col("declaration_id")).alias("declaration_id"),
    )
    after_it = again.with_columns(
        pl.lit(tomorrow + timedelta(days=91)).alias("lodged_at"),
        ("X" + col("declaration_id")).alias("declaration_id"),
    )
    signals = detector.assess(pl.concat([again, stranger, after_it]))
    hit, *not_hit = signals.iter_rows(named=True)
    assert hit["forced_channel"] == "orange"
    said = render(hit["reasons"][0], "en")
    assert f"Offence {offence['number']}: " in said and importer in said
    assert [(r["forced_channel"], r["reasons"]) for r in not_hit] == [(None, [])] * 2
