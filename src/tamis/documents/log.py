"""The documents' transparency log: every registered document is an entry of an append-only
Merkle tree (RFC 9162 hashing), whose size and root the administration signs as checkpoints
(C2SP tlog-checkpoint, a signed note with Ed25519) that partner administrations cosign as
witnesses. A checkpoint, an inclusion proof and the witnesses' cosignatures prove to anyone,
offline, that an entry is in the log everyone sees; consistency proofs prove the log only
ever grew.

An entry says which document was registered without showing it: its leaf holds
SHA-256(salt || the document's SHA-256), its type, its reference and the time, and the salt
stays with whoever holds the document. The store keeps the leaves and the hash of every
complete subtree, each written once when its last leaf is appended, so a root or a proof
reads O(log n) stored hashes in one query.

The log's key is the file ``TAMIS_LOG_KEY`` names; left unset, it is ``log.key`` in
``TAMIS_KEYS_DIR``, made on first use.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tamis import audit
from tamis.documents import merkle, note
from tamis.documents.log_tables import (
    cosignatures,
    log_checkpoints,
    log_entries,
    log_head,
    log_nodes,
)
from tamis.settings import settings

LEAF_VERSION = 1
SALT_BYTES = 16
BUNDLE_FORMAT = "tamis-log-bundle/1"
EPOCH = datetime(1970, 1, 1)
FSCK_BATCH = 10_000


class LogError(ValueError):
    """A request the log cannot answer; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


# --- names and keys


def origin() -> str:
    """The log's name, the first line of its checkpoints."""
    return settings().log_origin or f"{settings().country.lower()}.customs.example/tamis-log"


def key_file(configured: str | None, default_name: str) -> tuple[Path, bool]:
    """Where a private key is, and whether it may be made there (only when not named)."""
    if configured:
        return Path(configured), False
    return Path(settings().keys_dir) / default_name, True


def load_signer(path: Path, name: str, make: bool) -> note.Signer:
    """The signer whose private key is in ``path``: made there on first use if ``make``
    (readable by its owner only), and refused if it signs under another name."""
    if not path.is_file():
        if not make:
            raise LogError(f"{path}: no such key file (expected the private key of {name})", 500)
        _write_new_key(path, note.Signer.generate(name))
    try:
        signer = note.Signer.from_private_key_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, note.NoteError) as error:
        raise LogError(f"{path}: not a private key (PRIVATE+KEY+…): {error}", 500) from error
    if signer.name != name:
        raise LogError(f"{path}: a key for {signer.name!r}, expected one for {name!r}", 500)
    return signer


def _write_new_key(path: Path, signer: note.Signer) -> None:
    """Write the key where none is, atomically: two processes starting at once keep one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(signer.private_key_text() + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made it first: theirs is the key
    finally:
        draft.unlink()


def log_signer() -> note.Signer:
    path, make = key_file(settings().log_key, "log.key")
    return load_signer(path, origin(), make)


def log_public_key() -> str:
    """The vkey that verifies our checkpoints, for partners and offline checks."""
    return log_signer().public_key_text()


def log_verifier() -> note.Verifier:
    return note.Verifier(log_public_key())


# --- entries


@dataclass(frozen=True)
class Entry:
    """What a leaf says."""

    salted_hash: bytes  # SHA-256(salt || SHA-256(document))
    doc_type: str
    reference: str
    at: datetime  # naive UTC, to the microsecond

    def as_dict(self) -> dict:
        return {
            "salted_hash": self.salted_hash.hex(),
            "doc_type": self.doc_type,
            "reference": self.reference,
            "registered_at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class Registration:
    index: int
    salt: bytes  # the caller keeps it with the document: the log has only the salted hash
    leaf: bytes
    leaf_hash: bytes
    at: datetime


def salted_hash(salt: bytes, document_sha256: bytes) -> bytes:
    return hashlib.sha256(salt + document_sha256).digest()


def encode_leaf(entry: Entry) -> bytes:
    """The leaf: version (1 byte), the salted hash (32), the type (1-byte length, UTF-8), the
    reference (2-byte length, UTF-8), microseconds since 1970 UTC (8 bytes, signed); big
    endian throughout, so one byte string reads back one way only."""
    kind, reference = entry.doc_type.encode(), entry.reference.encode()
    if len(entry.salted_hash) != 32:
        raise LogError(f"a salted hash has 32 bytes, not {len(entry.salted_hash)}")
    if not 0 < len(kind) < 256:
        raise LogError(f"doc_type: expected 1 to 255 bytes of UTF-8, got {len(kind)}")
    if not 0 < len(reference) < 65536:
        raise LogError(f"reference: expected 1 to 65,535 bytes of UTF-8, got {len(reference)}")
    micros = (entry.at - EPOCH) // timedelta(microseconds=1)
    return b"".join(
        [
            bytes([LEAF_VERSION]),
            entry.salted_hash,
            bytes([len(kind)]),
            kind,
            len(reference).to_bytes(2, "big"),
            reference,
            micros.to_bytes(8, "big", signed=True),
        ]
    )


def decode_leaf(leaf: bytes) -> Entry:
    """The entry a leaf encodes; LogError if it is not exactly one."""
    try:
        if leaf[0] != LEAF_VERSION:
            raise LogError(f"leaf version {leaf[0]}: expected {LEAF_VERSION}")
        at = 33
        kind = leaf[at + 1 : at + 1 + leaf[at]]
        at += 1 + leaf[at]
        length = int.from_bytes(leaf[at : at + 2], "big")
        reference = leaf[at + 2 : at + 2 + length]
        at += 2 + length
        micros = int.from_bytes(leaf[at : at + 8], "big", signed=True)
        if at + 8 != len(leaf) or len(reference) != length:
            raise LogError(f"a leaf of {len(leaf)} bytes: its fields need {at + 8}")
        return Entry(
            leaf[1:33], kind.decode(), reference.decode(), EPOCH + timedelta(microseconds=micros)
        )
    except (IndexError, UnicodeDecodeError) as error:
        raise LogError(f"not a leaf of this log: {error}") from error


def register(
    conn: Connection, document_sha256: bytes, doc_type: str, reference: str
) -> Registration:
    """Append the document's entry to the log, in the caller's transaction: entries are
    appended one at a time (the log's head row is held until the transaction ends), so
    registrations get consecutive indexes. The salt returned is nowhere in the log."""
    if len(document_sha256) != 32:
        raise LogError(
            f"document_sha256: expected the 32 bytes of a SHA-256, got {len(document_sha256)}"
        )
    salt = secrets.token_bytes(SALT_BYTES)
    at = audit.now()
    leaf = encode_leaf(Entry(salted_hash(salt, document_sha256), doc_type, reference, at))
    held = conn.execute(
        update(log_head)
        .where(log_head.c.head_id == 1)
        .values(size=log_head.c.size + 1, updated_at=at)
    )
    if held.rowcount != 1:
        raise LogError("the log has no head row: is the store migrated?", 500)
    index = conn.execute(_HEAD_SIZE).scalar_one() - 1
    hashed = merkle.leaf_hash(leaf)
    conn.execute(
        insert(log_entries).values(leaf_index=index, leaf=leaf, leaf_hash=hashed, registered_at=at)
    )
    completed = _with_nodes(
        conn, lambda subtree: merkle.complete_subtrees_on_append(index, hashed, subtree)
    )
    conn.execute(
        insert(log_nodes),
        [{"level": level, "node_index": i, "hash": h} for level, i, h in completed],
    )
    return Registration(index=index, salt=salt, leaf=leaf, leaf_hash=hashed, at=at)


def current_size(bind: Engine | Connection) -> int:
    """Entries in the log (committed ones)."""
    with _connected(bind) as conn:
        return conn.execute(_HEAD_SIZE).scalar_one()


_HEAD_SIZE = select(log_head.c.size).where(log_head.c.head_id == 1)


def entry(engine: Engine, index: int) -> tuple[bytes, Entry]:
    """Leaf ``index`` and what it says."""
    with engine.connect() as conn:
        leaf = conn.execute(
            select(log_entries.c.leaf).where(log_entries.c.leaf_index == index)
        ).scalar()
    if leaf is None:
        raise LogError(f"entry {index}: not in the log", 404)
    return leaf, decode_leaf(leaf)


# --- stored hashes


def _reading(engine: Engine) -> Connection:
    """A connection to read with: on PostgreSQL outside a transaction, which saves a proof
    the round trips of BEGIN and ROLLBACK (its nodes are read in one statement anyway)."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def _connected(bind: Engine | Connection):
    return bind.connect() if isinstance(bind, Engine) else nullcontext(bind)


_ZERO = bytes(32)


def _with_nodes(conn: Connection, compute: Callable[[merkle.Subtree], object], size: int = 0):
    """``compute(subtree)`` with the stored complete subtrees it reads, read in one query:
    it runs once on zeros to learn which it reads (proofs read the same nodes whatever
    their hashes), then on theirs. A node missing means a tree larger than the log (404)
    if ``size`` is, else a damaged store."""
    wanted: list[tuple[int, int]] = []

    def record(level: int, index: int) -> bytes:
        wanted.append((level, index))
        return _ZERO

    compute(record)
    found = read_nodes(conn, wanted)

    def stored(level: int, index: int) -> bytes:
        try:
            return found[level, index]
        except KeyError:
            now_size = current_size(conn)
            if size > now_size:
                raise LogError(f"size {size}: the log has {now_size} entries", 404) from None
            raise LogError(
                f"node ({level}, {index}) is missing from the store: run fsck", 500
            ) from None

    return compute(stored)


def read_nodes(conn: Connection, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of these (level, index) nodes (those stored), in one query sent
    to the driver's cursor: SQLAlchemy's statements and results would take longer than
    the query itself."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    sql = _nodes_sql(len(keys), "?" if conn.dialect.paramstyle == "qmark" else "%s")
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, tuple(number for key in keys for number in key))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return {(level, index): bytes(h) for level, index, h in rows}


@lru_cache(maxsize=256)
def _nodes_sql(count: int, mark: str) -> str:
    match = f"(level = {mark} AND node_index = {mark})"
    return f"SELECT level, node_index, hash FROM log_nodes WHERE {' OR '.join([match] * count)}"


def root(bind: Engine | Connection, tree_size: int) -> bytes:
    with _connected(bind) as conn:
        return _with_nodes(conn, lambda subtree: merkle.root(tree_size, subtree))


# --- checkpoints


def checkpoint(engine: Engine) -> str:
    """The signed checkpoint of the log as it is now (the signed note's text): the one
    stored when the log has not grown since, else a new one, signed and kept."""
    return current_checkpoint(engine)[1]


def current_checkpoint(engine: Engine) -> tuple[int, str]:
    """``checkpoint``, with the size it states."""
    with engine.connect() as conn:
        now_size = current_size(conn)
        latest = conn.execute(
            select(log_checkpoints.c.size, log_checkpoints.c.note)
            .order_by(log_checkpoints.c.size.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.size == now_size:
            return now_size, latest.note
        tree_root = root(conn, now_size)
    signed = note.sign_note(note.Checkpoint(origin(), now_size, tree_root).text(), [log_signer()])
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(log_checkpoints).values(
                    size=now_size, root=tree_root, note=signed, signed_at=audit.now()
                )
            )
    except IntegrityError:  # signed at the same time elsewhere: one is kept
        with engine.connect() as conn:
            signed = conn.execute(
                select(log_checkpoints.c.note).where(log_checkpoints.c.size == now_size)
            ).scalar_one()
    return now_size, signed


def signed_checkpoint(engine: Engine, tree_size: int) -> str | None:
    """The checkpoint signed at ``tree_size``, if one was."""
    with engine.connect() as conn:
        return conn.execute(
            select(log_checkpoints.c.note).where(log_checkpoints.c.size == tree_size)
        ).scalar()


def note_text(signed: str) -> str:
    """A signed note's text: what comes before the blank line and its signatures."""
    split = signed.rfind("\n\n")
    if split < 0:
        raise LogError("a signed note: expected its text, a blank line, then its signatures")
    return signed[: split + 1]


def cosignature_lines(engine: Engine, tree_size: int) -> list[str]:
    """The witnesses' cosignatures of our checkpoint at ``tree_size``."""
    with engine.connect() as conn:
        lines = conn.execute(
            select(cosignatures.c.line)
            .where(cosignatures.c.size == tree_size)
            .order_by(cosignatures.c.witness)
        )
        return list(lines.scalars())


# --- proofs


@dataclass(frozen=True)
class Inclusion:
    index: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "size": self.size,
            "leaf_hash": b64(self.leaf_hash),
            "proof": [b64(h) for h in self.proof],
        }


def inclusion(engine: Engine, index: int, size: int | None = None) -> Inclusion:
    """The proof that entry ``index`` is in the tree of ``size`` entries (default: the
    latest checkpoint's, one signed now if none covers the entry yet)."""
    if index < 0:
        raise LogError(f"index {index}: expected 0 or more")
    if size is None:
        size = _covering(engine, index)
    with _reading(engine) as conn:
        if index >= size:
            raise LogError(f"entry {index}: not in the tree of {size} entries", 404)

        def compute(subtree: merkle.Subtree) -> tuple[bytes, list[bytes]]:
            return subtree(0, index), merkle.inclusion_proof(index, size, subtree)

        leaf_hash, proof = _with_nodes(conn, compute, size)
    return Inclusion(index, size, leaf_hash, proof)


def _covering(engine: Engine, index: int) -> int:
    """The size of the latest checkpoint, signed now if the one before ends before entry
    ``index``."""
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(log_checkpoints.c.size))).scalar()
    if latest is None or latest <= index:
        latest = current_checkpoint(engine)[0]
        if latest <= index:
            raise LogError(f"entry {index}: not in the log, of {latest} entries", 404)
    return latest


def consistency(engine: Engine, size1: int, size2: int) -> list[bytes]:
    """The proof that the tree of ``size2`` entries extends the one of ``size1`` (empty
    when ``size1`` is 0 or ``size2``)."""
    if not 0 <= size1 <= size2:
        raise LogError(f"old {size1}, new {size2}: expected 0 <= old <= new")
    with _reading(engine) as conn:
        if size1 in (0, size2):  # an empty proof, if the tree is in the log
            _check_size(conn, size2)
        proof = lambda subtree: merkle.consistency_proof(size1, size2, subtree)  # noqa: E731
        return _with_nodes(conn, proof, size2)


def _check_size(conn: Connection, tree_size: int) -> None:
    now_size = current_size(conn)
    if not 0 <= tree_size <= now_size:
        raise LogError(f"size {tree_size}: the log has {now_size} entries", 404)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError as error:
        raise LogError(f"{what}: expected base64, got {str(text)[:40]!r}") from error


# --- checking the store


@dataclass
class Fsck:
    entries: int = 0
    nodes: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    more: int = 0  # problems beyond the first MAX_PROBLEMS, counted only

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.more += 1

    def as_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}


MAX_PROBLEMS = 100


def fsck(engine: Engine) -> Fsck:
    """Recompute the log from its leaves: every leaf hash, every complete subtree and the
    root of every checkpoint, compared with what the store holds; each difference is a
    problem naming the entry, node or checkpoint. Holds one level of hashes in memory (32
    bytes an entry)."""
    done = Fsck()
    with engine.connect() as conn:
        head = current_size(conn)
        level: list[bytes] = []
        rows = conn.execution_options(yield_per=FSCK_BATCH).execute(
            select(log_entries.c.leaf_index, log_entries.c.leaf, log_entries.c.leaf_hash).order_by(
                log_entries.c.leaf_index
            )
        )
        for index, leaf, stored in rows:
            while len(level) < index:  # a gap: nothing there to hash
                done.problem(f"entry {len(level)}: missing")
                level.append(_ZERO)
            hashed = merkle.leaf_hash(leaf)
            if hashed != stored:
                done.problem(f"entry {index}: its leaf hashes to {hashed.hex()}, not its leaf_hash")
            level.append(hashed)
        done.entries = len(level)
        if len(level) != head:
            done.problem(f"the log's head says {head} entries, the store has {len(level)}")
        kept = conn.execute(
            select(log_checkpoints.c.size, log_checkpoints.c.root, log_checkpoints.c.note)
        ).all()
        wanted = _nodes_for_roots([size for size, _, _ in kept if size <= len(level)])
        nodes: dict[tuple[int, int], bytes] = {}
        depth = 0
        while level:
            _compare_level(conn, depth, level, done)
            nodes |= {key: level[key[1]] for key in wanted if key[0] == depth}
            level = [merkle.node_hash(a, b) for a, b in zip(level[::2], level[1::2], strict=False)]
            depth += 1
        beyond = conn.execute(
            select(log_nodes.c.level, log_nodes.c.node_index).where(log_nodes.c.level >= depth)
        ).first()
        if beyond is not None:
            done.problem(f"node {tuple(beyond)}: beyond the log's complete subtrees")
    verifier = log_verifier()
    for tree_size, stored_root, signed in kept:
        done.checkpoints += 1
        if tree_size > done.entries:
            done.problem(f"checkpoint {tree_size}: larger than the log, of {done.entries}")
            continue
        computed = merkle.root(tree_size, lambda lv, i: nodes[lv, i])
        if computed != stored_root:
            done.problem(f"checkpoint {tree_size}: its root is not the entries' root")
        try:
            stated = note.parse_checkpoint(note.open_note(signed, [verifier])[0])
        except note.NoteError as error:
            done.problem(f"checkpoint {tree_size}: its note does not open: {error}")
            continue
        if (stated.origin, stated.size, stated.root) != (origin(), tree_size, computed):
            done.problem(
                f"checkpoint {tree_size}: its note states {stated.size} entries of "
                f"another root or origin than the entries'"
            )
    return done


def _nodes_for_roots(sizes: list[int]) -> set[tuple[int, int]]:
    """The complete subtrees the roots of trees of these sizes are made of."""
    wanted: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return _ZERO

    for tree_size in sizes:
        merkle.root(tree_size, record)
    return wanted


def _compare_level(conn: Connection, depth: int, level: list[bytes], done: Fsck) -> None:
    """Stored nodes of one level against the hashes recomputed from the entries."""
    rows = conn.execution_options(yield_per=FSCK_BATCH).execute(
        select(log_nodes.c.node_index, log_nodes.c.hash)
        .where(log_nodes.c.level == depth)
        .order_by(log_nodes.c.node_index)
    )
    expected = 0
    for index, stored in rows:
        done.nodes += 1
        if index >= len(level):
            done.problem(f"node ({depth}, {index}): beyond the log's complete subtrees")
            continue
        while expected < index:
            done.problem(f"node ({depth}, {expected}): missing")
            expected += 1
        if stored != level[index]:
            first, last = index << depth, ((index + 1) << depth) - 1
            done.problem(
                f"node ({depth}, {index}): not the hash of entries {first} to {last}"
                if depth
                else f"node (0, {index}): not the hash of entry {index}"
            )
        expected = index + 1
    while expected < len(level):
        done.problem(f"node ({depth}, {expected}): missing")
        expected += 1


# --- offline proof


def bundle(engine: Engine, index: int) -> dict:
    """Everything that proves entry ``index`` is in the log, for offline verification: the
    leaf, its inclusion proof in the latest checkpoint the witnesses cosigned (or, none
    covering it, the latest checkpoint), that checkpoint and its cosignatures."""
    leaf, _ = entry(engine, index)
    with engine.connect() as conn:
        cosigned = conn.execute(
            select(func.max(cosignatures.c.size)).where(cosignatures.c.size > index)
        ).scalar()
    if cosigned is None:
        tree_size, signed = current_checkpoint(engine)
    else:
        tree_size, signed = cosigned, signed_checkpoint(engine, cosigned)
    proof = inclusion(engine, index, tree_size)
    return {
        "format": BUNDLE_FORMAT,
        "index": index,
        "leaf": b64(leaf),
        "proof": [b64(h) for h in proof.proof],
        "checkpoint": signed,
        "cosignatures": cosignature_lines(engine, tree_size),
    }


@dataclass
class Verdict:
    ok: bool
    problems: list[str]
    origin: str | None = None
    size: int | None = None
    index: int | None = None
    entry: dict | None = None
    witnesses: list[str] = field(default_factory=list)  # whose cosignatures verified
    document: bool | None = None  # the document given is the one registered (None: not given)

    def as_dict(self) -> dict:
        return asdict(self)


def verify_bundle(
    bundle: dict,
    log_vkey: str,
    witness_vkeys: Iterable[str] = (),
    document_bytes: bytes | None = None,
    salt: bytes | None = None,
) -> Verdict:
    """Whether a bundle proves its entry is in the log whose key is ``log_vkey``, cosigned by
    every witness of ``witness_vkeys``, and (given the document and its salt) that the entry
    is that document's. Needs neither the store nor a server."""
    try:
        if bundle.get("format") != BUNDLE_FORMAT:
            raise LogError(f"format {bundle.get('format')!r}: expected {BUNDLE_FORMAT!r}")
        signed = str(bundle["checkpoint"])
        stated, _ = note.open_checkpoint(signed, [note.Verifier(log_vkey)])
        index, leaf = int(bundle["index"]), unb64(bundle["leaf"], "leaf")
        proof = [unb64(h, "a proof hash") for h in bundle["proof"]]
        merkle.verify_inclusion(merkle.leaf_hash(leaf), index, stated.size, proof, stated.root)
        said = decode_leaf(leaf)
    except KeyError as error:
        return Verdict(False, [f"the bundle has no {error} field"])
    except (LogError, note.NoteError, merkle.ProofError, TypeError, ValueError) as error:
        return Verdict(False, [str(error)])
    verdict = Verdict(True, [], stated.origin, stated.size, index, said.as_dict())
    lines = [str(line) for line in bundle.get("cosignatures", [])]
    for vkey in witness_vkeys:
        witness = note.CosignatureVerifier(vkey)
        try:
            note.open_note(note_text(signed) + "\n" + "".join(lines), [witness])
            verdict.witnesses.append(witness.name)
        except note.NoteError as error:
            verdict.problems.append(f"witness {witness.name}: no valid cosignature ({error})")
    if document_bytes is not None:
        if salt is None:
            verdict.problems.append("a document is checked with its salt: expected the salt")
        else:
            digest = hashlib.sha256(document_bytes).digest()
            verdict.document = salted_hash(salt, digest) == said.salted_hash
            if not verdict.document:
                verdict.problems.append(
                    f"the document (SHA-256 {digest.hex()}) with this salt is not the one "
                    f"registered at entry {index}"
                )
    verdict.ok = not verdict.problems
    return verdict
