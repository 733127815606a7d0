"""Witnessing (C2SP tlog-witness): partner administrations cosign our log's checkpoints, and
we cosign theirs.

As a witness, for each partner's log (known by its key) we keep the latest checkpoint we
cosigned, and cosign a newer one only with a consistency proof from it: a log that dropped,
changed or reordered an entry, rolled back, or showed two roots for one size is refused,
and what it showed is kept as evidence.

As a log, we send our latest checkpoint with the proof from the size a witness last
cosigned, and keep its cosignature: bundles carry them, so a document's proof shows the
partners saw the same log.

The partners are in the YAML file ``TAMIS_LOG_PARTNERS``::

    logs:       # partners' logs we witness: each log's key, named by its origin
      - es.customs.example/tamis-log+1a2b3c4d+AU...
    witnesses:  # partners' witnesses of our log: their keys
      - es.customs.example/witness+5e6f7a8b+BF...

Our witness key is the file ``TAMIS_WITNESS_KEY`` names; left unset, ``witness.key`` in
``TAMIS_KEYS_DIR``, made on first use.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tamis import audit
from tamis.documents import log, merkle, note
from tamis.documents.log_tables import cosignatures, witness_evidence, witness_state
from tamis.settings import settings

MAX_PROOF_LINES = 63  # tlog-witness: a client sends no more
MAX_BODY = 64 * 1024
SIZE_TYPE = "text/x.tlog.size"


class Refused(Exception):
    """A checkpoint the witness does not cosign: ``status`` as tlog-witness says, and for
    409 on the old size, the size it last cosigned (``size``)."""

    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.size = size


class WitnessError(Exception):
    """A witness did not cosign our checkpoint; the message says why."""


# --- configuration


def witness_name() -> str:
    return settings().witness_name or f"{settings().country.lower()}.customs.example/witness"


def witness_signer() -> note.Signer:
    path, make = log.key_file(settings().witness_key, "witness.key")
    return log.load_signer(path, witness_name(), make)


@dataclass(frozen=True)
class Partners:
    logs: dict[str, note.Verifier] = field(default_factory=dict)  # origin -> the log's key
    witnesses: list[note.CosignatureVerifier] = field(default_factory=list)


def partners() -> Partners:
    """The partners' keys, from the file TAMIS_LOG_PARTNERS names (none: no partners)."""
    named = settings().log_partners
    if not named:
        return Partners()
    try:
        changed = Path(named).stat().st_mtime_ns
    except OSError as error:
        raise log.LogError(f"TAMIS_LOG_PARTNERS: {error}", 500) from error
    return _partners(Path(named), changed)


_cache: dict[tuple[Path, int], Partners] = {}


def _partners(path: Path, changed: int) -> Partners:
    if (path, changed) in _cache:
        return _cache[path, changed]
    try:
        said = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(said, dict) or set(said) - {"logs", "witnesses"}:
            raise ValueError("expected a mapping of 'logs' and 'witnesses', each a list of keys")
        logs = [note.Verifier(str(vkey)) for vkey in said.get("logs") or []]
        witnesses = [note.CosignatureVerifier(str(vkey)) for vkey in said.get("witnesses") or []]
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise log.LogError(f"{path}: {error}", 500) from error
    _cache[path, changed] = found = Partners({v.name: v for v in logs}, witnesses)
    return found


# --- as a witness of partners' logs


@dataclass(frozen=True)
class Request:
    old: int
    proof: list[bytes]
    checkpoint: str  # the signed note


def parse_request(body: str) -> Request:
    """An add-checkpoint body: ``old <size>``, the proof's hashes a line each, a blank line,
    the signed checkpoint."""
    head, blank, checkpoint = body.partition("\n\n")
    lines = head.split("\n")
    if not blank or not (found := re.fullmatch(r"old (0|[1-9][0-9]*)", lines[0])):
        raise Refused(400, "expected 'old <size>', the proof a hash a line, a blank line, then "
                      "the signed checkpoint")  # fmt: skip
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Refused(400, f"a proof of {len(lines) - 1} hashes: at most {MAX_PROOF_LINES}")
    try:
        proof = [log.unb64(line, f"proof line {n}") for n, line in enumerate(lines[1:], 1)]
    except log.LogError as error:
        raise Refused(400, str(error)) from error
    return Request(int(found[1]), proof, checkpoint)


def add_checkpoint(engine: Engine, body: str) -> str:
    """Cosign a partner's checkpoint (C2SP tlog-witness add-checkpoint): the cosignature
    line(s), or Refused with the status the protocol gives: 400 malformed or rolling back,
    403 not signed by the log's key, 404 a log we do not witness, 409 an old size other
    than the one we cosigned last (or another root for that size), 422 a consistency proof
    that does not hold."""
    request = parse_request(body)
    origin = request.checkpoint.split("\n", 1)[0]
    known = partners().logs.get(origin)
    if known is None:
        raise Refused(404, f"{origin!r}: not a log we witness (expected one of "
                      f"{sorted(partners().logs) or 'none configured'})")  # fmt: skip
    try:
        stated, _ = note.open_checkpoint(request.checkpoint, [known])
    except note.NoteError as error:
        raise Refused(403, f"the checkpoint is not signed by {origin}'s key: {error}") from error
    if request.old > stated.size:
        raise Refused(400, f"old size {request.old}: larger than the checkpoint's {stated.size}")
    _state_row(engine, origin)
    refused = None
    with engine.begin() as conn:
        held = witness_state.c.origin == origin
        conn.execute(update(witness_state).where(held).values(size=witness_state.c.size))
        seen = conn.execute(select(witness_state).where(held)).one()
        kind = None
        if request.old != seen.size:
            refused = Refused(
                409,
                f"old size {request.old}: the last checkpoint cosigned has {seen.size}",
                seen.size,
            )
        elif request.old == stated.size and seen.note is not None and seen.root != stated.root:
            kind = "split-view"
            refused = Refused(409, f"size {stated.size}: another root than the one cosigned")
        elif request.old < stated.size and request.old > 0:
            try:
                merkle.verify_consistency(
                    request.old, stated.size, request.proof, seen.root, stated.root
                )
            except merkle.ProofError as error:
                kind = "inconsistent"
                refused = Refused(422, f"from size {request.old} to {stated.size}: {error}")
        elif request.old == 0 and request.proof:
            refused = Refused(422, "from size 0: expected an empty proof")
        if kind is not None:
            conn.execute(
                insert(witness_evidence).values(
                    origin=origin,
                    kind=kind,
                    size=stated.size,
                    note_a=seen.note,
                    note_b=body,
                    at=audit.now(),
                )
            )
        if refused is None:
            conn.execute(
                update(witness_state)
                .where(held)
                .values(
                    size=stated.size,
                    root=stated.root,
                    note=request.checkpoint,
                    updated_at=audit.now(),
                )
            )
    if refused is not None:
        raise refused
    return note.cosign(stated.text(), witness_signer(), int(time.time()))


def _state_row(engine: Engine, origin: str) -> None:
    """The witness's row for a log, made at size 0 the first time."""
    with engine.connect() as conn:
        if conn.execute(
            select(witness_state.c.size).where(witness_state.c.origin == origin)
        ).first():
            return
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(witness_state).values(origin=origin, size=0, updated_at=audit.now())
            )
    except IntegrityError:
        pass  # made at the same time by another request


def witnessed(engine: Engine) -> list[dict]:
    """Partners' logs as we last cosigned them, with the evidence kept against each."""
    with engine.connect() as conn:
        evidence = dict(
            conn.execute(
                select(witness_evidence.c.origin, func.count()).group_by(witness_evidence.c.origin)
            ).all()
        )
        return [
            {
                "origin": row.origin,
                "size": row.size,
                "root": log.b64(row.root) if row.root else None,
                "updated_at": row.updated_at,
                "evidence": evidence.get(row.origin, 0),
            }
            for row in conn.execute(select(witness_state).order_by(witness_state.c.origin))
        ]


def evidence(engine: Engine, origin: str | None = None) -> list[dict]:
    """The checkpoints refused as proof of a log's misbehaviour, with the one cosigned before."""
    query = select(witness_evidence).order_by(witness_evidence.c.evidence_id)
    if origin is not None:
        query = query.where(witness_evidence.c.origin == origin)
    with engine.connect() as conn:
        return [row._asdict() for row in conn.execute(query)]


# --- as a log, to partners' witnesses


@dataclass
class Cosigned:
    url: str
    size: int
    witnesses: list[str]  # names of the witnesses whose cosignatures were kept

    def as_dict(self) -> dict:
        return {"url": self.url, "size": self.size, "witnesses": self.witnesses}


def request_body(engine: Engine, old: int, tree_size: int, signed: str) -> str:
    """An add-checkpoint request: our signed checkpoint of ``tree_size`` entries with the
    proof that it extends the one of ``old`` entries the witness saw."""
    proof = log.consistency(engine, old, tree_size)
    return f"old {old}\n" + "".join(log.b64(h) + "\n" for h in proof) + "\n" + signed


def send_to_witness(
    engine: Engine, url: str, token: str | None = None, timeout: float = 30
) -> Cosigned:
    """Have the witness at ``url`` (its submission prefix, e.g. a partner's Tamis
    ``https://…/api/witness``) cosign our latest checkpoint, with the consistency proof
    from the size it last cosigned (asked again once if it says another); keep the
    cosignatures by the witness keys we know."""
    tree_size, signed = log.current_checkpoint(engine)
    with engine.connect() as conn:
        old = (
            conn.execute(
                select(func.max(cosignatures.c.size)).where(
                    cosignatures.c.url == url, cosignatures.c.size <= tree_size
                )
            ).scalar()
            or 0
        )
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(timeout=timeout, headers=headers) as client:
        for _ in range(2):
            body = request_body(engine, old, tree_size, signed)
            answer = client.post(url.rstrip("/") + "/add-checkpoint", content=body.encode())
            said = answer.headers.get("content-type", "")
            if answer.status_code != 409 or not said.startswith(SIZE_TYPE):
                break
            seen = int(answer.text.strip())
            if seen > tree_size:
                raise WitnessError(
                    f"{url} has cosigned our log at {seen} entries, more than the {tree_size} "
                    f"it has: this log was rolled back"
                )
            old = seen
    if answer.status_code != 200:
        raise WitnessError(f"{url} refused our checkpoint of {tree_size} entries "
                           f"({answer.status_code}): {answer.text.strip()[:500]}")  # fmt: skip
    return Cosigned(url, tree_size, keep_cosignatures(engine, tree_size, answer.text, url))


def keep_cosignatures(engine: Engine, tree_size: int, lines: str, url: str | None) -> list[str]:
    """Keep the cosignature lines of our checkpoint at ``tree_size`` made by witness keys
    we know (others are ignored); the names of those kept."""
    signed = log.signed_checkpoint(engine, tree_size)
    known = partners().witnesses
    if signed is None:
        raise WitnessError(f"no checkpoint of ours has {tree_size} entries")
    if not known:
        raise WitnessError("no witness key configured: expected 'witnesses' in TAMIS_LOG_PARTNERS")
    kept = []
    text = log.note_text(signed)
    for line in lines.splitlines():
        try:
            _, names = note.open_note(text + "\n" + line + "\n", known)
        except note.NoteError:
            continue  # by a key we do not know: ignored (a bad one by a known key too)
        with engine.begin() as conn:
            conn.execute(
                cosignatures.delete().where(
                    cosignatures.c.size == tree_size, cosignatures.c.witness == names[0]
                )
            )
            conn.execute(
                insert(cosignatures).values(
                    size=tree_size, witness=names[0], line=line + "\n", url=url, at=audit.now()
                )
            )
        kept.append(names[0])
    if not kept:
        raise WitnessError(
            f"none of the cosignatures is by a witness key we know ({[v.name for v in known]})"
        )
    return kept
