"""``tamis intel``: load the other sources, resolve entities, list cross-check findings;
``tamis network``: the graph of parties around an entity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tamis.ingest import ProfileError, SourceError
from tamis.intel.sources import SOURCES
from tamis.output import print_json, print_mapping
from tamis.progress import progress_bar
from tamis.store import open_store

app = typer.Typer(
    help="Cross-source intelligence: manifests, payments, trademarks, tax returns, entities.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]


def fail(message: str) -> None:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


@app.command("ingest")
def ingest_command(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines file.")],
    source: Annotated[str, typer.Option(help=f"One of: {', '.join(SOURCES)}.")],
    profile: Annotated[
        str | None, typer.Option(help="Mapping profile (default: the source's own format).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Load a source file; invalid records go to the quarantine with their reason."""
    from tamis.intel.ingest import ingest_source

    if source not in SOURCES:
        fail(f"--source {source!r}: expected one of {', '.join(SOURCES)}")
    engine = open_store()
    try:
        with progress_bar(f"ingest {path.name}") as update:
            summary = ingest_source(path, source, engine, profile, progress=update)
    except (ProfileError, SourceError) as error:
        fail(str(error))
    result = {"source_kind": source, **summary.as_dict()}
    if as_json:
        print_json(result)
        return
    print_mapping(f"Ingested {path}", {k: v for k, v in result.items() if k != "source"}, console)
    if summary.rejected:
        console.print("See them with: tamis quarantine --source " + summary.source_id[:12])
