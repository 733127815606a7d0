"""``tamis offences``: open offences from inspection results or from an officer's record,
settle them or send them to court, record payments, and see the queue, alerts and
schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tamis.output import JsonOption, fail, print_json, print_mapping
from tamis.progress import progress_bar
from tamis.users_cli import actor

app = typer.Typer(
    help="Offences (contentieux): records, penalties, settlements, courts and payments.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
By = Annotated[str | None, typer.Option("--by", help="Who acts [default: the system user].")]


def _done(change, *args):
    """Run a change; a refusal is the user's error, said with its reason."""
    from pydantic import ValidationError

    try:
        return change(*args)
    except ValidationError as error:
        first = error.errors()[0]
        fail(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
    except (LookupError, ValueError) as error:
        fail(str(error))


def _money(minor: int | None) -> str:
    return "" if minor is None else f"{minor / 100:,.2f}"


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        fail(f"amount {text!r}: expected a number such as 1500.00")


def _show(offence: dict, as_json: bool) -> None:
    if as_json:
        print_json(offence)
        return
    keep = ("number", "status", "offence_date", "office", "class_code", "fraud_type",
            "repeat_of", "limitation_date", "found_by")  # fmt: skip
    summary = {k: offence[k] for k in keep} | {
        "penalty": f"{_money(offence['penalty_minor'])} {offence['currency']}",
        "due": _money(offence["due_minor"]),
        "paid": _money(offence["paid_minor"]),
        "parties": "; ".join(f"{p['role']} {p['name']}" for p in offence["parties"]),
        "declarations": ", ".join(offence["declaration_ids"]),
    }
    print_mapping(f"Offence {offence['number']}", summary, console)


@app.command("open")
def open_command(
    declaration_id: Annotated[str, typer.Argument(help="A declaration found non-compliant.")],
    facts: Annotated[str | None, typer.Option(help="What was found.")] = None,
    class_code: Annotated[str | None, typer.Option(help="Class [default: from the finding].")] = (
        None
    ),
    seized: Annotated[bool, typer.Option(help="The goods were seized.")] = False,
    storage_place: Annotated[str | None, typer.Option(help="Where seized goods are kept.")] = None,
    by: By = None,
    as_json: JsonOption = False,
) -> None:
    """Open the offence a non-compliant inspection result found."""
    from tamis.offences.records import open_from_inspection
    from tamis.store import open_store

    more = {"facts": facts, "class_code": class_code, "seized": seized,
            "storage_place": storage_place}  # fmt: skip
    given = {k: v for k, v in more.items() if v not in (None, False)}
    offence = _done(
        lambda: open_from_inspection(open_store(), declaration_id, by or actor(), **given)
    )
    _show(offence, as_json)


@app.command("record")
def record_command(
    path: Annotated[Path, typer.Argument(help="The offence as YAML or JSON (see README).")],
    by: By = None,
    as_json: JsonOption = False,
) -> None:
    """Record an offence an officer found, from a file."""
    import yaml

    from tamis.offences.records import OffenceIn, open_offence
    from tamis.store import open_store

    if not path.is_file():
        fail(f"{path}: no such file")
    try:
        said = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        fail(f"{path}: not YAML or JSON: {error}")
    offence = _done(
        lambda: open_offence(open_store(), OffenceIn.model_validate(said), by or actor())
    )
    _show(offence, as_json)


@app.command("from-inspections")
def from_inspections_command(
    since: Annotated[str | None, typer.Option(help="Results from this day (YYYY-MM-DD).")] = None,
    by: By = None,
    as_json: JsonOption = False,
) -> None:
    """Open the offence of every non-compliant inspection result that has none yet."""
    from tamis.offences.records import open_from_inspections
    from tamis.store import open_store

    day = _done(date.fromisoformat, since) if since else None
    with progress_bar("offences from inspection results") as update:
        said = open_from_inspections(open_store(), by or actor(), day, update)
    if as_json:
        print_json(said)
        return
    console.print(f"{said['results']:,} result(s) without an offence: {len(said['opened']):,} "
                  f"opened, {len(said['refused']):,} refused")  # fmt: skip
    for refused in said["refused"][:20]:
        console.print(f"{refused['declaration_id']}: {refused['reason']}", markup=False)


@app.command("list")
def list_command(
    office: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="open, settled, in_court, paid...")] = None,
    party: Annotated[str | None, typer.Option(help="An offender's customs id or entity.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The offences, latest facts first."""
    from tamis.offences.read import Status, listing
    from tamis.store import open_store

    if status is not None and status not in set(Status):
        fail(f"status {status!r}: expected one of {', '.join(Status)}")
    rows = listing(open_store(), office, status, party, limit)
    if as_json:
        print_json(rows)
        return
    table = Table("number", "date", "class", "status", "penalty", "due", "paid", "repeat of")
    for o in rows:
        table.add_row(o["number"], str(o["offence_date"]), o["class_code"], o["status"],
                      _money(o["penalty_minor"]), _money(o["due_minor"]), _money(o["paid_minor"]),
                      o["repeat_of"] or "")  # fmt: skip
    console.print(table)


@app.command("show")
def show_command(number: str, as_json: JsonOption = False) -> None:
    """One offence (by number or id), with its payments."""
    from tamis.offences.read import get
    from tamis.offences.settlement import schedule_of_payments
    from tamis.store import open_store

    engine = open_store()
    offence = _done(get, engine, number)
    _show(offence | (schedule_of_payments(engine, offence["offence_id"]) if as_json else {}),
          as_json)  # fmt: skip


@app.command("replay")
def replay_command(number: str, as_json: JsonOption = False) -> None:
    """Compute the penalty again with the schedule version it was recorded with."""
    from tamis.offences.records import replay
    from tamis.store import open_store

    said = _done(replay, open_store(), number)
    if as_json:
        print_json(said)
    else:
        print_mapping(f"Replay of {number}", {k: v for k, v in said.items() if k != "basis"})
    if not said["agrees"]:
        raise typer.Exit(1)


@app.command("settle")
def settle_command(
    number: str,
    amount: Annotated[str, typer.Option(help="The settlement's amount.")],
    instalment: Annotated[
        list[str] | None, typer.Option(help="DATE:AMOUNT, once per instalment, in order.")
    ] = None,
    note: Annotated[str | None, typer.Option()] = None,
    by: By = None,
) -> None:
    """Propose a settlement (transaction) within the schedule's bounds."""
    from tamis.offences.settlement import InstalmentIn, SettlementIn, propose
    from tamis.store import open_store

    plan = []
    for said in instalment or []:
        day, _, money = said.partition(":")
        plan.append(_done(lambda d=day, m=money: InstalmentIn(due_on=d, amount=_amount(m))))
    proposal = _done(lambda: SettlementIn(amount=_amount(amount), instalments=plan, note=note))
    offence = _done(propose, open_store(), number, proposal, by or actor())
    console.print(f"{offence['number']}: settlement of {amount} proposed, for approval")


@app.command("approve")
def approve_command(number: str, note: Annotated[str | None, typer.Option()] = None,
                    by: By = None) -> None:  # fmt: skip
    """Approve the proposed settlement (a supervisor, not its proposer)."""
    _decide(number, True, note, by)


@app.command("reject")
def reject_command(number: str, note: Annotated[str | None, typer.Option()] = None,
                   by: By = None) -> None:  # fmt: skip
    """Reject the proposed settlement: the offence is open again."""
    _decide(number, False, note, by)


def _decide(number: str, approve: bool, note: str | None, by: str | None) -> None:
    from tamis.offences.settlement import decide
    from tamis.store import open_store

    offence = _done(decide, open_store(), number, approve, by or actor(), note)
    console.print(f"{offence['number']}: {offence['status']}")


@app.command("accept")
def accept_command(number: str, by: By = None) -> None:
    """The offender accepted the approved settlement."""
    from tamis.offences.settlement import accept
    from tamis.store import open_store

    offence = _done(accept, open_store(), number, by or actor())
    console.print(f"{offence['number']}: settled, {_money(offence['due_minor'])} due")


@app.command("court")
def court_command(
    number: str, court: Annotated[str, typer.Option(help="The court.")], by: By = None
) -> None:
    """Send the offence to the courts."""
    from tamis.offences.settlement import refer_to_court
    from tamis.store import open_store

    offence = _done(refer_to_court, open_store(), number, court, by or actor())
    console.print(f"{offence['number']}: sent to {offence['court']}")


@app.command("judgment")
def judgment_command(
    number: str,
    on: Annotated[str, typer.Option(help="The day of the judgment (YYYY-MM-DD).")],
    amount: Annotated[str, typer.Option(help="What the court fixed (0: acquitted).")],
    text: Annotated[str, typer.Option(help="The judgment, in short.")],
    by: By = None,
) -> None:
    """Record the court's judgment."""
    from tamis.offences.settlement import JudgmentIn, record_judgment
    from tamis.store import open_store

    said = _done(lambda: JudgmentIn(judged_on=on, amount=_amount(amount), text=text))
    offence = _done(record_judgment, open_store(), number, said, by or actor())
    console.print(f"{offence['number']}: {offence['status']}, {_money(offence['due_minor'])} due")


@app.command("pay")
def pay_command(
    number: str,
    amount: Annotated[str, typer.Option()],
    on: Annotated[str, typer.Option(help="The day it was paid (YYYY-MM-DD).")],
    reference: Annotated[str, typer.Option(help="The receipt's number.")],
    by: By = None,
) -> None:
    """Record a payment (the same receipt twice is recorded once)."""
    from tamis.offences.settlement import PaymentIn, pay
    from tamis.store import open_store

    said = _done(lambda: PaymentIn(amount=_amount(amount), paid_on=on, reference=reference))
    offence = _done(pay, open_store(), number, said, by or actor())
    again = " (already recorded)" if offence["duplicate"] else ""
    console.print(f"{offence['number']}: {_money(offence['paid_minor'])} of "
                  f"{_money(offence['due_minor'])} paid, {offence['status']}{again}")  # fmt: skip


@app.command("alerts")
def alerts_command(
    today: Annotated[str | None, typer.Option(help="As of this day [default: today].")] = None,
    as_json: JsonOption = False,
) -> None:
    """Limitation periods about to lapse, and instalments past due."""
    from tamis.audit import now
    from tamis.offences.settlement import alerts
    from tamis.store import open_store

    day = _done(date.fromisoformat, today) if today else now().date()
    said = alerts(open_store(), day)
    if as_json:
        print_json(said)
        return
    table = Table("alert", "offence", "office", "on", "days left")
    for a in said:
        table.add_row(a["kind"], a["number"], a["office"], str(a["on"]), str(a["days_left"]))
    console.print(table)


@app.command("schedule")
def schedule_command(
    on: Annotated[str | None, typer.Option(help="The version in force on this day.")] = None,
    check: Annotated[Path | None, typer.Option(help="Check this schedule file instead.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The offence classes and how their penalties are computed."""
    from tamis.audit import now
    from tamis.offences.schedule import read_schedule, schedule

    said = _done(read_schedule, check) if check else _done(schedule)
    version = _done(said.on, _done(date.fromisoformat, on) if on else now().date())
    if as_json:
        print_json(version.model_dump(mode="json"))
        return
    title = f"Schedule version {version.version} ({said.currency}), from {version.valid_from}"
    table = Table("class", "kind", "fraud types", "duties evaded", "penalty", "bounds",
                  "settlement from", "limitation", title=title, title_justify="left")  # fmt: skip
    for c in version.classes:
        p = c.penalty
        how = f"{p.amount} fixed" if p.amount else f"{p.multiple} x {p.base}"
        duties = " and ".join(
            f"{sign} {bound}"
            for sign, bound in ((">=", c.duties_from), ("<", c.duties_below))
            if bound is not None
        )
        table.add_row(c.code, c.kind, ", ".join(c.fraud_types), duties or "any",
                      how + (" + confiscation" if p.confiscation else ""),
                      f"{p.minimum} - {p.maximum or ''}", f"{c.settlement_min_share:.0%}",
                      f"{c.limitation_years} years")  # fmt: skip
    console.print(table)
    console.print(
        f"repeat within {version.repeat.window_years} years: x{version.repeat.aggravation}"
    )


@app.command("figures")
def figures_command(
    office: Annotated[str | None, typer.Option()] = None,
    first: Annotated[str | None, typer.Option(help="From this month (YYYY-MM).")] = None,
    last: Annotated[str | None, typer.Option(help="To this month (YYYY-MM), included.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Per office and month: fraud notices, penalties proposed, settled, judged, collected."""
    from tamis.offences.reporting import figures
    from tamis.store import open_store

    rows = _done(figures, open_store(), office, first, last)
    if as_json:
        print_json(rows)
        return
    table = Table("office", "month", "offences", "penalties", "settled", "judged", "collected")
    for r in rows:
        table.add_row(r["office"], r["month"], f"{r['offences']:,}",
                      *(_money(r[f"{k}_minor"]) for k in ("penalties", "settled", "judged",
                                                          "collected")))  # fmt: skip
    console.print(table)


@app.command("cen-export")
def cen_export_command(
    out: Annotated[Path, typer.Argument(help="The CSV file to write.")],
    since: Annotated[str | None, typer.Option(help="Seizures from this day (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="To this day, included.")] = None,
) -> None:
    """Seizures in the field layout of the WCO Customs Enforcement Network's seizure form."""
    from tamis.offences.reporting import cen_csv, cen_seizures
    from tamis.store import open_store

    start = _done(date.fromisoformat, since) if since else None
    end = _done(date.fromisoformat, until) if until else None
    frame = cen_seizures(open_store(), start, end)
    cen_csv(frame, out)
    console.print(f"{frame.height:,} seizure(s) written to {out}")


@app.command("watch")
def watch_command(
    number: str,
    days: Annotated[int, typer.Option(min=1, max=3650, help="How long to watch.")] = 365,
    by: By = None,
) -> None:
    """Open a watchlist from an offence: its importers' goods of the same HS heading."""
    from tamis.offences.watch import watch_offence
    from tamis.store import open_store

    watchlist_id = _done(watch_offence, open_store(), number, by or actor(), days)
    console.print(f"watchlist {watchlist_id} opened from offence {number} for {days} days")


@app.command("demo")
def demo_command(as_json: JsonOption = False) -> None:
    """What the demo does with the store's inspection results: open their offences, settle
    some (proposed, approved by a supervisor, accepted, paid by instalments), send one to
    court, and record an officer's offence against an earlier offender spelt another way."""
    from tamis.store import open_store

    with progress_bar("offences from inspection results") as update:
        said = work_demo_offences(open_store(), update)
    if as_json:
        print_json(said)
        return
    print_mapping("Offences", {k: v for k, v in said.items() if k != "repeat"}, console)
    if said["repeat"]:
        r = said["repeat"]
        console.print(
            f"Repeat offender: {r['number']} names {r['party']!r}, recognised as the "
            f"offender of {r['repeat_of']}: tamis offences show {r['number']}"
        )


def work_demo_offences(engine, progress=None) -> dict:
    """The demo's offences, worked through the same steps as officers' (see ``demo``)."""
    from datetime import timedelta

    from tamis.offences import settlement as st
    from tamis.offences.read import amount, get
    from tamis.offences.records import open_from_inspections
    from tamis.offences.schedule import settlement_bounds

    opened = open_from_inspections(engine, "demo-inspector", progress=progress)["opened"]
    done = {"opened": len(opened), "settled": 0, "paid": 0, "in_court": 0, "repeat": None}
    for n, number in enumerate(opened):
        if n % 3 == 2:
            continue  # left open: in the queue, some near their limitation
        offence = get(engine, number)
        if n == 1:
            st.refer_to_court(engine, number, "Tribunal de première instance", "demo-supervisor")
            done["in_court"] += 1
            continue
        low, _ = settlement_bounds(_class_of(engine, offence), amount(offence["penalty_minor"]))
        first = offence["offence_date"] + timedelta(days=30)
        half = (low / 2).quantize(Decimal("0.01"))
        plan = [st.InstalmentIn(due_on=first, amount=half),
                st.InstalmentIn(due_on=first + timedelta(days=30), amount=low - half)]  # fmt: skip
        st.propose(engine, number, st.SettlementIn(amount=low, instalments=plan), "demo-officer")
        st.decide(engine, number, True, "demo-supervisor")
        st.accept(engine, number, "demo-officer")
        done["settled"] += 1
        for k, instalment in enumerate(plan[: 1 + n % 2]):
            payment = st.PaymentIn(amount=instalment.amount, paid_on=instalment.due_on,
                                   reference=f"QT-{number}-{k + 1}")  # fmt: skip
            paid = st.pay(engine, number, payment, "demo-officer")
        done["paid"] += paid["status"] == "paid"
    if opened:
        done["repeat"] = _demo_repeat_offence(engine, opened)
    return done


def _class_of(engine, offence: dict):
    from tamis.offences.read import stored_version

    with engine.connect() as conn:
        return stored_version(conn, offence["schedule_version"]).offence_class(
            offence["class_code"]
        )


def _demo_repeat_offence(engine, opened: list[str]) -> dict | None:
    """An officer's offence naming an earlier offender as another source spells it (entity
    resolution links the spellings): recognised as a repeat, its penalty aggravated."""
    from datetime import timedelta

    import polars as pl

    from tamis.intel.parties import name_key
    from tamis.intel.resolve import read_entities
    from tamis.offences.read import get
    from tamis.offences.records import OffenceIn, PartyIn, open_offence

    entities = read_entities(engine).with_columns(name_key(pl.col("name")).alias("key"))
    one_company = pl.col("entity_id").n_unique().over("key") == 1
    entities = entities.filter(one_company)  # a spelling that names one company only
    for number in opened:
        earlier = get(engine, number)
        importer = next((p for p in earlier["parties"] if p["customs_id"]), None)
        if importer is None:
            continue
        own = entities.filter(pl.col("customs_id") == importer["customs_id"])["entity_id"]
        spelt = name_key(pl.lit(importer["name"])).alias("k")
        mine = pl.select(spelt)["k"][0]
        variants = entities.filter(
            pl.col("entity_id").is_in(own.implode()), pl.col("customs_id").is_null(),
            pl.col("key") != mine,
        )  # fmt: skip
        if variants.is_empty():
            continue
        variant = variants.row(0, named=True)
        said = OffenceIn(
            facts=f"Goods found undeclared in a container consigned to {variant['name']}",
            office=earlier["office"], offence_date=earlier["offence_date"] + timedelta(days=40),
            fraud_type="other", duties_evaded="2500", goods_value="12000", seized=True,
            seized_quantity="120", unit="carton", storage_place="Magasin sous douane",
            concealment="false declaration of contents", detection_method="scanner",
            parties=[PartyIn(role="importer", name=variant["name"], address=variant["address"])],
        )  # fmt: skip
        later = open_offence(engine, said, "demo-officer")
        return {"number": later["number"], "party": variant["name"],
                "repeat_of": later["repeat_of"]}  # fmt: skip
    return None
