"""Lodgement under load: clients lodging declarations over HTTP at a sustained rate against
``tamis serve`` on a store like the demo's (every detector on), SQLite and PostgreSQL.

Each store is built by ``tamis demo`` (a synthetic year, value references, a model, cases);
the declarations lodged are the month after what the store holds, from the same generator. The
server runs as users run it (``tamis serve``); ``locust`` (headless) sends the lodgements
from ``--clients`` clients, each at ``rate / clients`` a second, for ``--seconds``. Printed:
lodgements a second, p50/p99 answer times, errors; then every lodgement answered 201 is
looked for in the store.

Targets (two cores): PostgreSQL ≥ 300 lodgements/s with p99 ≤ 100 ms; SQLite ≥ 100/s with
p99 ≤ 250 ms; no error. Each store is offered a tenth more than its target by default (a
rate offered is at best the rate answered), and the last column says whether it met it.

    .venv/bin/python bench/load.py [--stores sqlite,postgresql] [--clients 16]
        [--seconds 60] [--rate-sqlite 110] [--rate-postgresql 330] [--keep FOLDER]

This file is also the locustfile the driver hands to ``locust`` (TAMIS_LOAD_* set).
"""

from __future__ import annotations

import os

if os.environ.get("TAMIS_LOAD_BODIES"):  # imported by locust: the clients
    import time

    from locust import FastHttpUser, constant_throughput, events, task

    _BODIES = open(os.environ["TAMIS_LOAD_BODIES"], encoding="utf-8")  # shared: each line once
    _ANSWERED = open(os.environ["TAMIS_LOAD_ANSWERED"], "a", buffering=1, encoding="utf-8")

    @events.request.add_listener
    def _timed(response_time, exception, response, **_) -> None:
        """Every answer's end (s) and time taken (ms): the driver's own percentiles."""
        ok = exception is None and response is not None and response.status_code == 201
        _ANSWERED.write(f"{time.time():.4f} {response_time:.2f} {int(ok)}\n")

    _HEADERS = {
        "authorization": f"Bearer {os.environ['TAMIS_LOAD_TOKEN']}",
        "content-type": "application/json",
    }

    class Lodger(FastHttpUser):
        wait_time = constant_throughput(float(os.environ["TAMIS_LOAD_RATE_PER_CLIENT"]))

        @task
        def lodge(self) -> None:
            body = _BODIES.readline()
            if not body:  # every prepared declaration sent
                self.stop()
                return
            with self.client.post(
                "/api/declarations", data=body, headers=_HEADERS, name="lodge",
                catch_response=True,
            ) as answer:  # fmt: skip
                if answer.status_code != 201:
                    answer.failure(f"{answer.status_code}: {answer.text[:200]}")


PASSWORD = "bench password long enough"
TARGETS = {"sqlite": (100, 250), "postgresql": (300, 100)}  # lodgements/s, p99 ms


def main() -> None:
    import argparse
    import subprocess
    import sys
    import tempfile
    import time
    from datetime import date, timedelta
    from pathlib import Path

    import numpy as np
    import polars as pl
    from sqlalchemy import create_engine, func, select, text

    from tamis import synth, users
    from tamis.declarations import DECLARATION_FIELDS, ITEM_FIELDS
    from tamis.store import open_store
    from tamis.store.tables import declarations

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.servers import serving  # the same way the tests serve

    postgres = os.environ.get(
        "TAMIS_BENCH_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"
    )
    bin_dir = Path(sys.executable).parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate-sqlite", type=float, default=TARGETS["sqlite"][0] * 1.1)
    parser.add_argument("--rate-postgresql", type=float, default=TARGETS["postgresql"][0] * 1.1)
    parser.add_argument("--workers", type=int, default=1, help="tamis serve --workers")
    parser.add_argument("--keep", type=Path, help="keep the demo stores here and reuse them")
    args = parser.parse_args()
    folder = (args.keep or Path(tempfile.mkdtemp(prefix="tamis-load-"))).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    locustfile = Path(__file__).resolve()
    os.chdir(folder)  # the demo's attachments and keys go there too
    run = time.strftime("%H%M%S")  # a rerun on a kept store lodges new declaration ids

    def store_url(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{folder / 'load.db'}"
        with create_engine(postgres).begin() as conn:
            conn.execute(text("CREATE SCHEMA IF NOT EXISTS tamis_load"))
        return f"{postgres}?options=-csearch_path%3Dtamis_load"

    def lodged(url: str) -> set[str]:
        with create_engine(url).connect() as conn:
            column = declarations.c.declaration_id
            return set(conn.execute(select(column).where(column.like(f"%-{run}"))).scalars())

    def month_to_lodge(count: int, start: date) -> tuple[str, Path]:
        """A month from ``start``: its first declaration, and a file of the others, one JSON
        declaration a line."""
        items = synth.generate(count, seed=11, start=start, days=30).items
        header = [f.name for f in DECLARATION_FIELDS if f.name != "declaration_id"]
        bodies = items.with_columns(
            pl.col("declaration_id") + f"-{run}",
            pl.col("lodged_at").dt.strftime("%Y-%m-%dT%H:%M:%S"),
        ).group_by("declaration_id", maintain_order=True).agg(
            *[pl.first(n) for n in header], pl.struct([f.name for f in ITEM_FIELDS]).alias("items")
        )  # fmt: skip
        path = folder / f"month-{run}.jsonl"
        bodies.slice(1).write_ndjson(path)
        return bodies.slice(0, 1).write_ndjson().strip(), path

    print(
        f"{'store':<11} {'sent':>6} {'lodged/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7} "
        "target"
    )
    for kind in args.stores.split(","):
        url = store_url(kind)
        env = os.environ | {"TAMIS_DATABASE_URL": url}
        engine = open_store(url)
        with engine.connect() as conn:
            built = conn.execute(select(declarations.c.declaration_id).limit(1)).first()
        if not built:
            started = time.perf_counter()
            subprocess.run(
                [bin_dir / "tamis", "demo", "--workdir", folder / f"demo-{kind}", "--no-serve"],
                env=env, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            print(f"{kind}: the demo's store built in {time.perf_counter() - started:.0f} s")
        rate = args.rate_sqlite if kind == "sqlite" else args.rate_postgresql
        with engine.connect() as conn:  # after what the store holds: a rerun, on new days
            latest = conn.execute(select(func.max(declarations.c.lodged_at))).scalar()
        start = max(date(2026, 1, 1), latest.date() + timedelta(days=1))
        first, bodies = month_to_lodge(int(rate * args.seconds * 1.2) + 100, start)
        username = f"load-{run}"
        users.add_user(engine, username, "analyst", PASSWORD, "bench")
        timings = folder / f"timings-{kind}-{run}.txt"
        with serving(env, options=("--workers", str(args.workers))) as base:
            token = _warmed_up(base, username, first)
            subprocess.run(
                [bin_dir / "locust", "-f", locustfile, "--headless", "--only-summary",
                 "-u", str(args.clients), "-r", str(args.clients), "--run-time",
                 f"{args.seconds}s", "--host", base, "--loglevel", "ERROR",
                 "--stop-timeout", "10"],
                env=os.environ | {
                    "TAMIS_LOAD_BODIES": str(bodies), "TAMIS_LOAD_TOKEN": token,
                    "TAMIS_LOAD_RATE_PER_CLIENT": str(rate / args.clients),
                    "TAMIS_LOAD_ANSWERED": str(timings)},
                check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        answers = np.loadtxt(timings, ndmin=2)
        ended, took, ok = answers[:, 0], answers[:, 1], answers[:, 2].astype(bool)
        seconds = ended.max() - (ended.min() - took[ended.argmin()] / 1000)
        stored = len(lodged(url)) - 1  # the warm-up's apart
        per_second, p99 = ok.sum() / seconds, np.percentile(took, 99)
        least, most = TARGETS[kind]
        met = per_second >= least and p99 <= most and ok.all()
        print(
            f"{kind:<11} {len(answers):>6} {per_second:>9.1f} "
            f"{np.percentile(took, 50):>7.0f} {p99:>7.0f} {(~ok).sum():>7} "
            f"{'met' if met else 'not met'} (≥ {least}/s, p99 ≤ {most} ms)"
            + (f"  {ok.sum()} answered 201, {stored} stored!" if stored != ok.sum() else "")
        )
        engine.dispose()


def _warmed_up(base: str, username: str, first: str) -> str:
    """The session token of ``username``, once every server process has loaded its models
    (as on a server that has been up a while) and a first lodgement went through."""
    import time

    import httpx

    ready = 0
    while ready < 50:  # answers from any of the processes: ready fifty times running
        ready = ready + 1 if httpx.get(f"{base}/health").json()["models"] == "ready" else 0
        time.sleep(0.02 if ready else 0.5)

    login = {"username": username, "password": PASSWORD}
    answer = httpx.post(f"{base}/api/auth/login", json=login)
    answer.raise_for_status()
    token = answer.json()["token"]
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    httpx.post(f"{base}/api/declarations", content=first, headers=headers, timeout=600)
    return token


if __name__ == "__main__":
    main()
