"""Printing results for people and for scripts."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]


def fail(message: str, as_json: bool = False) -> None:
    """A user's error on stderr, naming what was expected; exit status 2. Under ``--json``
    the error is also the JSON document on stdout, so that a script always reads one."""
    if as_json:
        print_json({"error": message})
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def print_json(value) -> None:
    """One JSON document on stdout: what ``--json`` prints everywhere."""
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def print_mapping(title: str, mapping: dict, console: Console | None = None) -> None:
    """A two-column table of names and values (dicts inline, counts with separators)."""
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
    (console or Console()).print(table)
