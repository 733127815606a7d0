"""`make demo` runs `tamis demo`: the whole flow on the embedded store, end to end."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from typer.testing import CliRunner

from tamis import users
from tamis.cases import cases
from tamis.cli import app
from tamis.offences.tables import offences
from tamis.store import open_store


def test_the_demo_runs_the_whole_flow_and_prints_a_working_login(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("TAMIS_DATABASE_URL", url)
    monkeypatch.setenv("TAMIS_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    result = CliRunner().invoke(
        app, ["demo", "--workdir", str(tmp_path / "demo"), "--declarations", "1500"]
    )
    assert result.exit_code == 0, result.output
    login = re.search(r"demo login: admin / (\S+)", result.output)
    assert login, result.output
    engine = open_store(url)
    assert users.authenticate(engine, "admin", login.group(1)).role == "admin"
    statuses = {c["status"]: c["cases"] for c in cases.counts(engine)}
    assert statuses["closed"] > 0  # the last week's cases stay open, when there are any
    assert "model version 1 registered" in result.output
    sent = re.search(
        r"sent to inspection \(orange, red\): ([\d.]+)%; capacity (\d+)%", result.output
    )
    assert sent and float(sent.group(1)) <= float(sent.group(2)) + 2  # + random picks
    learnt = re.search(r"routing combination version (\d+) registered", result.output)
    assert learnt or "routing keeps its fixed weights" in result.output
    assert re.search(r"│ payments +│", result.output)  # the per-detector report
    assert "A diverted movement: tamis transit show" in result.output  # transit, alerted
    assert re.search(r"│ in_court +│ 1 +│", result.output)  # offences: one sent to court
    assert re.search(r"Repeat offender: \S+ names '.+', recognised as the offender of \S+",
                     result.output)  # fmt: skip
    with engine.connect() as conn:
        by_status = dict(conn.execute(select(offences.c.status, func.count()).group_by(
            offences.c.status)).all())  # fmt: skip
    assert "A falsified invoice caught: document" in result.output  # documents, log, witness
    assert re.search(r"│ witnessed by +│ es\.customs\.example/witness +│", result.output)
    assert re.search(r"│ offline proof of entry 0 +│ verified +│", result.output)
    assert "social media: seller @" in result.output  # a declaration routed with its lead
    assert by_status["paid"] > 0 and by_status["settled"] > 0 and by_status["in_court"] == 1
    again = CliRunner().invoke(
        app, ["demo", "--workdir", str(tmp_path / "demo"), "--declarations", "1500"]
    )
    assert again.exit_code == 0 and "shown once" not in again.output
