"""Trade documents and credentials from the terminal: add a declaration's document (kept by
its SHA-256, registered in the documents log), check one against its log entry, and issue,
verify or revoke credentials. Functions registered as commands by ``tamis.documents.cli``
(``add``, ``check``) and ``credential_app`` (``credential issue|verify|revoke``)."""

from __future__ import annotations

import json
import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tamis.output import JsonOption, fail, print_json, print_mapping
from tamis.users_cli import actor

console = Console(soft_wrap=True)
By = Annotated[str | None, typer.Option("--by", help="Who acts [default: the system user].")]
credential_app = typer.Typer(
    help="Verifiable credentials (certificates of origin, AEO status).", no_args_is_help=True
)


def _done(change):
    """Run a change; a refusal is the user's error, said with its reason."""
    try:
        return change()
    except (LookupError, ValueError) as error:
        fail(str(error))


def add(
    declaration_id: Annotated[str, typer.Argument(help="The declaration it belongs to.")],
    path: Annotated[Path, typer.Argument(help="The document's file.")],
    doc_type: Annotated[
        str,
        typer.Option(
            "--type",
            help="invoice, certificate_of_origin, packing_list, licence, photo or other.",
        ),
    ],
    issuer: Annotated[str, typer.Option(help="Who issued it (the seller, a chamber...).")],
    items: Annotated[str | None, typer.Option(help="Its items only, as 1,3.")] = None,
    by: By = None,
    as_json: JsonOption = False,
) -> None:
    """Add a document to a declaration: kept by its SHA-256, registered in the log."""
    from tamis.documents import records
    from tamis.store import open_store

    if not path.is_file():
        fail(f"{path}: no such file")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    engine = open_store()
    with path.open("rb") as content:
        added = _done(
            lambda: records.add_document(
                engine,
                declaration_id,
                doc_type,
                issuer,
                path.name,
                content_type,
                content,
                by or actor(),
                items,
            )  # fmt: skip
        )
    if as_json:
        print_json(added)
        return
    keep = ("document_id", "declaration_id", "doc_type", "issuer", "item_numbers", "size",
            "sha256", "log_index", "answers")  # fmt: skip
    print_mapping(f"Document {added['document_id']}", {k: added[k] for k in keep}, console)


def check(
    document_id: Annotated[int, typer.Argument(help="The document's id.")],
    as_json: JsonOption = False,
) -> None:
    """Whether a document's file is still the one registered in the log (exit status 1
    when not)."""
    from tamis.documents import records
    from tamis.store import open_store

    verdict = _done(lambda: records.check_document(open_store(), document_id))
    _said(verdict.ok, verdict.verdict, verdict.detail, verdict.as_dict(), as_json)


def _claims(pairs: list[str]) -> dict:
    claims = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--claim {pair!r}: expected name=value")
        claims[name] = value
    return claims


@credential_app.command("issue")
def credential_issue(
    kind: Annotated[str, typer.Argument(help="certificate_of_origin, or aeo.")],
    subject: Annotated[str, typer.Argument(help="The consignment, or the customs id.")],
    claim: Annotated[
        list[str] | None, typer.Option(help="What it states, as name=value (repeat).")
    ] = None,
    valid_until: Annotated[str | None, typer.Option(help="YYYY-MM-DD[THH:MM] (UTC).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the credential there.")] = None,
    by: By = None,
) -> None:
    """Issue a signed credential (eddsa-jcs-2022), revocable through our status list."""
    from tamis.documents import credentials
    from tamis.store import open_store

    until = _done(lambda: datetime.fromisoformat(valid_until)) if valid_until else None
    issued = _done(
        lambda: credentials.issue(
            open_store(),
            kind,
            subject,
            _claims(claim or []),
            credentials.issuer_key(),
            by or actor(),
            until,
        )  # fmt: skip
    )
    if out is None:
        print_json(issued)
        return
    out.write_text(json.dumps(issued, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"credential {issued['id']} written to {out}", highlight=False)


def _json_file(path: Path, what: str) -> dict:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        fail(f"{path}: not a {what} in JSON ({error})")
    if not isinstance(found, dict):
        fail(f"{path}: not a {what} (a JSON object)")
    return found


@credential_app.command("verify")
def credential_verify(
    path: Annotated[Path, typer.Argument(help="The credential (JSON).")],
    public_key: Annotated[
        str | None,
        typer.Option(help="The issuer's Multikey (z6Mk...): offline, no store [default: ours]."),
    ] = None,
    status_list: Annotated[
        Path | None, typer.Option(help="Its status list credential (JSON).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a credential: its proof, validity and, given its status list (ours is read
    from the store), whether it was revoked. Exit status 1 when it does not verify."""
    from tamis.documents import credentials

    credential = _json_file(path, "credential")
    listed = _json_file(status_list, "status list") if status_list else None
    if public_key:
        key = _done(lambda: credentials.public_key_of(public_key))
        verdict = credentials.verify(credential, key, listed)
    else:
        from tamis.store import open_store

        verdict = credentials.verify_here(open_store(), credential, None, listed)
    _said(verdict.valid, verdict.reason, verdict.detail, verdict.as_dict(), as_json)


@credential_app.command("revoke")
def credential_revoke(
    credential_id: Annotated[str, typer.Argument(help="urn:uuid:...")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    by: By = None,
) -> None:
    """Revoke a credential: its bit is set in its status list."""
    from tamis.documents import credentials
    from tamis.store import open_store

    row = _done(lambda: credentials.revoke(open_store(), credential_id, by or actor(), reason))
    console.print(
        f"credential {row['credential_id']} revoked (status list {row['status_list']}, "
        f"index {row['status_index']})",
        highlight=False,
    )


def _said(ok: bool, verdict: str, detail: str, as_dict: dict, as_json: bool) -> None:
    """A check's verdict, in green or red (or as JSON); exit status 1 when it fails."""
    if as_json:
        print_json(as_dict)
    else:
        colour = "green" if ok else "red"
        console.print(f"[{colour}]{verdict}[/{colour}]: {detail}", highlight=False)
    if not ok:
        raise typer.Exit(1)
