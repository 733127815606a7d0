"""Tables of the documents' transparency log: its entries, the complete subtrees of its
Merkle tree, the checkpoints it signed and the witnesses' cosignatures on them; and, as a
witness of partners' logs, the latest checkpoint seen of each and the evidence of any log
that showed two different views of itself."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)

from tamis.store.tables import metadata

log_head = Table(
    "log_head",
    metadata,
    Column("head_id", Integer, primary_key=True, comment="one row: 1"),
    Column("size", BigInteger, nullable=False, comment="entries appended: held while appending"),
    Column("updated_at", DateTime, nullable=False),
)

log_entries = Table(
    "log_entries",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf", LargeBinary, nullable=False, comment="the entry as hashed (log.encode_leaf)"),
    Column("leaf_hash", LargeBinary(32), nullable=False, comment="RFC 9162: SHA-256(0x00 || leaf)"),
    Column("registered_at", DateTime, nullable=False),
)

log_nodes = Table(
    "log_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False, comment="0: leaves"),
    Column("node_index", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False, comment="of leaves [i*2^level, (i+1)*2^level)"),
)

log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False, comment="the signed note (C2SP tlog-checkpoint)"),
    Column("signed_at", DateTime, nullable=False),
)

cosignatures = Table(
    "cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False, comment="of our checkpoint"),
    Column("witness", String(255), primary_key=True, comment="the witness key's name"),
    Column("line", Text, nullable=False, comment="the signature line (C2SP tlog-cosignature)"),
    Column("url", String(512), nullable=True, comment="where it was asked for"),
    Column("at", DateTime, nullable=False),
)

witness_state = Table(
    "witness_state",
    metadata,
    Column("origin", String(255), primary_key=True, comment="a partner's log"),
    Column("size", BigInteger, nullable=False, comment="of the latest checkpoint cosigned"),
    Column("root", LargeBinary(32), nullable=True),
    Column("note", Text, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

witness_evidence = Table(
    "witness_evidence",
    metadata,
    Column("evidence_id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(255), nullable=False),
    Column("kind", String(16), nullable=False, comment="split-view, or inconsistent"),
    Column("size", BigInteger, nullable=False, comment="of the checkpoint refused"),
    Column("note_a", Text, nullable=True, comment="the checkpoint we had cosigned"),
    Column("note_b", Text, nullable=False, comment="the one refused, with its proof"),
    Column("at", DateTime, nullable=False),
)
Index("ix_witness_evidence_origin", witness_evidence.c.origin, witness_evidence.c.at)
