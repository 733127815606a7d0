"""Faults a store must live through: a command or the server killed (kill -9) part-way, and
PostgreSQL restarted under a server's load. Afterwards the store holds whole declarations
and whole decisions, the same command run again completes, and a server whose database
came back answers again without being restarted itself.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import polars as pl
from sqlalchemy import func, select

from tamis import synth, users
from tamis.ingest import ingest
from tamis.scoreboard.update import catch_up, rebuild
from tamis.store import open_store
from tamis.store.tables import (
    cases,
    decisions,
    declarations,
    items,
    scoreboard_chapters,
    scoreboard_days,
    scoreboard_declarations,
    scoreboard_detectors,
    scoreboard_importers,
)
from tests.pg_cluster import throwaway_cluster
from tests.servers import TAMIS, free_port

PASSWORD = "a long enough password"
DEADLINE = 60  # seconds: anything awaited longer has hung, and the test says what
REQUEST_TIMEOUT = 20  # seconds: an answer slower than this counts as a hang


def wait_for(condition: Callable[[], object], what: str, seconds: float = DEADLINE):
    """Poll ``condition`` until it is true; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.02)
    return result


def environment(store_url: str, **more: str) -> dict[str, str]:
    return os.environ | {"TAMIS_DATABASE_URL": store_url} | more


def tamis(env: dict[str, str], *args: str) -> str:
    """A ``tamis`` command run to its end: what it printed."""
    done = subprocess.run(
        [TAMIS, *args], env=env, capture_output=True, text=True, timeout=3 * DEADLINE
    )
    assert done.returncode == 0, f"tamis {' '.join(args)} failed: {done.stderr}"
    return done.stdout


@contextmanager
def running(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen]:
    """A ``tamis`` command started, not waited for; killed afterwards if still running."""
    with log.open("wb") as said:
        process = subprocess.Popen(
            [TAMIS, *args], env=env, stdin=subprocess.DEVNULL, stdout=said, stderr=said
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)


def kill_9(process: subprocess.Popen, log: Path) -> None:
    assert process.poll() is None, (
        f"it ended (exit {process.returncode}) before it could be killed: {log.read_text()}"
    )
    process.send_signal(signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


def synthetic_file(tmp_path: Path, declarations_count: int) -> tuple[Path, pl.DataFrame]:
    """A synthetic CSV of declarations (several items each) and its rows."""
    path = tmp_path / "year.csv"
    synth.write(synth.generate(declarations_count, seed=11, days=30), path)
    return path, pl.read_csv(path, columns=["declaration_id", "item_number"], infer_schema=False)


def items_per_declaration(engine) -> dict[str, int]:
    with engine.connect() as conn:
        query = select(declarations.c.declaration_id, func.count(items.c.item_number))
        query = query.select_from(declarations.outerjoin(items)).group_by(
            declarations.c.declaration_id
        )
        return dict(conn.execute(query).all())


def assert_whole_declarations(engine, expected: dict[str, int]) -> dict[str, int]:
    """Every stored declaration is one sent, with every one of its items."""
    stored = items_per_declaration(engine)
    unknown = set(stored) - set(expected)
    assert not unknown, f"declarations stored that were never sent: {sorted(unknown)[:5]}"
    partial = {d: (n, expected[d]) for d, n in stored.items() if n != expected[d]}
    assert not partial, f"half-stored declarations (items stored, sent): {partial}"
    return stored


SCOREBOARD = (
    scoreboard_declarations,
    scoreboard_days,
    scoreboard_detectors,
    scoreboard_importers,
    scoreboard_chapters,
)


def scoreboard(engine) -> dict[str, list[tuple]]:
    """The scoreboard's rows, those whose sums all came back to zero left out."""
    with engine.connect() as conn:
        tables = {}
        for table in SCOREBOARD:
            keys = {c.name for c in table.primary_key.columns}
            rows = conn.execute(select(table)).mappings().all()
            tables[table.name] = sorted(
                tuple(row.values())
                for row in rows
                if table is scoreboard_declarations or any(row[k] for k in row if k not in keys)
            )
        return tables


def assert_scoreboard_consistent(engine) -> None:
    """The scoreboard's sums, kept up as decisions were recorded, are what the decisions
    stored add up to: the same as recomputed from scratch."""
    catch_up(engine)
    kept = scoreboard(engine)
    rebuild(engine)
    again = scoreboard(engine)
    for name in kept:
        assert kept[name] == again[name], f"{name} does not add up to the stored decisions"


def decisions_by_declaration(engine) -> dict[str, list[tuple[int, str]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(decisions.c.declaration_id, decisions.c.decision_id, decisions.c.channel)
        ).all()
    found: dict[str, list[tuple[int, str]]] = {}
    for declaration_id, decision_id, channel in rows:
        found.setdefault(declaration_id, []).append((decision_id, channel))
    return found


RISKY = ("red", "orange")


def assert_cases_for_risky_decisions(engine) -> None:
    """A red or orange decision opens a case in its own transaction: each has its one case."""
    risky = {d for d, made in decisions_by_declaration(engine).items() if max(made)[1] in RISKY}
    with engine.connect() as conn:
        opened = conn.execute(
            select(cases.c.declaration_id, func.count())
            .where(cases.c.origin == "decision")
            .group_by(cases.c.declaration_id)
        ).all()
    assert risky, "no red or orange decision: the case check would prove nothing"
    twice = {d: n for d, n in opened if n > 1}
    assert not twice, f"declarations with more than one case opened: {twice}"
    missing = risky - {d for d, _ in opened}
    assert not missing, f"red or orange decisions without their case: {sorted(missing)[:5]}"


def test_an_ingest_killed_part_way_leaves_whole_declarations_and_a_rerun_completes_it(
    store_url, tmp_path
):
    path, rows = synthetic_file(tmp_path, 3000)
    per_declaration = dict(rows.group_by("declaration_id").len().iter_rows())
    engine = open_store(store_url)
    env, log = environment(store_url), tmp_path / "ingest.log"
    command = ("ingest", str(path), "--profile", "canonical", "--json", "--batch-rows", "100")

    with running(env, log, *command) as ingesting:
        wait_for(lambda: count(engine, items), "the ingest stored nothing")
        kill_9(ingesting, log)

    stored = assert_whole_declarations(engine, per_declaration)
    kept = sum(stored.values())
    assert 0 < kept < rows.height, f"{kept} of {rows.height} rows stored: not part-way"
    status = json.loads(tamis(env, "status", "--json"))
    (interrupted,) = status["ingests_not_completed"]
    assert interrupted.startswith(str(path)), f"`tamis status` says: {interrupted}"

    summary = json.loads(tamis(env, *command))
    assert summary["received"] == summary["accepted"] + summary["rejected"], summary
    assert (summary["received"], summary["rejected"]) == (rows.height, 0), summary
    assert (summary["inserted"], summary["already_stored"]) == (rows.height - kept, kept)
    assert assert_whole_declarations(engine, per_declaration) == per_declaration
    status = json.loads(tamis(env, "status", "--json"))
    assert status["ingests_not_completed"] == [], status["ingests_not_completed"]
    assert status["quarantined"] == {}, status["quarantined"]
    assert (status["declarations"], status["items"]) == (len(per_declaration), rows.height)
    engine.dispose()


def test_an_assessment_killed_part_way_leaves_whole_decisions_and_a_rerun_decides_each_once(
    store_url, tmp_path
):
    path, rows = synthetic_file(tmp_path, 2000)
    engine = open_store(store_url)
    ingest(path, "canonical", engine)
    sent = set(rows["declaration_id"])
    # small batches: many transactions, so that the kill falls between two of them
    env, log = environment(store_url, TAMIS_BATCH_ROWS="100"), tmp_path / "assess.log"
    command = ("assess", str(path), "--out", str(tmp_path / "decided.parquet"), "--json")

    with running(env, log, *command) as assessing:
        # once a case is opened too: what a decision's transaction holds is then all there
        wait_for(
            lambda: count(engine, decisions, decisions.c.channel.in_(RISKY)),
            "the assessment recorded no red or orange decision",
        )
        kill_9(assessing, log)

    with engine.connect() as conn:
        made = select(decisions.c.declaration_id, decisions.c.decision_id)
        first = dict(conn.execute(made).all())
        last_before = conn.execute(select(func.max(decisions.c.decision_id))).scalar()
    assert 0 < len(first) < len(sent), f"{len(first)} of {len(sent)} decided: not part-way"
    assert count(engine, decisions) == len(first), "a declaration decided twice in one run"
    assert_cases_for_risky_decisions(engine)
    assert_scoreboard_consistent(engine)

    summary = json.loads(tamis(env, *command))
    assert summary["received"] == rows.height and summary["rejected"] == 0, summary
    assert summary["assessed"] == len(sent), summary
    assert sum(summary["channels"].values()) == len(sent), summary
    with engine.connect() as conn:
        again = conn.execute(
            select(decisions.c.declaration_id, func.count())
            .where(decisions.c.decision_id > last_before)
            .group_by(decisions.c.declaration_id)
        ).all()
        everyone = conn.execute(
            select(decisions.c.declaration_id, func.count()).group_by(decisions.c.declaration_id)
        ).all()
    assert {d for d, _ in again} == sent, "the rerun did not decide every declaration"
    assert {n for _, n in again} == {1}, "the rerun decided a declaration more than once"
    assert {d for d, _ in everyone} == sent
    assert {d: n for d, n in everyone if n != (2 if d in first else 1)} == {}, (
        "a declaration has more decisions than the runs that decided it"
    )
    assert_cases_for_risky_decisions(engine)
    assert_scoreboard_consistent(engine)
    assert count(engine, scoreboard_declarations) == len(sent)
    engine.dispose()


# Lodgements over HTTP ------------------------------------------------------------------


@contextmanager
def serving_process(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen]]:
    """``tamis serve`` on a free port, ready: its base URL and its process (to kill)."""
    port = free_port()
    server = subprocess.Popen(
        [TAMIS, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert server.poll() is None, f"tamis serve exited with {server.returncode}"
        try:
            return httpx.get(f"{base}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(healthy, "tamis serve did not answer /health")
        yield base, server
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)


def signed_in(engine, base: str) -> dict[str, str]:
    """A targeting analyst (made in the store if new) signed in over HTTP: the headers."""
    if "analyst" not in {u["username"] for u in users.list_users(engine)}:
        users.add_user(engine, "analyst", "analyst", PASSWORD, actor="test")
    answer = httpx.post(
        f"{base}/api/auth/login",
        json={"username": "analyst", "password": PASSWORD},
        timeout=REQUEST_TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


GOODS = [
    {"hs_code": "6403990000", "origin_country": "CN", "customs_value": "12500.00",
     "net_mass_kg": 3000, "description": "shoes"},
    {"hs_code": "8517130000", "origin_country": "VN", "customs_value": "40000",
     "net_mass_kg": 50, "description": "phones"},
    {"hs_code": "9302000000", "origin_country": "TR", "customs_value": "800",
     "description": "pistols"},
]  # fmt: skip


def declaration(n: int) -> dict:
    """Lodgement ``n``: one to three items (pistols, a red channel, in one of three)."""
    return {
        "declaration_id": f"D-FAULT-{n:05d}",
        "lodged_at": f"2025-03-01T{8 + n % 10:02d}:{n % 60:02d}:00",
        "office": ("CASA-PORT", "TANGER-MED")[n % 2],
        "procedure": "4000",
        "importer_id": f"IMP-{n % 7}",
        "items": [{"item_number": i + 1, **GOODS[i]} for i in range(1 + n % 3)],
    }


class Lodgers:
    """Threads lodging new declarations one after another, each answer kept by id: its
    status code and body, or the transport error that came instead."""

    def __init__(self, base: str, headers: dict, threads: int, stop_on_transport_error: bool):
        self.base, self.headers = base, headers
        self.stop_on_transport_error = stop_on_transport_error
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()
        self.sent: dict[str, dict] = {}
        self.answers: list[tuple[float, float, str, int | None, str, str]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._lodge, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Lodgers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT + 10)
            assert not thread.is_alive(), "a lodging thread hung"

    def _lodge(self) -> None:
        with httpx.Client(headers=self.headers, timeout=REQUEST_TIMEOUT) as client:
            while not self.stop.is_set():
                with self.lock:
                    body = declaration(next(self.numbers))
                    self.sent[body["declaration_id"]] = body
                sent_at = time.monotonic()
                try:
                    answer = client.post(f"{self.base}/api/declarations", json=body)
                    said = (answer.status_code, answer.headers.get("content-type", ""), answer.text)
                except httpx.TransportError as error:
                    said = (None, "", f"{type(error).__name__}: {error}")
                with self.lock:
                    self.answers.append((sent_at, time.monotonic(), body["declaration_id"], *said))
                if said[0] is None and self.stop_on_transport_error:
                    return

    def answered(self, status: int | None, since: float = 0.0) -> list[tuple]:
        with self.lock:
            return [a for a in self.answers if a[3] == status and a[0] >= since]


def assert_each_lodged_once(engine, sent: dict[str, dict], lodged: set[str]) -> None:
    """Exactly ``lodged`` stored, each whole and with its one decision."""
    expected = {d: len(sent[d]["items"]) for d in lodged}
    assert assert_whole_declarations(engine, expected) == expected, "lodgements missing"
    decided = decisions_by_declaration(engine)
    assert set(decided) == lodged, "decisions without their declaration, or missing"
    twice = {d: made for d, made in decided.items() if len(made) != 1}
    assert not twice, f"declarations decided more than once: {twice}"


def test_a_server_killed_during_lodgements_keeps_whole_ones_and_they_can_be_sent_again(
    store_url, tmp_path
):
    engine = open_store(store_url)
    env = environment(store_url)
    with serving_process(env) as (base, server):
        headers = signed_in(engine, base)
        with Lodgers(base, headers, threads=3, stop_on_transport_error=True) as lodgers:
            wait_for(lambda: len(lodgers.answered(201)) >= 20, "20 lodgements answered 201")
            server.send_signal(signal.SIGKILL)
            assert server.wait(10) == -signal.SIGKILL
            wait_for(
                lambda: all(not t.is_alive() for t in lodgers.threads),
                "each lodging thread meets the dead server",
                REQUEST_TIMEOUT + 10,
            )
    sent, answers = lodgers.sent, lodgers.answers
    other = [a[2:5] for a in answers if a[3] not in (201, None)]
    assert not other, f"lodgements refused before the kill: {other}"
    created = {a[2]: json.loads(a[5]) for a in answers if a[3] == 201}
    unanswered = {a[2] for a in answers if a[3] is None}
    assert len(unanswered) == 3, f"each thread should have met the kill once: {unanswered}"

    stored = assert_whole_declarations(engine, {d: len(b["items"]) for d, b in sent.items()})
    assert set(created) <= set(stored), "a lodgement answered 201 is not in the store"
    assert set(stored) <= set(created) | unanswered
    decided = decisions_by_declaration(engine)
    assert set(decided) == set(stored), "a declaration without its decision, or the reverse"
    for declaration_id, answer in created.items():
        assert decided[declaration_id] == [(answer["decision_id"], answer["channel"])], (
            f"{declaration_id}: the store's decision is not the one answered"
        )
    assert_cases_for_risky_decisions(engine)

    with serving_process(env) as (base, server):
        for declaration_id in sorted(unanswered):
            again = httpx.post(
                f"{base}/api/declarations",
                json=sent[declaration_id],
                headers=headers,  # the session signed in before the kill still holds
                timeout=REQUEST_TIMEOUT,
            )
            expected = 409 if declaration_id in stored else 201
            assert again.status_code == expected, (
                f"{declaration_id} sent again: {again.status_code} {again.text}"
            )
    assert_each_lodged_once(engine, sent, set(created) | unanswered)
    assert_cases_for_risky_decisions(engine)
    assert_scoreboard_consistent(engine)
    engine.dispose()


def lodge(base: str, headers: dict, body: dict) -> httpx.Response:
    return httpx.post(
        f"{base}/api/declarations", json=body, headers=headers, timeout=REQUEST_TIMEOUT
    )


@contextmanager
def served_on_a_throwaway_cluster():
    """(cluster, its store, the server's base URL, its process, a signed-in user's headers)."""
    with throwaway_cluster() as cluster:
        url = cluster.url("tamis")
        engine = open_store(url)
        with serving_process(environment(url)) as (base, server):
            yield cluster, engine, base, server, signed_in(engine, base)


def test_a_server_answers_again_once_postgresql_restarted_under_load():
    with served_on_a_throwaway_cluster() as (cluster, engine, base, server, headers):
        with Lodgers(base, headers, threads=2, stop_on_transport_error=False) as lodgers:
            wait_for(lambda: len(lodgers.answered(201)) >= 10, "10 lodgements answered 201")
            down = time.monotonic()
            cluster.stop()
            wait_for(
                lambda: len([a for a in lodgers.answers if a[3] != 201]) >= 4,
                "lodgements fail while PostgreSQL is down",
            )
            cluster.start()
            back = time.monotonic()
            wait_for(
                lambda: len(lodgers.answered(201, since=back)) >= 10,
                "the server lodged 10 declarations once PostgreSQL was back",
            )
        answers, sent = lodgers.answers, lodgers.sent
        assert server.poll() is None, "the server exited"
        before = [a[2:] for a in answers if a[1] < down and a[3] != 201]
        assert not before, f"lodgements refused before PostgreSQL stopped: {before}"
        hung = [a[2:] for a in answers if a[3] is None and "Timeout" in a[5]]
        assert not hung, f"requests that hung while PostgreSQL was down: {hung}"
        # a 503 (see the test below), never a 4xx that would tell the client its lodgement
        # or its session is wrong
        unclear = [a[2:] for a in answers if a[3] not in (201, 500, 503, None)]
        assert not unclear, f"lodgements answered wrongly while PostgreSQL was down: {unclear}"
        after = [a[2:] for a in answers if a[0] >= back and a[3] != 201]
        assert not after, f"lodgements refused after PostgreSQL was back: {after}"

        # restarted again while nobody lodges: the first lodgement after it is lodged
        cluster.restart()
        quiet = declaration(next(lodgers.numbers))
        sent[quiet["declaration_id"]] = quiet
        first = lodge(base, headers, quiet)
        assert first.status_code == 201, f"first lodgement after a quiet restart: {first.text}"
        assert httpx.get(f"{base}/health", timeout=REQUEST_TIMEOUT).status_code == 200

        # the failed ones sent again: each lodged now, or found lodged already
        for declaration_id in sorted({a[2] for a in answers if a[3] != 201}):
            again = lodge(base, headers, sent[declaration_id])
            assert again.status_code in (201, 409), (
                f"{declaration_id} sent again: {again.status_code} {again.text}"
            )
        assert server.poll() is None, "the server exited"
        engine.dispose()  # its connections died with the restarts
        assert_each_lodged_once(engine, sent, set(sent))
        engine.dispose()


def test_while_postgresql_is_down_lodgements_are_answered_in_json_on_a_kept_connection():
    with served_on_a_throwaway_cluster() as (cluster, engine, base, _server, headers):
        with httpx.Client(headers=headers, timeout=REQUEST_TIMEOUT) as client:

            def lodged(n: int) -> httpx.Response:
                try:
                    return client.post(f"{base}/api/declarations", json=declaration(n))
                except httpx.TransportError as error:
                    raise AssertionError(f"lodgement {n}: no answer: {error!r}") from None

            assert lodged(1).status_code == 201
            cluster.stop()
            for n in (2, 3):  # the second on the connection the first was answered on
                answer = lodged(n)
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"] == "5"
                assert "json" in answer.headers.get("content-type", ""), (
                    f"lodgement {n} with PostgreSQL down: {answer.status_code} "
                    f"{answer.headers.get('content-type')}: {answer.text}"
                )
                assert answer.json()["detail"], answer.text
            page = client.get(f"{base}/declarations")  # a dashboard page says it in HTML
            assert page.status_code == 503 and "text/html" in page.headers["content-type"]
            assert "réessayez dans quelques secondes" in page.text  # French by default
            cluster.start()
            assert lodged(4).status_code == 201
        engine.dispose()
