"""``tamis transit``: take NCTS messages from a file, register guarantees, run the
scheduler's round, list movements and alerts, show one movement's timeline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tamis.output import JsonOption, fail, print_json, print_mapping
from tamis.progress import progress_bar

app = typer.Typer(
    help="Transit: movements under customs control, their messages, guarantees and alerts.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True)


def read_messages(path: Path) -> list[str]:
    """The messages of a file, each as its JSON text: JSON Lines, or one JSON array. A line
    that is not JSON is still a message (refused and kept with its reason)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if text.lstrip().startswith("["):
        try:
            return [json.dumps(m, ensure_ascii=False) for m in json.loads(text)]
        except ValueError:
            pass  # not one array: taken line by line
    return [line for line in text.splitlines() if line.strip()]


@app.command("send")
def send_command(
    path: Annotated[Path, typer.Argument(help="JSON Lines (or a JSON array) of messages.")],
    actor: Annotated[str, typer.Option(help="Who sends them (the audit trail names them).")] = (
        "cli"
    ),
    as_json: JsonOption = False,
) -> None:
    """Take each message of a file: accepted, the same again, or refused with its reason
    (every one is kept)."""
    from tamis.store import open_store
    from tamis.transit.movements import receive

    if not path.is_file():
        fail(f"{path}: no such file")
    messages = read_messages(path)
    engine = open_store()
    counts = {"received": len(messages), "accepted": 0, "duplicate": 0, "refused": 0}
    refused = []
    with progress_bar(f"transit messages from {path.name}") as update:
        for done, text in enumerate(messages, start=1):
            receipt = receive(engine, text, actor=actor)
            kind = "duplicate" if receipt.duplicate else receipt.outcome
            counts[kind] += 1
            if receipt.outcome == "refused" and not receipt.duplicate:
                refused.append({"line": done, "mrn": receipt.mrn, "reason": receipt.reason})
            update(done, len(messages))
    if as_json:
        print_json(counts | {"refusals": refused})
        return
    print_mapping(f"Transit messages from {path}", counts, console)
    for r in refused[:20]:
        errors.print(f"message {r['line']}: {r['reason']}", highlight=False, markup=False)


@app.command("guarantee")
def guarantee_command(
    guarantee: Annotated[str, typer.Argument(help="The guarantee reference.")],
    holder: Annotated[str, typer.Option(help="Its holder (the trader's id).")],
    amount: Annotated[int, typer.Option(min=0, help="Reference amount, in minor units.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "MAD",
) -> None:
    """Register a guarantee, or set its reference amount."""
    from tamis.store import open_store
    from tamis.transit.movements import register_guarantee

    register_guarantee(open_store(), guarantee, holder, amount, currency.upper(), actor="cli")
    console.print(f"guarantee {guarantee}: {amount:,} {currency.upper()} (minor units)")


@app.command("check")
def check_command(
    now: Annotated[
        datetime | None, typer.Option(help="As of this time (UTC; default: now).")
    ] = None,
    enquiry_after_days: Annotated[
        float, typer.Option(min=0, help="Days after the time limit before an enquiry.")
    ] = 7,
    as_json: JsonOption = False,
) -> None:
    """The scheduler's round: alert overdue movements, then open enquiries."""
    from tamis.store import open_store
    from tamis.transit.overdue import check_overdue

    raised = check_overdue(open_store(), now, enquiry_after_days)
    if as_json:
        print_json(raised)
        return
    console.print(f"{len(raised)} alert(s) raised")
    for alert in raised:
        console.print(
            f"{alert['kind']}: {alert['mrn']} (holder {alert['holder']}, "
            f"{alert['days_overdue']} days after its limit)"
        )


@app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option(help="Only movements in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Movements, the latest declared first."""
    from tamis.store import open_store
    from tamis.transit.read import movements

    found = movements(open_store(), state=state, limit=limit)
    if as_json:
        print_json(found)
        return
    table = Table("MRN", "holder", "from", "to", "state", "limit")
    for m in found:
        table.add_row(
            m["mrn"],
            m["holder"],
            m["departure_office"],
            f"{m['destination_office']} ({m['destination_country']})",
            m["state"],
            str(m["limit_at"] or "-"),
        )
    console.print(table)


@app.command("show")
def show_command(
    mrn: Annotated[str, typer.Argument(help="The movement reference number.")],
    as_json: JsonOption = False,
) -> None:
    """One movement: its state, then its messages and alerts in order."""
    from tamis.store import open_store
    from tamis.transit.read import movement

    found = movement(open_store(), mrn)
    if found is None:
        fail(f"mrn {mrn}: no such movement")
    if as_json:
        print_json(found)
        return
    summary = {
        k: found[k]
        for k in (
            "mrn",
            "state",
            "holder",
            "departure_office",
            "destination_office",
            "guarantee",
            "limit_at",
        )
    }
    print_mapping(f"Movement {mrn}", summary, console)
    for m in found["messages"]:
        said = f" — {m['reason']}" if m["reason"] else ""
        console.print(
            f"{m['at']} {m['direction']:>3} {m['type']} {m['outcome']}{said}",
            highlight=False,
            markup=False,
        )
    for a in found["alerts"]:
        console.print(f"{a['at']} alert {a['kind']} {a['detail']}", highlight=False, markup=False)


@app.command("alerts")
def alerts_command(
    kind: Annotated[str | None, typer.Option(help="Only alerts of this kind.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Alerts raised on movements, the latest first."""
    from tamis.store import open_store
    from tamis.transit.read import alerts

    found = alerts(open_store(), kind=kind)
    if as_json:
        print_json(found)
        return
    table = Table("raised", "kind", "MRN", "holder", "state")
    for a in found:
        table.add_row(str(a["raised_at"]), a["kind"], a["mrn"], a["holder"], a["state"])
    console.print(table)


@app.command("positions")
def positions_command(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines of seal positions.")],
    profile: Annotated[
        str | None, typer.Option(help="Mapping profile (default: Tamis' own columns).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Load electronic-seal positions and events: refused ones go to the quarantine with
    their reason; off-route, long stops, seals opened and reports after write-off alert."""
    from tamis.ingest import ProfileError, SourceError
    from tamis.store import open_store
    from tamis.transit.corridors import CorridorError
    from tamis.transit.seals import ingest_positions

    engine = open_store()
    try:
        with progress_bar(f"seal positions from {path.name}") as update:
            summary = ingest_positions(path, engine, profile, progress=update)
    except (ProfileError, SourceError, CorridorError) as error:
        fail(str(error))
    result = summary.as_dict()
    if as_json:
        print_json(result)
        return
    print_mapping(
        f"Seal positions from {path}", {k: v for k, v in result.items() if k != "source"}, console
    )
    if summary.rejected:
        console.print("See them with: tamis quarantine --source " + summary.source_id[:12])


@app.command("exchange")
def exchange_command(
    url: Annotated[str, typer.Argument(help="The partner administration's Tamis, e.g. https://…")],
    partner: Annotated[str, typer.Option(help="The partner's code here (its country: MA, ES…).")],
    username: Annotated[str, typer.Option(help="Our partner account on their Tamis.")],
    as_json: JsonOption = False,
) -> None:
    """Collect the movements the partner sends here and send back our arrivals and control
    results. The password is read from TAMIS_PARTNER_PASSWORD."""
    import os

    import httpx

    from tamis.store import open_store
    from tamis.transit.partners import exchange

    password = os.environ.get("TAMIS_PARTNER_PASSWORD")
    if not password:
        fail("TAMIS_PARTNER_PASSWORD: not set (the password of our account on their Tamis)")
    try:
        login = httpx.post(
            f"{url.rstrip('/')}/api/auth/login",
            timeout=30,
            json={"username": username, "password": password},
        )
        if login.status_code != 200:
            fail(f"{url}: login as {username} refused ({login.status_code})")
        done = exchange(open_store(), partner.upper(), url.rstrip("/"), login.json()["token"])
    except httpx.HTTPError as error:
        fail(f"{url}: {error}")
    if as_json:
        print_json(done.as_dict())
        return
    print_mapping(f"Exchange with {partner.upper()}", done.as_dict(), console)


@app.command("synth")
def synth_command(
    movements: Annotated[int, typer.Option(min=1, help="Movements to make.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    out: Annotated[Path, typer.Option(help="Where the seals' positions file goes.")] = Path(
        "seals.csv"
    ),
    as_json: JsonOption = False,
) -> None:
    """Synthetic transit for the store's importers, over the months its declarations span:
    messages sent through the same path as the API, seals' positions written to a file and
    loaded, planted frauds (goods that never arrive, late, short, detours, stops, seals
    opened) alerted; what was planted is written beside the positions."""
    import polars as pl
    from sqlalchemy import func, select

    from tamis.store import open_store
    from tamis.store.tables import declarations
    from tamis.transit import synthetic
    from tamis.transit.seals import ingest_positions

    engine = open_store()
    with engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(declarations.c.lodged_at), func.max(declarations.c.lodged_at))
        ).one()
        holders = (
            conn.execute(
                select(declarations.c.importer_id).distinct().order_by(declarations.c.importer_id)
            )
            .scalars()
            .all()
        )
    if not holders:
        fail("the store holds no declarations: their importers are the movements' holders")
    days = max((last - first).days, 1)
    risky = set(holders[:: max(len(holders) // 10, 1)])  # one in ten commits the frauds
    moved, planted = synthetic.messages(holders, movements, first, days, seed, 0.1, risky)
    now = last + timedelta(days=20)
    with progress_bar("transit messages") as update:
        update(0, None)
        mrns = synthetic.load(engine, moved, now)
    synthetic.positions(moved, mrns, planted, seed).write_csv(out)
    truth = pl.DataFrame(
        [{"mrn": mrns[p.lrn], "holder": p.holder, "fraud": p.fraud} for p in planted]
    )
    truth.write_csv(out.with_name(out.stem + ".planted.csv"))
    with progress_bar(f"seal positions from {out.name}") as update:
        summary = ingest_positions(out, engine, now=now, progress=update)
    from tamis.transit.read import alerts

    raised = alerts(engine, limit=10**6)
    kinds = pl.DataFrame(raised or {"kind": []}, schema_overrides={"kind": pl.String})
    result = {
        "movements": movements,
        "positions": summary.received,
        "planted": dict(truth.drop_nulls("fraud")["fraud"].value_counts().iter_rows()),
        "alerts": dict(kinds["kind"].value_counts().iter_rows()) if raised else {},
        "diverted": next((mrns[p.lrn] for p in planted if p.fraud == "never_arrives"), None),
    }
    if as_json:
        print_json(result)
        return
    print_mapping("Synthetic transit", result, console)
    if result["diverted"]:
        console.print(f"A diverted movement: tamis transit show {result['diverted']}")
