"""The ``tamis`` command: one entry point over the same core as the API."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tamis.ingest import ProfileError, SourceError, ingest, quarantined
from tamis.progress import progress_bar
from tamis.store import open_store
from tamis.store.summary import store_summary

app = typer.Typer(help="Tamis: customs risk management and targeting.", no_args_is_help=True)
db_app = typer.Typer(help="The store: schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
errors = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]


def fail(message: str) -> None:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def print_json(value) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def print_mapping(title: str, mapping: dict) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in mapping.items():
        if isinstance(value, dict):
            value = (
                ", ".join(
                    f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in value.items()
                )
                or "-"
            )
        elif isinstance(value, int):
            value = f"{value:,}"
        table.add_row(str(key), str(value))
    console.print(table)


@app.command("ingest")
def ingest_command(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines file.")],
    profile: Annotated[str, typer.Option(help="Mapping profile: a shipped name or a YAML path.")],
    as_json: JsonOption = False,
    batch_rows: Annotated[int | None, typer.Option(help="Rows per transaction.")] = None,
) -> None:
    """Load declarations from a file; invalid records go to the quarantine with their reason."""
    engine = open_store()
    try:
        with progress_bar(f"ingest {path.name}") as update:
            summary = ingest(path, profile, engine, batch_rows=batch_rows, progress=update)
    except (ProfileError, SourceError) as error:
        fail(str(error))
    except KeyboardInterrupt:
        errors.print("interrupted: whole batches are stored; run the same command to complete")
        raise typer.Exit(130) from None
    result = summary.as_dict()
    if as_json:
        print_json(result)
        return
    print_mapping(f"Ingested {path}", {k: v for k, v in result.items() if k != "source"})
    if summary.rejected:
        console.print("See them with: tamis quarantine --source " + summary.source_id[:12])


@app.command("quarantine")
def quarantine_command(
    source: Annotated[str | None, typer.Option(help="Source id (or its first characters).")] = None,
    export: Annotated[
        Path | None, typer.Option(help="Write them to .csv, .parquet or .jsonl.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to list on screen.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List or export the rejected records, with source, row, field, value and reason."""
    frame = quarantined(open_store(), source)
    if export:
        writers = {
            ".csv": frame.write_csv,
            ".parquet": frame.write_parquet,
            ".jsonl": frame.write_ndjson,
        }
        if export.suffix not in writers:
            fail(f"--export {export}: expected a .csv, .parquet or .jsonl file name")
        writers[export.suffix](export)
        errors.print(f"{frame.height:,} quarantined records written to {export}")
        return
    if as_json:
        print_json(frame.head(limit).to_dicts() if limit else frame.to_dicts())
        return
    table = Table(title=f"{frame.height:,} quarantined records", title_justify="left")
    for column in ("source_row", "record_key", "field", "value", "reason"):
        table.add_column(column)
    for row in (
        frame.head(limit).select("source_row", "record_key", "field", "value", "reason").iter_rows()
    ):
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    if frame.height:
        console.print(frame.group_by("reason").len().sort("len", descending=True))


@app.command("status")
def status_command(as_json: JsonOption = False) -> None:
    """What the store holds."""
    summary = store_summary(open_store())
    print_json(summary) if as_json else print_mapping("Tamis store", summary)


@app.command("synth")
def synth_command(
    declarations: Annotated[int, typer.Option(help="Number of declarations.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data.")] = 7,
    out: Annotated[Path, typer.Option(help="Output .parquet, .csv or .jsonl.")] = Path(
        "year.parquet"
    ),
    start: Annotated[str, typer.Option(help="First lodgement day (YYYY-MM-DD).")] = "2025-01-01",
    days: Annotated[int, typer.Option(help="Days covered.")] = 365,
) -> None:
    """Generate a synthetic year of declarations with planted, labelled fraud."""
    from tamis import synth

    data = synth.generate(declarations, seed, start=date.fromisoformat(start), days=days)
    synth.write(data, out)
    items = data.items
    declared = items["declaration_id"].n_unique()
    frauds = items.filter("fraud")["declaration_id"].n_unique()
    console.print(
        f"{declared:,} declarations ({items.height:,} items) written to {out}; "
        f"{frauds:,} with planted fraud"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the store's schema to the latest revision."""
    engine = open_store()
    console.print(f"{engine.url.render_as_string(hide_password=True)} is at the latest revision")


@app.command("demo")
def demo_command(
    workdir: Annotated[Path, typer.Option(help="Where the demo's files go.")] = Path("demo"),
    declarations: Annotated[int, typer.Option(help="Declarations in the synthetic year.")] = 20_000,
) -> None:
    """The main job on the embedded store: synthetic year → ingest → what the store holds."""
    workdir.mkdir(parents=True, exist_ok=True)
    year = workdir / "year.parquet"
    console.rule("1. A synthetic year of import declarations")
    synth_command(declarations=declarations, seed=7, out=year, start="2025-01-01", days=365)
    console.rule("2. Ingest into the store")
    ingest_command(year, "canonical")
    console.rule("3. What the store holds")
    status_command()


if __name__ == "__main__":
    app()
