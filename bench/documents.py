"""The documents log as a user runs it, on a fresh SQLite store (or ``--url``):

- registrations appended with their checkpoint: each registration its own transaction (as
  an upload is), a signed checkpoint after every ``--checkpoint-every`` of them;
- inclusion proofs served (read from the stored subtrees) and checked;
- the size of a proof, and of an offline bundle, for a log of ``--proof-log`` entries.

    .venv/bin/python bench/documents.py [--entries 20000] [--proofs 20000]
                                        [--proof-log 1000000] [--url sqlite:///...]

Targets: ≥ 1,000 registrations/s with their checkpoint on SQLite; ≥ 10,000 inclusion proofs/s
served; a proof for a log of 1,000,000 entries under 1 KB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from tamis.documents import log, merkle
from tamis.progress import progress_bar
from tamis.store import open_store


def register_all(engine, entries: int, every: int) -> float:
    started = time.perf_counter()
    with progress_bar("registrations") as update:
        for n in range(entries):
            with engine.begin() as conn:
                digest = hashlib.sha256(f"document {n}".encode()).digest()
                log.register(conn, digest, "invoice", f"D-{n:08d}")
            if (n + 1) % every == 0 or n + 1 == entries:
                log.checkpoint(engine)
                update(n + 1, entries)
    return entries / (time.perf_counter() - started)


def serve_proofs(engine, proofs: int, size: int) -> float:
    root = log.root(engine, size)
    picks = random.Random(0).choices(range(size), k=proofs)
    started = time.perf_counter()
    served = [log.inclusion(engine, index, size) for index in picks]
    rate = proofs / (time.perf_counter() - started)
    for index, found in zip(picks, served, strict=True):  # every one served is a proof
        merkle.verify_inclusion(found.leaf_hash, index, size, found.proof, root)
    return rate


def proof_sizes(size: int) -> tuple[int, int]:
    """(inclusion proof bytes, the proof's hashes as JSON) of the longest proof among a
    log's first, middle and last entries, the log of ``size`` entries built in memory from
    the same tree code."""
    tree = merkle.MemoryTree()
    for n in range(size):
        tree.append_hash(hashlib.sha256(n.to_bytes(8, "big")).digest())
    proof = max((tree.inclusion_proof(i) for i in (0, size // 2, size - 1)), key=len)
    return sum(len(h) for h in proof), len(json.dumps([log.b64(h) for h in proof]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--checkpoint-every", type=int, default=1_000)
    parser.add_argument("--proofs", type=int, default=20_000)
    parser.add_argument("--proof-log", type=int, default=1_000_000)
    parser.add_argument("--url", default=None, help="a store (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("TAMIS_KEYS_DIR", str(Path(folder) / "keys"))
        engine = open_store(args.url or f"sqlite:///{Path(folder) / 'log.db'}")
        appended = register_all(engine, args.entries, args.checkpoint_every)
        size = log.current_size(engine)
        served = serve_proofs(engine, args.proofs, size)
        problems = log.fsck(engine).problems
    binary, as_json = proof_sizes(args.proof_log)
    print(f"store: {engine.dialect.name}; log of {size:,} entries")
    print(f"registrations appended with their checkpoint: {appended:,.0f}/s (target ≥ 1,000)")
    print(f"inclusion proofs served (each then checked): {served:,.0f}/s (target ≥ 10,000)")
    print(f"proof for a log of {args.proof_log:,} entries: {binary} bytes "
          f"({as_json} as base64 JSON) (target < 1 KB)")  # fmt: skip
    print(f"fsck after the run: {'clean' if not problems else problems[:3]}")
    met = appended >= 1_000 and served >= 10_000 and binary < 1024 and not problems
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
