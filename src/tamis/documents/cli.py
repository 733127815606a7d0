"""``tamis documents``: the transparency log of trade documents (its checkpoint, proofs,
offline verification, a check of the store, witnesses and keys)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tamis.documents import doc_cli
from tamis.output import JsonOption, fail, print_json, print_mapping

app = typer.Typer(
    help="Trade documents: their transparency log, proofs, witnesses and keys.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


# --- the transparency log


@app.command("checkpoint")
def checkpoint_command() -> None:
    """Print the log's checkpoint as it is now (signed now if the log grew), with the
    witnesses' cosignatures."""
    from tamis.documents import log
    from tamis.store import open_store

    engine = open_store()
    try:
        tree_size, signed = log.current_checkpoint(engine)
    except log.LogError as error:
        fail(str(error))
    typer.echo(signed + "".join(log.cosignature_lines(engine, tree_size)), nl=False)


@app.command("proof")
def proof_command(
    document: Annotated[int, typer.Argument(min=0, help="The document (its id).")],
    out: Annotated[Path, typer.Option(help="Where the bundle goes (JSON).")] = Path("bundle.json"),
    entry: Annotated[
        bool, typer.Option("--entry", help="The number is a log entry's index, not a document.")
    ] = False,
) -> None:
    """Write a document's offline proof: its log entry, inclusion proof, signed checkpoint,
    the witnesses' cosignatures and its salt (check it with ``tamis documents verify``)."""
    from tamis.documents import log, records
    from tamis.store import open_store

    try:
        bundle = (
            log.bundle(open_store(), document) if entry else records.proof(open_store(), document)
        )
    except (log.LogError, LookupError) as error:
        fail(str(error))
    out.write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"entry {bundle['index']} in the log of {bundle['checkpoint'].split(chr(10))[1]} entries,"
        f" {len(bundle['cosignatures'])} cosignature(s): {out}",
        highlight=False,
    )


@app.command("verify")
def verify_command(
    bundle: Annotated[Path, typer.Argument(help="A bundle from `tamis documents proof`.")],
    log_key: Annotated[str, typer.Option(help="The log's public key (vkey).")],
    witness_key: Annotated[
        list[str] | None, typer.Option(help="A witness's public key that must have cosigned.")
    ] = None,
    document: Annotated[
        Path | None, typer.Option(help="The document itself: checked against the entry.")
    ] = None,
    salt: Annotated[
        str | None, typer.Option(help="The document's salt (hex) [default: the bundle's].")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a bundle offline (no store, no server): the checkpoint signed by the log's key,
    the entry in it, each witness's cosignature, and the document if given. Exit status 1
    when it does not hold."""
    from tamis.documents import log

    try:
        said = json.loads(bundle.read_text(encoding="utf-8"))
        salt = salt or (said.get("document") or {}).get("salt") if isinstance(said, dict) else salt
        salt_bytes = bytes.fromhex(salt) if salt is not None else None
        document_bytes = document.read_bytes() if document is not None else None
    except (OSError, ValueError) as error:
        fail(f"{error}")
    if not isinstance(said, dict):
        fail(f"{bundle}: expected a JSON object (a bundle)")
    verdict = log.verify_bundle(said, log_key, witness_key or [], document_bytes, salt_bytes)
    if as_json:
        print_json(verdict.as_dict())
    else:
        shown = {
            "verified": "yes" if verdict.ok else "NO",
            "log": verdict.origin or "-",
            "entry": f"{verdict.index} of {verdict.size}" if verdict.size is not None else "-",
            **(verdict.entry or {}),
            "witnesses": ", ".join(verdict.witnesses) or "-",
        }
        if verdict.document is not None:
            shown["document"] = "the one registered" if verdict.document else "NOT the one"
        print_mapping(f"Bundle {bundle}", shown, console)
        for problem in verdict.problems:
            errors.print(problem, highlight=False, markup=False)
    if not verdict.ok:
        raise typer.Exit(1)


@app.command("fsck")
def fsck_command(as_json: JsonOption = False) -> None:
    """Recompute the log from its entries and compare with the stored hashes and every
    checkpoint; exit status 1 with each difference named if any."""
    from tamis.documents import log
    from tamis.store import open_store

    done = log.fsck(open_store())
    if as_json:
        print_json(done.as_dict())
    else:
        print_mapping(
            "Transparency log",
            {
                "entries": done.entries,
                "nodes": done.nodes,
                "checkpoints": done.checkpoints,
                "problems": len(done.problems) + done.more,
            },  # fmt: skip
            console,
        )
        for problem in done.problems:
            errors.print(problem, highlight=False, markup=False)
    if not done.ok:
        raise typer.Exit(1)


@app.command("witness-send")
def witness_send_command(
    url: Annotated[str, typer.Argument(help="The partner's Tamis, e.g. https://…")],
    username: Annotated[str, typer.Option(help="Our partner account on their Tamis.")],
    as_json: JsonOption = False,
) -> None:
    """Have a partner's witness cosign our latest checkpoint, and keep its cosignature. The
    password is read from TAMIS_PARTNER_PASSWORD."""
    import os

    import httpx

    from tamis.documents import log, witness
    from tamis.store import open_store

    password = os.environ.get("TAMIS_PARTNER_PASSWORD")
    if not password:
        fail("TAMIS_PARTNER_PASSWORD: not set (the password of our account on their Tamis)")
    base = url.rstrip("/")
    try:
        login = httpx.post(
            f"{base}/api/auth/login", timeout=30, json={"username": username, "password": password}
        )
        if login.status_code != 200:
            fail(f"{url}: login as {username} refused ({login.status_code})")
        done = witness.send_to_witness(open_store(), f"{base}/api/witness", login.json()["token"])
    except (httpx.HTTPError, witness.WitnessError, log.LogError) as error:
        fail(f"{error}")
    if as_json:
        print_json(done.as_dict())
        return
    print_mapping("Cosigned", {"size": done.size, "witnesses": ", ".join(done.witnesses)}, console)


@app.command("witnessed")
def witnessed_command(as_json: JsonOption = False) -> None:
    """The partners' logs we witness, as we last cosigned them, and the evidence kept of
    any that showed two views of itself or rewrote its past."""
    from tamis.documents import witness
    from tamis.store import open_store

    engine = open_store()
    found = {"logs": witness.witnessed(engine), "evidence": witness.evidence(engine)}
    if as_json:
        print_json(found)
        return
    for row in found["logs"]:
        console.print(
            f"{row['origin']}: {row['size']:,} entries, {row['evidence']} evidence",
            highlight=False,
        )
    for kept in found["evidence"]:
        errors.print(
            f"{kept['at']:%Y-%m-%d %H:%M} {kept['origin']}: {kept['kind']} at size {kept['size']}",
            highlight=False,
        )


@app.command("keys")
def keys_command(as_json: JsonOption = False) -> None:
    """Our public keys, for partners: the log's (to check our checkpoints) and our
    witness's (to check its cosignatures). Made on first use when not configured."""
    from tamis.documents import log, witness

    try:
        keys = {
            "log": log.log_public_key(),
            "witness": witness.witness_signer().cosignature_key_text(),
        }
    except log.LogError as error:
        fail(str(error))
    if as_json:
        print_json(keys)
        return
    for name, key in keys.items():
        typer.echo(f"{name}: {key}")


app.command("add")(doc_cli.add)
app.command("check")(doc_cli.check)
app.add_typer(doc_cli.credential_app, name="credential")


@app.command("demo")
def demo_command(
    workdir: Annotated[Path, typer.Option(help="Where the partner's store and keys go.")] = Path(
        "demo"
    ),
    declarations: Annotated[int, typer.Option(min=1, help="Declarations given documents.")] = 60,
    as_json: JsonOption = False,
) -> None:
    """What the demo does: documents and photos added to the latest declarations (each
    registered in the log), one invoice falsified afterwards; a partner administration's
    instance (a store and keys of its own, in ``workdir``) witnesses the log; the documents
    checked, the falsified one caught; one document's offline proof verified."""
    from tamis.store import open_store

    said = work_demo_documents(open_store(), workdir, declarations)
    if as_json:
        print_json(said)
        return
    print_mapping("Trade documents", {k: v for k, v in said.items() if k != "caught"}, console)
    caught = said["caught"]
    if caught is None:
        return
    console.print(
        f"A falsified invoice caught: document {caught['document_id']} of declaration "
        f"{caught['declaration_id']} ({caught['detail']}): tamis documents check "
        f"{caught['document_id']}"
    )


def work_demo_documents(engine, workdir: Path, count: int) -> dict:
    """The demo's documents, log and partner witness (see ``demo``)."""
    import os
    from contextlib import contextmanager

    import yaml
    from sqlalchemy import select

    from tamis.documents import log, witness
    from tamis.documents.read import check_document
    from tamis.documents.synthetic import synthetic_documents
    from tamis.documents.tables import documents
    from tamis.store import open_store
    from tamis.store.tables import declarations

    @contextmanager
    def environment(**values: str):
        saved = {k: os.environ.get(k) for k in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)

    workdir = workdir.resolve()
    partner = {"TAMIS_COUNTRY": "ES", "TAMIS_KEYS_DIR": str(workdir / "partner-keys"),
               "TAMIS_LOG_PARTNERS": str(workdir / "partner-partners.yaml"),
               "TAMIS_LOG_ORIGIN": "", "TAMIS_WITNESS_NAME": ""}  # fmt: skip
    ours = {"TAMIS_LOG_PARTNERS": os.environ.get("TAMIS_LOG_PARTNERS")
            or str(workdir / "partners.yaml")}  # fmt: skip
    with environment(**partner):
        partner_witness = witness.witness_signer().cosignature_key_text()
    (workdir / "partner-partners.yaml").write_text(
        yaml.safe_dump({"logs": [log.log_public_key()]}), encoding="utf-8"
    )
    if not Path(ours["TAMIS_LOG_PARTNERS"]).exists():
        Path(ours["TAMIS_LOG_PARTNERS"]).write_text(
            yaml.safe_dump({"witnesses": [partner_witness]}), encoding="utf-8"
        )
    with engine.connect() as conn:
        documented = set(conn.execute(select(documents.c.declaration_id).distinct()).scalars())
        latest = conn.execute(
            select(declarations.c.declaration_id)
            .order_by(declarations.c.lodged_at.desc(), declarations.c.declaration_id)
            .limit(count)
        ).scalars()
        waiting = [d for d in latest if d not in documented]  # a rerun adds none twice
    planted = synthetic_documents(engine, waiting, seed=7) if waiting else None
    tree_size, signed = log.current_checkpoint(engine)
    our_origin = log.origin()
    partner_store = open_store(f"sqlite:///{workdir / 'partner.db'}")
    with environment(**partner):
        seen = {w["origin"]: w["size"] for w in witness.witnessed(partner_store)}
        body = witness.request_body(engine, seen.get(our_origin, 0), tree_size, signed)
        cosignature = witness.add_checkpoint(partner_store, body)
    with environment(**ours):
        kept = witness.keep_cosignatures(engine, tree_size, cosignature, "partner ES (demo)")
        with engine.connect() as conn:
            of = dict(
                conn.execute(select(documents.c.document_id, documents.c.declaration_id)).all()
            )
        checks = [check_document(engine, d) for d in of]
        altered = [c for c in checks if not c.ok]
        verdict = log.verify_bundle(log.bundle(engine, 0), log.log_public_key(), [partner_witness])
    first = altered[0] if altered else None
    return {
        "documents": len(of),
        "added now": planted["documents"] if planted else 0,
        "log entries": tree_size,
        "witnessed by": ", ".join(kept) or "nobody",
        "verified": len(checks) - len(altered),
        "not verified": len(altered),
        "offline proof of entry 0": "verified" if verdict.ok else "; ".join(verdict.problems),
        "caught": first
        and {
            "document_id": first.document_id,
            "declaration_id": of[first.document_id],
            "detail": first.detail,
        },
    }
