"""Selectivity benchmark: batch throughput and lodgement latency, with the 200 rules alone
and with every detector on a store like the demo's.

    python bench/assess.py [--declarations 1000000] [--requests 2000] [--demo 20000]

Batch: the same Assessor as `tamis assess`, over the synthetic declarations in batches of
100,000 (detectors + routing; file reading excluded). Lodgement: `tamis serve` on loopback
with a SQLite store, sequential POST /api/declarations, each stored, assessed and recorded.
Every detector: `tamis demo` builds its store (a year, the four other sources, value
references, inspection results, a model, entities and a network), then 200 rules and a
watchlist are added, and the next year's declarations are assessed against it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import polars as pl

from tamis import rulesets, synth, users
from tamis.assess import Assessor, assessor_from_store
from tamis.cases.watchlists import WatchlistIn
from tamis.cases.watchlists import create as create_watchlist
from tamis.detectors.rules import RulesDetector, parse_rule_set
from tamis.route import load_routing
from tamis.store import open_store


def many_rules(n: int, items: pl.DataFrame) -> dict:
    """n rules of every criterion kind over the values the data really has."""
    rng = np.random.default_rng(5)
    hs = items["hs_code"].unique(maintain_order=True).to_list()
    origins = items["origin_country"].unique(maintain_order=True).to_list()
    offices = items["office"].unique(maintain_order=True).to_list()
    rules = []
    for i in range(n):
        kind = i % 5
        criteria = [{"field": "hs_code", "prefix": [str(rng.choice(hs))[: 2 + 2 * (i % 3)]]}]
        if kind == 0:
            criteria.append({"field": "origin_country", "in": list(rng.choice(origins, 3))})
        elif kind == 1:
            criteria.append({"field": "unit_value_per_kg", "max": float(rng.uniform(1, 50))})
        elif kind == 2:
            criteria.append(
                {
                    "field": "description",
                    "regex": "(?i)" + str(rng.choice(["shoe", "phone", "oil", "toy"])),
                }
            )
        elif kind == 3:
            criteria.append({"field": "importer_age_days", "max": int(rng.integers(10, 200))})
        else:
            criteria.append({"field": "lodged_at", "from": "2025-03-01", "to": "2025-09-30"})
        rule = {
            "id": f"R{i:03d}",
            "description": f"bench rule {i}",
            "criteria": criteria,
            "scope": {"offices": [str(rng.choice(offices))]} if i % 7 == 0 else {},
        }
        rule |= (
            {"channel": "red"}
            if i % 50 == 0
            else {"weight": round(float(rng.uniform(0.05, 0.4)), 2)}
        )
        rules.append(rule)
    return {"rules": rules}


def batch_throughput(items: pl.DataFrame, rules: dict) -> None:
    detector = RulesDetector(parse_rule_set(rules), 1).fit(items.select("importer_id", "lodged_at"))
    timed_batch(items, Assessor([detector], load_routing(), 1), "200 rules")


def timed_batch(items: pl.DataFrame, assessor: Assessor, what: str) -> None:
    declarations = items["declaration_id"].n_unique()
    parts, seconds, channels = batches(items, 100_000), [], []
    for part in parts:
        started = time.perf_counter()
        channels.append(assessor.assess(part).select("channel"))
        seconds.append(time.perf_counter() - started)
    total, later = sum(seconds), sum(seconds[1:])
    rest = declarations - parts[0]["declaration_id"].n_unique()
    print(
        f"batch: {declarations:,} declarations ({items.height:,} items), {what}: "
        f"{total:.1f} s, {declarations / total:,.0f} declarations/s; after the first batch "
        f"(which compiles a large model's trees once per process): {rest / later:,.0f}/s",
        flush=True,
    )
    print("channels:", dict(pl.concat(channels)["channel"].value_counts().iter_rows()))


def batches(items: pl.DataFrame, declarations: int) -> list[pl.DataFrame]:
    """Slices of about ``declarations`` declarations, never splitting one."""
    number = items["declaration_id"].rle_id() // declarations
    return items.with_columns(number.alias("__part")).partition_by("__part", include_key=False)


def lodgement_latency(items: pl.DataFrame, rules: dict, requests: int) -> None:
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'lodge.db'}"
    rulesets.apply(open_store(url), parse_rule_set(rules), "bench")
    timed_lodgement(url, items, requests, "200 rules")


def timed_lodgement(url: str, items: pl.DataFrame, requests: int, what: str) -> None:
    engine = open_store(url)
    password = secrets.token_urlsafe(16)
    users.add_user(engine, "bench", "analyst", password, actor="bench")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tamis = os.path.join(os.path.dirname(sys.executable), "tamis")
    server = subprocess.Popen(
        [tamis, "serve", "--port", str(port)], env=os.environ | {"TAMIS_DATABASE_URL": url}
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base) as client:
            for _ in range(1200):  # up, with its models loaded (as a server up a while)
                try:
                    if client.get("/health").json().get("models") == "ready":
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            login = {"username": "bench", "password": password}
            token = client.post("/api/auth/login", json=login).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            bodies = payloads(items, requests + 50)
            timings = []
            for n, body in enumerate(bodies):
                started = time.perf_counter()
                response = client.post("/api/declarations", json=body)
                elapsed = time.perf_counter() - started
                assert response.status_code == 201, response.text
                if n >= 50:  # the first requests warm the server up
                    timings.append(elapsed * 1000)
        p50, p99 = np.percentile(timings, [50, 99])
        print(
            f"lodgement over HTTP (loopback, SQLite, {what}): {len(timings):,} sequential "
            f"requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms",
            flush=True,
        )
    finally:
        server.terminate()
        server.wait(10)


def payloads(items: pl.DataFrame, n: int) -> list[dict]:
    header = [
        "declaration_id",
        "lodged_at",
        "office",
        "procedure",
        "importer_id",
        "declarant_id",
        "export_country",
        "transport_mode",
    ]
    item_fields = [
        "item_number",
        "hs_code",
        "origin_country",
        "customs_value",
        "net_mass_kg",
        "description",
        "brand",
        "invoice_amount",
        "invoice_currency",
    ]
    first = items.filter(
        pl.col("declaration_id").is_in(
            items["declaration_id"].unique(maintain_order=True).head(n).implode()
        )
    )
    first = first.with_columns(
        pl.col("lodged_at").dt.strftime("%Y-%m-%dT%H:%M:%S"),
        pl.col("customs_value", "invoice_amount").cast(pl.String),
    )
    bodies = []
    for group in first.partition_by("declaration_id", maintain_order=True):
        row = group.row(0, named=True)
        bodies.append(
            {k: row[k] for k in header}
            | {"items": [{k: r[k] for k in item_fields} for r in group.iter_rows(named=True)]}
        )
    return bodies


def demo_store(rules: dict, declarations: int) -> str:
    """A store as `tamis demo` leaves it, with ``rules`` as its rule set and a watchlist."""
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'demo.db'}"
    tamis = os.path.join(os.path.dirname(sys.executable), "tamis")
    demo = [tamis, "demo", "--no-serve", "--workdir", str(folder), "--declarations",
            str(declarations)]  # fmt: skip
    subprocess.run(demo, env=os.environ | {"TAMIS_DATABASE_URL": url}, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    engine = open_store(url)
    rulesets.apply(engine, parse_rule_set(rules), "bench")
    watch = WatchlistIn(name="medical goods", reason="a health crisis", route_channel="orange",
                        hs_prefixes=["3004", "9018"], keywords=["mask", "ventilator"])  # fmt: skip
    create_watchlist(engine, watch, "bench")
    engine.dispose()
    return url


def every_detector(items: pl.DataFrame, rules: dict, requests: int, declarations: int) -> None:
    url = demo_store(rules, declarations)
    assessor = assessor_from_store(open_store(url))
    names = ", ".join(d.name for d in assessor.detectors)
    print(f"every detector on a demo store ({names})", flush=True)
    timed_batch(items, assessor, "every detector")
    timed_lodgement(url, items, requests, "every detector")


def startup() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from startup import startup_seconds

    for command, seconds in startup_seconds().items():
        print(f"startup: {command}: {seconds:.2f} s (median)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--demo", type=int, default=20_000, help="declarations of the demo store")
    args = parser.parse_args()
    items = synth.generate(args.declarations, seed=5).items
    rules = many_rules(200, items)
    batch_throughput(items, rules)
    lodgement_latency(items, rules, args.requests)
    later = items.with_columns(  # the year after the demo's, under other ids
        pl.col("lodged_at") + timedelta(days=365),
        ("N" + pl.col("declaration_id")).alias("declaration_id"),
    )
    every_detector(later, rules, args.requests, args.demo)
    startup()


if __name__ == "__main__":
    main()
