"""``tamis cases|watchlist|post-clearance ...``: the targeting centre from the terminal."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tamis.output import print_json
from tamis.users_cli import actor

cases_app = typer.Typer(
    help="Cases: queues, assignment, notes, inspection results.", no_args_is_help=True
)
watchlist_app = typer.Typer(
    help="Watchlists: goods, origins, importers to watch.", no_args_is_help=True
)
audit_app = typer.Typer(help="Post-clearance audit of released declarations.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _guarded(change, *args):
    from pydantic import ValidationError

    try:
        return change(*args)
    except (LookupError, ValueError) as error:
        message = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
        errors.print(f"[red]error:[/red] {message}", highlight=False)
        raise typer.Exit(2) from None


def _money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


@cases_app.command("list")
def list_cases(
    office: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="open, in_inspection or closed")] = None,
    assignee: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 20,
    as_json: JsonOption = False,
) -> None:
    """The queue, highest priority first."""
    from tamis.cases import cases
    from tamis.reasons import render
    from tamis.store import open_store

    rows = cases.queue(open_store(), office, status, assignee, limit)
    if as_json:
        print_json([cases.in_words(row) for row in rows])
        return
    table = Table(
        "case",
        "declaration",
        "office",
        "origin",
        "score",
        "at stake",
        "status",
        "assignee",
        "reason",
    )
    for row in rows:
        table.add_row(
            str(row["case_id"]),
            row["declaration_id"] or "",
            row["office"] or "",
            row["origin"],
            "" if row["score"] is None else f"{row['score']:.3f}",
            _money(row["revenue_at_stake"]),
            row["status"],
            row["assignee"] or "",
            render(row["reason"])[:60],
        )
    console.print(table)


@cases_app.command("show")
def show_case(case_id: int) -> None:
    from tamis.cases import cases
    from tamis.store import open_store

    print_json(cases.in_words(_guarded(cases.get_case, open_store(), case_id)))


@cases_app.command("open")
def open_case(
    reason: Annotated[str, typer.Option()],
    declaration: Annotated[str | None, typer.Option()] = None,
    office: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Open a case on an analyst's own suspicion."""
    from tamis.cases import cases
    from tamis.store import open_store

    case_id = cases.open_case(open_store(), reason, actor(), declaration, office)
    console.print(f"case {case_id} opened")


@cases_app.command("assign")
def assign(case_id: int, assignee: str) -> None:
    from tamis.cases import cases
    from tamis.store import open_store

    _guarded(cases.assign, open_store(), case_id, assignee, actor())
    console.print(f"case {case_id} assigned to {assignee}")


@cases_app.command("note")
def note(case_id: int, text: str) -> None:
    from tamis.cases import cases
    from tamis.store import open_store

    _guarded(cases.add_note, open_store(), case_id, text, actor())
    console.print(f"note added to case {case_id}")


@cases_app.command("result")
def result(
    case_id: int,
    outcome: Annotated[str, typer.Option("--result", help="compliant or non_compliant")],
    fraud_type: Annotated[str | None, typer.Option()] = None,
    revenue_recovered: Annotated[str, typer.Option()] = "0",
    fraud_notice: Annotated[str | None, typer.Option()] = None,
    item: Annotated[
        int | None, typer.Option(help="The item, if not the whole declaration.")
    ] = None,
) -> None:
    """Record what the inspection found; the case closes."""
    from tamis import scoreboard  # noqa: F401  (it listens to the results stored)
    from tamis.cases.results import InspectionIn, record_result
    from tamis.store import open_store

    found = _guarded(
        lambda: InspectionIn(
            result=outcome,
            fraud_type=fraud_type,
            revenue_recovered=revenue_recovered,
            fraud_notice=fraud_notice,
            item_number=item,
        )
    )
    _guarded(record_result, open_store(), case_id, found, actor())
    console.print(f"result recorded on case {case_id}; the case is closed")


@watchlist_app.command("add")
def add_watchlist(
    path: Annotated[Path, typer.Argument(help="A YAML file: one watchlist.")],
) -> None:
    """Create a watchlist from YAML (name, reason, hs_prefixes, origins, importers, keywords,
    valid_from, valid_to, route_channel)."""
    import yaml

    from tamis.cases import watchlists
    from tamis.store import open_store

    body = _guarded(
        lambda: watchlists.WatchlistIn(**yaml.safe_load(path.read_text(encoding="utf-8")))
    )
    watchlist_id = _guarded(watchlists.create, open_store(), body, actor())
    console.print(f"watchlist {watchlist_id} {body.name!r} created")


@watchlist_app.command("list")
def list_watchlists(as_json: JsonOption = False) -> None:
    from tamis.cases import watchlists
    from tamis.store import open_store

    lists = watchlists.all_watchlists(open_store())
    if as_json:
        print_json([w.model_dump(mode="json") for w in lists])
        return
    table = Table("id", "name", "reason", "route", "active", "valid")
    for w in lists:
        valid = f"{w.valid_from or '…'} → {w.valid_to or '…'}"
        table.add_row(
            str(w.watchlist_id),
            w.name,
            w.reason,
            w.route_channel or "",
            "yes" if w.active else "no",
            valid,
        )
    console.print(table)


@watchlist_app.command("run")
def run_watchlist(watchlist_id: int) -> None:
    """Look for the list's hits among the declarations already stored."""
    from tamis.cases import watchlists
    from tamis.store import open_store

    new = _guarded(watchlists.run, open_store(), watchlist_id, actor())
    console.print(f"{new:,} new hits")


@watchlist_app.command("report")
def report_watchlist(watchlist_id: int, as_json: JsonOption = False) -> None:
    """Hits per month and what their inspections found."""
    from tamis.cases import watchlists
    from tamis.store import open_store

    report = _guarded(watchlists.report, open_store(), watchlist_id)
    if as_json:
        print_json(report)
        return
    name, hits, inspected = report["watchlist"]["name"], report["hits"], report["inspected"]
    console.print(
        f"{name}: {hits:,} hits, {inspected:,} inspected, "
        f"{report['non_compliant']:,} non-compliant, {report['revenue_recovered']:,.2f} recovered"
    )
    table = Table("month", "hits", "inspected", "non-compliant", "recovered")
    for row in report["by_month"]:
        table.add_row(
            row["month"],
            str(row["hits"]),
            str(row["inspected"]),
            str(row["non_compliant"]),
            _money(row["revenue_recovered"]),
        )
    console.print(table)


@audit_app.command("select")
def select_for_audit(
    budget: Annotated[int, typer.Option(help="How many audits can be done.")],
    since: Annotated[datetime | None, typer.Option()] = None,
    until: Annotated[datetime | None, typer.Option()] = None,
    as_json: JsonOption = False,
) -> None:
    """Pick released declarations for deferred control by expected revenue, within budget."""
    from tamis.cases import post_clearance
    from tamis.store import open_store

    selection = _guarded(
        post_clearance.select_for_audit, open_store(), budget, actor(), since, until
    )
    if as_json:
        print_json(selection)
        return
    console.print(
        f"selection {selection['selection_id']}: {len(selection['declarations'])} of "
        f"{selection['candidates']:,} released declarations"
    )
    table = Table("rank", "declaration", "why")
    for pick in selection["declarations"]:
        table.add_row(str(pick["rank"]), pick["declaration_id"], pick["explanation"])
    console.print(table)


assistance_app = typer.Typer(
    help="Mutual assistance with partner administrations.", no_args_is_help=True
)


def _cli_user():
    """The operator at the terminal acts with an administrator's reach."""
    from tamis.users import Role, User

    return User(0, actor(), Role.ADMIN)


@assistance_app.command("list")
def list_assistance(
    case: Annotated[int | None, typer.Option(help="Only those linked to this case.")] = None,
    as_json: JsonOption = False,
) -> None:
    from tamis.cases import assistance
    from tamis.store import open_store

    rows = assistance.requests(open_store(), _cli_user(), case)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "direction", "partner", "case", "status", "subject")
    for row in rows:
        table.add_row(
            str(row["request_id"]),
            row["direction"],
            row["partner"],
            str(row["case_id"] or ""),
            row["status"],
            row["subject"][:60],
        )
    console.print(table)


def _create(direction: str, partner: str, subject: str, body: str, case: int | None) -> None:
    from tamis.cases import assistance
    from tamis.store import open_store

    request = _guarded(
        lambda: assistance.AssistanceIn(
            direction=direction, partner=partner, subject=subject, body=body, case_id=case
        )
    )
    request_id = _guarded(assistance.create, open_store(), request, _cli_user())
    console.print(f"assistance request {request_id} recorded ({direction}, {partner})")


@assistance_app.command("send")
def send(
    partner: str,
    subject: Annotated[str, typer.Option()],
    body: Annotated[str, typer.Option()],
    case: Annotated[int | None, typer.Option()] = None,
) -> None:
    """A request we send to a partner administration."""
    _create("outgoing", partner, subject, body, case)


@assistance_app.command("receive")
def receive(
    partner: str,
    subject: Annotated[str, typer.Option()],
    body: Annotated[str, typer.Option()],
    case: Annotated[int | None, typer.Option()] = None,
) -> None:
    """A request a partner administration sent us."""
    _create("incoming", partner, subject, body, case)


@assistance_app.command("answer")
def answer(request_id: int, text: str) -> None:
    """Our answer to an incoming request."""
    from tamis.cases import assistance
    from tamis.store import open_store

    _guarded(assistance.answer, open_store(), request_id, text, _cli_user())
    console.print(f"request {request_id} answered")


@assistance_app.command("close")
def close(request_id: int) -> None:
    from tamis.cases import assistance
    from tamis.store import open_store

    _guarded(assistance.close, open_store(), request_id, _cli_user())
    console.print(f"request {request_id} closed")
