"""``tamis offences`` as an officer and a supervisor use it from the terminal."""

from __future__ import annotations

import json

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from tamis.cli import app as cli
from tamis.store import open_store
from tamis.store.read import read_outcomes
from tests.stores import assessed_store

runner = CliRunner()


def tamis(*args: str):
    return runner.invoke(cli, list(args))


@pytest.fixture
def terminal(store_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TAMIS_DATABASE_URL", store_url)
    engine = open_store(store_url)
    assessed_store(engine, tmp_path, declarations=1500)
    return engine


def test_from_inspection_results_to_a_paid_settlement(terminal, tmp_path):
    bad = read_outcomes(terminal).filter(pl.col("result") == "non_compliant")
    opened = tamis("offences", "from-inspections", "--by", "karim", "--json")
    said = json.loads(opened.stdout)
    assert said["results"] == bad["declaration_id"].n_unique() == len(said["opened"]) > 0
    again = json.loads(tamis("offences", "from-inspections", "--json").stdout)
    assert again == {"results": 0, "opened": [], "refused": []}  # a rerun opens none
    number = said["opened"][0]
    shown = json.loads(tamis("offences", "show", number, "--json").stdout)
    penalty = shown["penalty_minor"] / 100
    assert shown["status"] == "open" and shown["settlements"] == []

    too_low = tamis("offences", "settle", number, "--amount", "0.01", "--by", "karim")
    assert too_low.exit_code == 2 and "outside the schedule's bounds" in too_low.stderr
    amount = f"{penalty:.2f}"
    assert tamis("offences", "settle", number, "--amount", amount, "--by", "karim").exit_code == 0
    own = tamis("offences", "approve", number, "--by", "karim")
    assert own.exit_code == 2 and "cannot also decide it" in own.stderr
    assert tamis("offences", "approve", number, "--by", "sara").exit_code == 0
    assert tamis("offences", "accept", number, "--by", "karim").exit_code == 0
    paid = tamis("offences", "pay", number, "--amount", amount, "--on", "2026-01-05",
                 "--reference", "QT-1", "--by", "karim")  # fmt: skip
    assert paid.exit_code == 0 and "paid" in paid.stdout
    closed = tamis("offences", "pay", number, "--amount", "1", "--on", "2026-01-06",
                   "--reference", "QT-2")  # fmt: skip
    assert closed.exit_code == 2 and "no payment is due" in closed.stderr
    assert json.loads(tamis("offences", "replay", number, "--json").stdout)["agrees"]

    watched = tamis("offences", "watch", number, "--days", "30", "--by", "sara")
    assert watched.exit_code == 0 and f"opened from offence {number} for 30 days" in watched.stdout
    listed = json.loads(tamis("offences", "list", "--status", "paid", "--json").stdout)
    assert [o["number"] for o in listed] == [number]
    wrong = tamis("offences", "list", "--status", "settled-ish")
    assert wrong.exit_code == 2 and "expected one of" in wrong.stderr


def test_an_officer_records_an_offence_from_a_file_and_sends_it_to_court(terminal, tmp_path):
    record = {"facts": "Cigarettes hidden in a spare tyre", "office": "TANGER-MED",
              "offence_date": "2025-05-02", "fraud_type": "prohibited", "goods_value": "3000",
              "seized": True, "seized_quantity": "40", "storage_place": "Magasin 3",
              "concealment": "spare tyre", "detection_method": "scanner",
              "parties": [{"role": "carrier", "name": "Transports Rif SARL"}]}  # fmt: skip
    path = tmp_path / "offence.yaml"
    path.write_text(yaml.safe_dump(record), encoding="utf-8")
    made = json.loads(tamis("offences", "record", str(path), "--by", "karim", "--json").stdout)
    assert made["number"] == "TANGER-MED/2025/00001" and made["class_code"] == "D1"
    assert made["penalty_minor"] == 1_000_000 and made["confiscation"] == 1  # 3 x 3,000 < 10,000
    number = made["number"]
    assert (
        tamis("offences", "court", number, "--court", "TPI Tanger", "--by", "sara").exit_code == 0
    )
    judged = tamis("offences", "judgment", number, "--on", "2025-11-03", "--amount", "9000",
                   "--text", "Amende", "--by", "sara")  # fmt: skip
    assert judged.exit_code == 0 and "judged" in judged.stdout
    figures = json.loads(tamis("offences", "figures", "--office", "TANGER-MED", "--json").stdout)
    assert [(f["month"], f["offences"], f["judged_minor"]) for f in figures] == [
        ("2025-05", 1, 900_000)
    ]
    exported = tamis("offences", "cen-export", str(tmp_path / "cen.csv"))
    assert exported.exit_code == 0 and "1 seizure(s) written" in exported.stdout
    seizures = pl.read_csv(tmp_path / "cen.csv", infer_schema_length=0)
    assert seizures.select("case_number", "concealment_method", "quantity").row(0) == (
        number,
        "spare tyre",
        "40.000",
    )
    alerts = json.loads(tamis("offences", "alerts", "--today", "2026-01-10", "--json").stdout)
    assert [(a["kind"], a["number"]) for a in alerts] == [("instalment_overdue", number)]

    record["parties"] = [{"role": "carrier"}]
    path.write_text(yaml.safe_dump(record), encoding="utf-8")
    refused = tamis("offences", "record", str(path))
    assert refused.exit_code == 2 and "parties.0.name: Field required" in refused.stderr


def test_the_schedule_is_shown_and_a_broken_one_named(terminal, tmp_path):
    shown = json.loads(tamis("offences", "schedule", "--json").stdout)
    assert [c["code"] for c in shown["classes"]] == ["D1", "D2", "C1", "C2", "C3"]
    broken = tmp_path / "schedule.yaml"
    broken.write_text("currency: MAD\nversions: []\n", encoding="utf-8")
    refused = tamis("offences", "schedule", "--check", str(broken))
    assert refused.exit_code == 2 and "schedule.yaml" in refused.stderr
