"""The dashboard's work screens on a year of 1,000,000 declarations, SQLite and PostgreSQL.

The store is built through the real paths: synth → ingest → value references → assess with
every decision recorded (the scoreboard's sums kept up to date in the same transactions) →
inspection results of the orange, red and randomly selected declarations. Then each screen
is served in-process by the app (login cookie, HTML rendered) and timed, server time per
request, median and 95th percentile: the scoreboard (whole year on every office, one office,
one month), the declarations list with filters, the case queue, a declaration's page and
its value chart (an SVG drawn from the reference's data, first and again); a CSV export
(first byte and whole file) and ``tamis serve``'s time to its first answer are timed over
HTTP on a served app. A screen that answers 404 is printed "not available".

Target: ≤ 300 ms per screen; ≤ 5 s for ``tamis serve`` to answer.

    .venv/bin/python bench/web.py [--declarations 1000000] [--stores sqlite,postgresql]
        [--keep FOLDER]   # keep the year and the stores there; a later run reuses them
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx
import polars as pl
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from tamis import synth, users
from tamis.api.app import create_app
from tamis.assess import assess_file, assessor_from_store
from tamis.ingest import ingest
from tamis.inspections import record_outcomes, simulated_results
from tamis.scoreboard.update import refresh
from tamis.store import open_store
from tamis.store.tables import decisions, scoreboard_declarations, scoreboard_importers
from tamis.valuation import database as valuation

POSTGRES = os.environ.get("TAMIS_BENCH_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
PASSWORD = "bench password long enough"
TAMIS = Path(sys.executable).with_name("tamis")
MONTH = "from=2025-06-01&to=2025-06-30"
SCREENS = {  # label: the path timed, and what its answer holds
    "scoreboard, whole year, every office": (
        "/scoreboard?from=2025-01&to=2025-12", 'id="kpi-declarations"'),
    "scoreboard, whole year, CASA-PORT": (
        "/scoreboard?from=2025-01&to=2025-12&office=CASA-PORT", 'id="kpi-declarations"'),
    "scoreboard, one month, every office": (
        "/scoreboard?from=2025-06&to=2025-06", 'id="kpi-declarations"'),
    "declarations, red, CASA-PORT, one month": (
        f"/declarations?channel=red&office=CASA-PORT&{MONTH}", "<table"),
    "declarations, every one, page 50": ("/declarations?page=50", "<table"),
    "declarations, HS chapter 85, by score": ("/declarations?hs=85&sort=score", "<table"),
    "cases, open": ("/cases?status=open", "<table"),
    "cases, closed, one month": (f"/cases?status=closed&{MONTH}", "<table"),
}  # fmt: skip
EXPORT = f"/declarations?channel=red&{MONTH}&export=csv"


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"  {label:<44} {time.perf_counter() - started:8.1f} s", flush=True)
    return result


def build(url: str, year: Path, folder: Path) -> None:
    engine = open_store(url)
    timed("ingest", lambda: ingest(year, "canonical", engine))
    timed("value references", lambda: valuation.build(engine))
    assessor = assessor_from_store(engine)
    out = folder / "assessed.parquet"
    timed("assess, decisions + scoreboard recorded", lambda: assess_file(
        year, "canonical", assessor, out, engine))  # fmt: skip
    decided = pl.read_parquet(out, columns=["declaration_id", "channel", "random_selected"])
    truth = pl.read_parquet(
        year, columns=["declaration_id", "lodged_at", "fraud", "fraud_type", "revenue_at_stake"]
    )
    results = simulated_results(decided, truth, truth)
    timed(f"{results.height:,} inspection results recorded",
          lambda: record_outcomes(engine, results))  # fmt: skip
    sample = decided["declaration_id"].head(50_000)
    with engine.begin() as conn:
        timed("refresh of 50,000 declarations (no change)", lambda: refresh(conn, sample))
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(scoreboard_declarations)).scalar()
        sums = conn.execute(select(func.count()).select_from(scoreboard_importers)).scalar()
    print(f"  {rows:,} declarations on the scoreboard; {sums:,} importer × month × office sums")
    users.add_user(engine, "bench", "analyst", PASSWORD, actor="bench")
    engine.dispose()


def milliseconds(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def said(label: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(f"  GET {label:<44} p50 {statistics.median(times):6.0f} ms"
          f"   p95 {p95:6.0f} ms   max {times[-1]:6.0f} ms", flush=True)  # fmt: skip


def not_available(label: str) -> None:
    print(f"  GET {label:<44} not available", flush=True)


def screen_times(url: str, repeats: int) -> None:
    """Every screen served in-process: server time, after one warm-up request each."""
    app = create_app(url)
    with TestClient(app) as client:
        client.post("/login", data={"username": "bench", "password": PASSWORD},
                    follow_redirects=False)  # fmt: skip
        for label, (path, holds) in SCREENS.items():
            if client.get(path).status_code == 404:  # warm: first query plans, caches
                not_available(label)
                continue

            def get(path=path, holds=holds):
                response = client.get(path)
                assert response.status_code == 200 and holds in response.text, path

            said(label, [milliseconds(get) for _ in range(repeats)])
        declaration_times(app.state.engine, client, repeats)
    app.state.engine.dispose()


def declaration_times(engine, client: TestClient, repeats: int) -> None:
    """Pages of red declarations (first visits), each one's first value chart drawn, then
    asked again."""
    red = select(decisions.c.declaration_id).where(decisions.c.channel == "red")
    with engine.connect() as conn:
        ids = list(conn.execute(red.order_by(decisions.c.decision_id).limit(repeats)).scalars())
    pages, charts = [], []

    def page(declaration_id: str) -> None:
        response = client.get(f"/declarations/{declaration_id}")
        assert response.status_code == 200, declaration_id
        charts.extend(re.findall(r'src="(/declarations/[^"]+/reference\.svg)"', response.text)[:1])

    client.get(f"/declarations/{ids[0]}")  # warm
    pages = [milliseconds(lambda d=d: page(d)) for d in ids]
    said("a red declaration's page", pages)
    if not charts:
        not_available("a value chart (no item with a reference)")
        return
    for label in ("a value chart (SVG), first drawn", "a value chart (SVG), drawn again"):
        said(label, [milliseconds(lambda c=c: client.get(c).raise_for_status()) for c in charts])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(url: str, folder: Path):
    """``tamis serve`` on the store: (base URL, seconds until it first answered)."""
    port, base = free_port(), ""
    env = os.environ | {"TAMIS_DATABASE_URL": url, "TAMIS_ATTACHMENTS_DIR": str(folder / "files")}
    started = time.perf_counter()
    server = subprocess.Popen([TAMIS, "serve", "--port", str(port)], env=env, cwd=folder)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                httpx.get(f"{base}/login", timeout=30).raise_for_status()
                break
            except httpx.TransportError:
                assert server.poll() is None and time.perf_counter() - started < 120
                time.sleep(0.02)
        yield base, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(30)


def served_times(url: str, folder: Path, repeats: int) -> None:
    """What needs real HTTP: start-up, and an export's first byte (it streams)."""
    with served(url, folder) as (base, start):
        print(f"  tamis serve, first answer {start:36.1f} s", flush=True)
        with httpx.Client(base_url=base, timeout=600) as client:
            client.post("/login", data={"username": "bench", "password": PASSWORD})
            if client.get(EXPORT.removesuffix("&export=csv")).status_code == 404:
                not_available("CSV export, red, one month")
                return
            first, whole, lines = [], [], 0
            for _ in range(max(3, repeats // 4)):
                started = time.perf_counter()
                with client.stream("GET", EXPORT) as response:
                    assert response.status_code == 200, response.read()[:300]
                    chunks = response.iter_bytes()
                    lines = next(chunks).count(b"\n")
                    first.append((time.perf_counter() - started) * 1000)
                    lines += sum(chunk.count(b"\n") for chunk in chunks)
                whole.append((time.perf_counter() - started) * 1000)
            said("CSV export, red, one month: first byte", first)
            said(f"CSV export, red, one month: {lines - 1:,} rows", whole)


def postgres_schema(kept: bool) -> tuple[str, callable]:
    schema = "bench_web_kept" if kept else f"bench_web_{os.getpid()}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))

    def drop() -> None:
        if not kept:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{POSTGRES}?options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="a folder to keep the year and stores in")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        year = folder / f"year-{args.declarations}.parquet"
        if not year.exists():
            data = timed(f"synth {args.declarations:,} declarations",
                         lambda: synth.generate(args.declarations, 7))  # fmt: skip
            synth.write(data, year)
            del data
        for store in args.stores.split(","):
            print(f"{store}:")
            if store == "sqlite":
                url = f"sqlite:///{folder / f'bench-{args.declarations}.db'}"
                cleanup = lambda: None  # noqa: E731
            else:
                url, cleanup = postgres_schema(kept=args.keep is not None)
            built = folder / f"{store}-{args.declarations}.built"
            try:
                if not built.exists():
                    build(url, year, folder)
                    built.touch()
                screen_times(url, args.repeats)
                served_times(url, folder, args.repeats)
            finally:
                cleanup()


if __name__ == "__main__":
    main()
