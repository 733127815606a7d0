"""Tables of the store, in SQLAlchemy Core. Money columns hold integer hundredths."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tamis.declarations import DECLARATION_FIELDS, ITEM_FIELDS, Field, Kind, column_name

metadata = MetaData()

_SQL_TYPES = {
    Kind.TEXT: Text,
    Kind.CODE: lambda: String(64),
    Kind.INTEGER: Integer,
    Kind.DECIMAL: Float,
    Kind.MONEY: BigInteger,
    Kind.DATETIME: DateTime,
    Kind.COUNTRY: lambda: String(2),
    Kind.CURRENCY: lambda: String(3),
    Kind.HS_CODE: lambda: String(10),
}


def field_column(field: Field, primary_key: bool = False) -> Column:
    return Column(
        column_name(field),
        _SQL_TYPES[field.kind](),
        primary_key=primary_key,
        nullable=not field.required,
        comment=field.wco,
    )


def provenance() -> list[Column]:
    return [
        Column("source_id", String(64), nullable=True, comment="sha256 of the source file"),
        Column("source_row", Integer, nullable=True, comment="data row in the source file"),
    ]


sources = Table(
    "sources",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("path", Text, nullable=False),
    Column("profile", String(128), nullable=False),
    Column("first_ingested_at", DateTime, nullable=False),
    Column("last_ingested_at", DateTime, nullable=False),
    Column("received", Integer, nullable=True),
    Column("accepted", Integer, nullable=True),
    Column("rejected", Integer, nullable=True),
    Column("completed", Integer, nullable=False, default=0),
)

declarations = Table(
    "declarations",
    metadata,
    *(field_column(f, primary_key=f.name == "declaration_id") for f in DECLARATION_FIELDS),
    *provenance(),
    Index("ix_declarations_lodged_at", "lodged_at"),
    Index("ix_declarations_importer_id", "importer_id"),
)

items = Table(
    "items",
    metadata,
    Column(
        "declaration_id",
        String(64),
        ForeignKey("declarations.declaration_id"),
        primary_key=True,
    ),
    *(field_column(f, primary_key=f.name == "item_number") for f in ITEM_FIELDS),
    *provenance(),
    Index("ix_items_hs_code", "hs_code"),
)

inspection_outcomes = Table(
    "inspection_outcomes",
    metadata,
    Column("outcome_id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(64), ForeignKey("declarations.declaration_id"), nullable=False),
    Column("item_number", Integer, nullable=True, comment="empty: the whole declaration"),
    Column("inspected_at", DateTime, nullable=False),
    Column("inspector", Text, nullable=True),
    Column("result", String(16), nullable=False, comment="compliant / non_compliant"),
    Column("fraud_type", String(32), nullable=True),
    Column("revenue_recovered_minor", BigInteger, nullable=True),
    Column("fraud_notice", String(64), nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    *provenance(),
    UniqueConstraint("source_id", "source_row", name="uq_outcome_source_row"),
    Index("ix_outcomes_declaration_id", "declaration_id"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(64), nullable=False),
    Column("source_path", Text, nullable=False),
    Column("source_row", Integer, nullable=False, comment="data row (1 = first after header)"),
    Column("record_key", Text, nullable=True, comment="declaration id / item number"),
    Column("field", String(64), nullable=True),
    Column("value", Text, nullable=True),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("record", Text, nullable=True, comment="the raw record as read, in JSON"),
    Column("quarantined_at", DateTime, nullable=False),
    UniqueConstraint("source_id", "source_row", name="uq_quarantine_source_row"),
)

rule_sets = Table(
    "rule_sets",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", DateTime, nullable=False),
    Column("author", String(128), nullable=False),
    Column("comment", Text, nullable=True),
    Column("rules", Text, nullable=False, comment="the whole rule set, JSON"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(64), nullable=False),
    Column("decided_at", DateTime, nullable=False),
    Column("mode", String(16), nullable=False, comment="lodgement or batch"),
    Column("channel", String(8), nullable=False),
    Column("score", Float, nullable=False),
    Column("reasons", Text, nullable=False, comment="JSON list"),
    Column("signals", Text, nullable=False, comment="JSON: every detector's signal"),
    Column("revenue_at_stake_minor", BigInteger, nullable=True),
    Column("forced_channel", String(8), nullable=True),
    Column("random_draw", Float, nullable=False),
    Column("random_rate", Float, nullable=False),
    Column("random_selected", Integer, nullable=False),
    Column("capacity_held", Integer, nullable=False),
    Column("rule_set_version", Integer, nullable=True),
    Column("model_version", String(64), nullable=True),
    Column("routing", Text, nullable=False, comment="JSON: the routing configuration used"),
    Index("ix_decisions_declaration_id", "declaration_id"),
)

channel_changes = Table(
    "channel_changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", Integer, ForeignKey("decisions.decision_id"), nullable=False),
    Column("declaration_id", String(64), nullable=False),
    Column("changed_at", DateTime, nullable=False),
    Column("officer", String(128), nullable=False),
    Column("from_channel", String(8), nullable=False),
    Column("to_channel", String(8), nullable=False),
    Column("reason", Text, nullable=False),
)
