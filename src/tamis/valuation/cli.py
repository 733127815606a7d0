"""``tamis valuation``: build the reference-price database, load analyst references, show one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tamis.output import print_json
from tamis.progress import progress_bar

app = typer.Typer(help="Value control: the reference-price database.", no_args_is_help=True)
console = Console(soft_wrap=True)
errors = Console(stderr=True)


@app.command("build")
def build_command(
    window_months: Annotated[int, typer.Option(min=1, help="Months of history.")] = 12,
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Window ends before this date's month."),
    ] = None,
    min_n: Annotated[int, typer.Option(min=1, help="Items a cell needs for a reference.")] = 20,
    full: Annotated[bool, typer.Option(help="Recount every month of the window.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Build or update the references from accepted history (incremental by month)."""
    from tamis.store import open_store
    from tamis.valuation import database

    engine = open_store()
    with progress_bar("count months") as update:
        summary = database.build(
            engine, window_months, until.date() if until else None, min_n, full, update
        )
    if as_json:
        print_json(summary.as_dict())
        return
    console.print(
        f"window {summary.window}: {len(summary.months_counted)} month(s) counted "
        f"({summary.items_counted:,} items), {summary.references:,} references "
        f"in {summary.seconds:.1f} s"
    )
    for level, count in summary.by_level.items():
        console.print(f"  {level:<12} {count:>8,}")


@app.command("load-analyst")
def load_analyst_command(
    path: Annotated[Path, typer.Argument(help="CSV: hs_code, origin, basis, median_uv, ...")],
    source: Annotated[str, typer.Option(help="Where the prices come from (recorded).")],
) -> None:
    """Load analyst-set references; they take precedence over history."""
    from tamis.store import open_store
    from tamis.valuation import database

    try:
        count = database.load_analyst(open_store(), str(path), source)
    except (ValueError, OSError) as error:
        errors.print(f"[red]error:[/red] {path}: {error}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"{count:,} analyst references from {source!r} in force")


@app.command("show")
def show_command(
    hs: Annotated[str, typer.Option("--hs", help="HS code, 4 to 10 digits.")],
    origin: Annotated[str, typer.Option("--origin", help="Country of origin (ISO alpha-2).")],
    basis: Annotated[str | None, typer.Option(help="KG or a tariff unit (U, L...).")] = None,
    declared: Annotated[float | None, typer.Option(help="A declared unit value to score.")] = None,
    chart: Annotated[Path | None, typer.Option(help="Write a PNG chart to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """The reference for an HS code and origin, with its level, spread and warnings."""
    from tamis.store import open_store
    from tamis.valuation import database
    from tamis.valuation.report import reference_report

    hs, origin = hs.replace(".", "").strip(), origin.strip().upper()
    if not hs.isdigit() or not 4 <= len(hs) <= 10:
        errors.print(f"[red]error:[/red] --hs {hs!r}: expected 4 to 10 digits", highlight=False)
        raise typer.Exit(2)
    engine = open_store()
    report = reference_report(
        database.current_references(engine), hs, origin, basis and basis.upper(), declared
    )
    if report is None:
        errors.print(f"no reference for HS {hs} from {origin}: run `tamis valuation build`")
        raise typer.Exit(1)
    if chart:
        chart.write_bytes(database.chart(engine, report))
        report["chart"] = str(chart)
    if as_json:
        print_json(report)
        return
    console.print(report["summary"], highlight=False)
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if "assessment" in report:
        a = report["assessment"]
        console.print(
            f"declared {declared:g}: {a['ratio_to_median']:.2f}× the median, "
            f"score {a['score']:.2f} ({a['direction'] or 'within tolerance'})"
            + (" — request evidence of the transaction value" if a["flagged"] else ""),
            highlight=False,
        )
    console.print(f"[dim]{report['guardrail']}[/dim]", highlight=False)
    if chart:
        console.print(f"chart: {chart}")
