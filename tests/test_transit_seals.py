"""Seal positions as a source, end to end on SQLite and PostgreSQL: synthetic movements
with planted frauds, their seals' file ingested, every planted fraud alerted and nothing
else, bad rows quarantined with their field, a rerun changing nothing."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tamis.cli import app
from tamis.ingest.quarantine import quarantined
from tamis.transit import synthetic
from tamis.transit.seals import ingest_positions
from tamis.transit.tables import transit_alerts, transit_positions

NOW = datetime(2026, 1, 1)


@pytest.fixture
def moving(store):
    holders = [f"IMP{i:03d}" for i in range(30)]
    moved, planted = synthetic.messages(
        holders, 160, datetime(2025, 1, 1), 300, seed=7, fraud_rate=0.2, risky=set(holders[:6])
    )
    mrns = synthetic.load(store, moved, NOW)
    return store, synthetic.positions(moved, mrns, planted, 7), mrns, planted


def alerts_by_movement(store) -> dict[str, set[str]]:
    found = defaultdict(set)
    with store.connect() as conn:
        for mrn, kind in conn.execute(select(transit_alerts.c.mrn, transit_alerts.c.kind)):
            found[mrn].add(kind)
    return found


def test_every_planted_fraud_raises_its_alerts_and_nothing_else(moving, tmp_path):
    store, fixes, mrns, planted = moving
    path = tmp_path / "seals.csv"
    fixes.write_csv(path)
    summary = ingest_positions(path, store, now=NOW)
    assert summary.received == summary.accepted == fixes.height and summary.rejected == 0
    assert {p.fraud for p in planted} >= set(synthetic.ALERTS_OF) - {None}  # every kind was planted
    found = alerts_by_movement(store)
    for p in planted:
        assert found.get(mrns[p.lrn], set()) == synthetic.ALERTS_OF[p.fraud], (p.fraud, mrns[p.lrn])
    again = ingest_positions(path, store, now=NOW)  # the same file again
    assert again.inserted == 0 and again.already_stored == fixes.height
    assert alerts_by_movement(store) == found
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(transit_positions)).scalar() == (
            fixes.height
        )


def test_bad_positions_are_quarantined_with_their_field(moving, tmp_path):
    store, fixes, _, _ = moving
    good = fixes.head(5).with_columns(
        pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%S"), pl.col("lon", "lat").cast(pl.String)
    )
    first = good.row(0, named=True)
    bad = pl.DataFrame(
        [
            first | {"lat": "95.0", "at": "2025-06-01T00:00:00"},  # no such latitude
            first | {"lon": "east", "at": "2025-06-01T00:15:00"},  # not a number
            first | {"seal_id": "SEAL-NOBODY"},  # not this movement's seal
            first | {"at": "2031-01-01T00:00:00"},  # in the future
            first | {"event": "exploded", "at": "2025-06-01T00:30:00"},
            first | {"mrn": "26MA00000000000000", "at": "2025-06-01T00:45:00"},  # no movement
        ],
        schema=good.schema,
    )
    path = tmp_path / "broken.csv"
    pl.concat([good, bad]).write_csv(path)
    summary = ingest_positions(path, store, now=NOW)
    assert (summary.received, summary.accepted, summary.rejected) == (11, 5, 6)
    kept = quarantined(store, summary.source_id)
    assert sorted(kept["field"].to_list()) == ["at", "event", "lat", "lon", "mrn", "seal_id"]
    assert sorted(kept["source_row"].to_list()) == [6, 7, 8, 9, 10, 11]
    assert all(json.loads(r) for r in kept["record"].to_list())


def test_the_command_line_loads_seal_positions(moving, tmp_path, monkeypatch, store_url):
    store, fixes, _, _ = moving
    path = tmp_path / "seals.csv"
    fixes.head(500).write_csv(path)
    monkeypatch.setenv("TAMIS_DATABASE_URL", store_url)
    result = CliRunner().invoke(app, ["transit", "positions", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accepted"] == 500
    missing = CliRunner().invoke(app, ["transit", "positions", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_the_command_line_takes_messages_from_a_file(store, store_url, tmp_path, monkeypatch):
    from tamis.transit.movements import register_guarantee
    from tests.test_transit import declaration

    register_guarantee(store, "G-1", "IMP001", 10**9, "MAD", actor="admin")
    lines = [
        json.dumps(declaration("m1")),
        json.dumps(declaration("m1")),
        "{broken",
        json.dumps(declaration("m2", guarantee="G-404")),
    ]
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("TAMIS_DATABASE_URL", store_url)
    result = CliRunner().invoke(app, ["transit", "send", str(path), "--json"])
    assert result.exit_code == 0, result.output
    said = json.loads(result.output)
    assert {k: said[k] for k in ("received", "accepted", "duplicate", "refused")} == {
        "received": 4,
        "accepted": 1,
        "duplicate": 1,
        "refused": 2,
    }
    assert [r["line"] for r in said["refusals"]] == [3, 4]
    assert "not a registered guarantee" in said["refusals"][1]["reason"]
    listed = CliRunner().invoke(app, ["transit", "list", "--json"])
    assert [m["lrn"] for m in json.loads(listed.output)] == ["LRN-m1"]
