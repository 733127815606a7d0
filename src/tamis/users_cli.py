"""``tamis users ...`` and ``tamis audit-trail``: accounts and who changed what."""

from __future__ import annotations

import csv
import getpass
import json
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tamis.output import print_json
from tamis.roles import Role

app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def actor() -> str:
    """Who runs the command, as the audit trail names them."""
    return f"cli:{getpass.getuser()}"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _run(change, *args) -> None:
    from tamis import users
    from tamis.store import open_store

    try:
        change(open_store(), *args, actor=actor())
    except users.UserError as error:
        errors.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(2) from None


@app.command("add")
def add(
    username: str,
    role: Annotated[str, typer.Option(help=f"One of {', '.join(Role)}.")],
    password_stdin: PasswordStdin = False,
    partner: Annotated[str | None, typer.Option(help="A partner's administration.")] = None,
    office: Annotated[
        str | None, typer.Option(help="The office the user works at (an inspector's cases).")
    ] = None,
) -> None:
    """Create a user."""
    from tamis import users

    password = _password(password_stdin)
    _run(
        lambda engine, *, actor: users.add_user(
            engine, username, role, password, actor, partner, office
        )
    )
    console.print(f"user {username} added with role {role}")


@app.command("disable")
def disable(username: str) -> None:
    """Disable a user: their sessions end and they can no longer log in."""
    from tamis import users

    _run(users.disable_user, username)
    console.print(f"user {username} disabled")


@app.command("enable")
def enable(username: str) -> None:
    from tamis import users

    _run(users.enable_user, username)
    console.print(f"user {username} enabled")


@app.command("reset")
def reset(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password; the user's sessions end."""
    from tamis import users

    password = _password(password_stdin)
    _run(users.reset_password, username, password)
    console.print(f"password of {username} reset")


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    from tamis import users
    from tamis.store import open_store

    rows = users.list_users(open_store())
    if as_json:
        print_json(rows)
        return
    table = Table("username", "role", "partner", "office", "active", "created")
    for row in rows:
        table.add_row(
            row["username"],
            row["role"],
            row["partner"] or "",
            row["office"] or "",
            "yes" if row["active"] else "no",
            f"{row['created_at']:%Y-%m-%d %H:%M}",
        )
    console.print(table)


DEMO_ADMIN = "admin"


def seed_demo_admin(engine) -> str | None:
    """Create the demo's admin with a random password, returned to be printed once; None
    when the demo admin exists already."""
    from tamis import users

    if any(u["username"] == DEMO_ADMIN for u in users.list_users(engine)):
        return None
    password = secrets.token_urlsafe(12)
    users.add_user(engine, DEMO_ADMIN, Role.ADMIN, password, actor())
    return password


def audit_trail_command(
    entity: Annotated[str | None, typer.Option(help="user, case, declaration, rule_set...")] = None,
    entity_id: Annotated[str | None, typer.Option("--id")] = None,
    actor_name: Annotated[str | None, typer.Option("--actor")] = None,
    since: Annotated[datetime | None, typer.Option()] = None,
    out: Annotated[Path | None, typer.Option(help="Export to a .csv or .jsonl file.")] = None,
) -> None:
    """Who changed what and when, with the state before and after (append-only)."""
    from tamis import audit
    from tamis.store import open_store

    rows = audit.entries(open_store(), entity, entity_id, actor_name, since)
    if out is None:
        table = Table("at", "actor", "action", "entity", "before", "after")
        for row in rows[-200:]:
            table.add_row(
                f"{row['at']:%Y-%m-%d %H:%M:%S}",
                row["actor"],
                row["action"],
                f"{row['entity']} {row['entity_id'] or ''}",
                json.dumps(row["before"], ensure_ascii=False) if row["before"] else "",
                json.dumps(row["after"], ensure_ascii=False) if row["after"] else "",
            )
        console.print(table)
        console.print(f"{len(rows):,} entries" + (" (last 200 shown)" if len(rows) > 200 else ""))
        return
    write_entries(rows, out)
    console.print(f"{len(rows):,} entries written to {out}")


def write_entries(rows: list[dict], out: Path) -> None:
    """CSV (before/after as JSON text) or JSON Lines, by the file's suffix."""
    from tamis import audit

    encoded = [
        {**row, **{k: json.dumps(row[k], ensure_ascii=False) for k in ("before", "after")}}
        for row in rows
    ]
    with out.open("w", newline="", encoding="utf-8") as handle:
        if out.suffix == ".csv":
            writer = csv.DictWriter(handle, fieldnames=[c.name for c in audit.audit_trail.c])
            writer.writeheader()
            writer.writerows(encoded)
        else:
            for row in rows:
                handle.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
