"""The scoreboard's sums stay equal to what the store holds as decisions, channel changes,
inspection results and offences are recorded, and a rebuild finds the same."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import select

from tamis.assess import assess_file, assessor_from_store
from tamis.offences.records import open_from_inspection
from tamis.offences.reporting import figures
from tamis.scoreboard.figures import Period, choices, scoreboard
from tamis.scoreboard.update import catch_up, changed, rebuild
from tamis.store.read import read_outcomes
from tamis.store.tables import (
    scoreboard_chapters,
    scoreboard_days,
    scoreboard_detectors,
    scoreboard_importers,
)
from tamis.web.i18n import Translator
from tests.conftest import login
from tests.stores import assessed_store, decide_again


def sums(engine) -> dict[str, list]:
    tables = (scoreboard_days, scoreboard_detectors, scoreboard_importers, scoreboard_chapters)
    with engine.connect() as conn:
        return {
            t.name: sorted(tuple(r) for r in conn.execute(select(t)) if any(r[3:])) for t in tables
        }


def test_sums_match_the_store_through_changes_and_a_rebuild(client, tmp_path):
    store = client.app.state.engine
    decided = assessed_store(store, tmp_path)
    everything = Period("2025-01", "2025-03")
    board = scoreboard(store, everything)
    by_channel = {c["channel"]: c["declarations"] for c in board["channels"]}
    assert by_channel == dict(decided.group_by("channel").len().iter_rows())
    assert board["totals"]["declarations"] == 400 == board["totals"]["assessed"]
    risky = pl.col("channel").is_in(["orange", "red"])
    inspected = decided.filter(risky | pl.col("random_selected"))
    assert board["totals"]["inspected"] == inspected.height
    assert board["totals"]["asked"] == decided.filter(risky).height
    assert sum(c["inspected"] for c in board["importers"]) <= inspected.height
    assert any(d["detector"] == "rules" for d in board["detectors"])
    lodged = pl.read_parquet(tmp_path / "year.parquet", columns=["office"])
    assert set(choices(store)["offices"]) == set(lodged["office"])
    per_office = {o["office"]: o for o in board["offices"]}  # against the 4 % + 6 % budgets
    per_declaration = pl.read_parquet(tmp_path / "year.parquet").unique("declaration_id")
    assert sum(o["sent"] for o in per_office.values()) == board["totals"]["asked"]
    for office, o in per_office.items():
        arrived = per_declaration.filter(pl.col("office") == office).height
        assert o["declarations"] == arrived and o["capacity"] == pytest.approx(0.1 * arrived)
    page = client.get("/scoreboard?from=2025-01&to=2025-03", headers=login(client, "analyst"))
    assert "face à la capacité, par bureau" in page.text  # in French first
    assert all(f'data-office="{office}"' in page.text for office in per_office)

    # An officer raises a green declaration to red: it moves, nothing is counted twice.
    green = decided.filter(pl.col("channel") == "green")["declaration_id"][0]
    raised = client.post(
        f"/api/declarations/{green}/channel", json={"channel": "red", "reason": "tip-off"}
    )
    assert raised.status_code == 200, raised.text
    after = {c["channel"]: c["declarations"] for c in scoreboard(store, everything)["channels"]}
    assert after["green"] == by_channel["green"] - 1
    assert after["red"] == by_channel.get("red", 0) + 1

    # Re-assessing the same file supersedes decisions instead of adding to them, and a
    # rebuild from scratch finds exactly the sums kept up to date so far.
    assess_file(tmp_path / "year.parquet", "canonical", assessor_from_store(store),
                tmp_path / "b.parquet", store)  # fmt: skip
    assert scoreboard(store, everything)["totals"]["declarations"] == 400
    kept = sums(store)
    assert rebuild(store) == 400
    assert sums(store) == kept and kept["scoreboard_days"]


@pytest.mark.parametrize("office", [None, "CASA-PORT"])
def test_a_filtered_scoreboard_adds_up_to_its_parts(store, tmp_path, office):
    assessed_store(store, tmp_path, declarations=300, seed=9)
    whole = scoreboard(store, Period("2025-01", "2025-03"), office)
    months = [scoreboard(store, Period(m, m), office) for m in ("2025-01", "2025-02", "2025-03")]
    for key in ("declarations", "inspected", "hits", "revenue_recovered_minor", "asked"):
        assert whole["totals"][key] == sum(m["totals"][key] for m in months), key
    assert whole["totals"]["capacity"] > 0
    if office is None:  # the all-offices ranking is the per-office sums added up
        top = whole["importers"][0]
        per_office = [
            next((r for r in scoreboard(store, whole["period"], o, top=10_000)["importers"]
                  if r["importer_id"] == top["importer_id"]), None)
            for o in choices(store)["offices"]
        ]  # fmt: skip
        found = [r for r in per_office if r]
        for key in ("declarations", "risky", "inspected", "hits", "revenue_recovered_minor"):
            assert top[key] == sum(r[key] for r in found), key


def test_a_lodged_declaration_is_queued_then_counted_when_the_figures_are_read(client):
    from tamis.store.tables import scoreboard_pending
    from tests.test_api import DECLARATION

    store = client.app.state.engine
    march = Period("2025-03", "2025-03")
    before = scoreboard(store, march)["totals"]["declarations"]
    assert client.post("/api/declarations", json=DECLARATION).status_code == 201
    with store.connect() as conn:
        assert conn.execute(select(scoreboard_pending.c.declaration_id)).scalars().all() == [
            "D-API-1"
        ]
    board = scoreboard(store, march, "CASA-PORT")
    assert board["totals"]["declarations"] == before + 1
    assert {c["channel"]: c["declarations"] for c in board["channels"]}["red"] >= 1
    with store.connect() as conn:
        assert conn.execute(select(scoreboard_pending)).first() is None
    kept = sums(store)
    assert rebuild(store) == 1 and sums(store) == kept


def test_an_opened_offence_is_a_fraud_notice_and_its_penalty_a_figure(client, tmp_path):
    store = client.app.state.engine
    assessed_store(store, tmp_path, declarations=1500)
    everything = Period("2025-01", "2025-03")
    assert scoreboard(store, everything)["totals"]["fraud_notices"] == 0  # no offence yet
    found = read_outcomes(store).filter(pl.col("result") == "non_compliant")
    offence = open_from_inspection(store, found["declaration_id"].sort()[0], "karim")
    board = scoreboard(store, everything)
    assert board["totals"]["fraud_notices"] == 1
    assert sum(c["fraud_notices"] for c in board["channels"]) == 1
    month = f"{offence['offence_date']:%Y-%m}"
    rows = figures(store, offence["office"], month, month)
    assert [(r["offences"], r["penalties_minor"]) for r in rows] == [(1, offence["penalty_minor"])]
    page = client.get(f"/scoreboard?office={offence['office']}&from=2025-01&to={month}")
    assert 'id="offence-figures"' in page.text and f'data-month="{month}"' in page.text
    assert Translator("fr").money(offence["penalty_minor"]) in page.text
    kept = sums(store)
    rebuild(store)
    assert sums(store) == kept


def test_signals_stored_before_a_field_existed_still_count(store, tmp_path):
    """Decisions stored before signals had ``forced_channel`` (or a score) keep counting."""
    decided = assessed_store(store, tmp_path, declarations=50, seed=3)
    catch_up(store)  # the store's own queue: the old decision below is then alone in it
    declaration_id = decided["declaration_id"][0]
    old = {"rules": {"score": 0.9, "reasons": []}, "valuation": {"reasons": []}}
    decide_again(store, declaration_id, [], old)
    with store.begin() as conn:
        changed(conn, [declaration_id])
    assert catch_up(store) == 1
    kept = sums(store)
    assert rebuild(store) == 50 and sums(store) == kept
