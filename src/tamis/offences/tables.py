"""Tables of offences: the records, their parties and declarations, the schedule versions
they were computed with, settlements, instalments, payments, and the per-office numbering."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tamis.store.tables import metadata

offences = Table(
    "offences",
    metadata,
    Column("offence_id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(96), nullable=False, unique=True, comment="office/year/sequence"),
    Column("office", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("offence_date", Date, nullable=False, comment="the day of the facts"),
    Column("origin", String(16), nullable=False, comment="inspection, or officer"),
    Column("case_id", Integer, nullable=True),
    Column("found_by", String(64), nullable=False, comment="the officer who found it"),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("facts", Text, nullable=False),
    Column("fraud_type", String(16), nullable=True),
    Column("goods", Text, nullable=True),
    Column("hs_code", String(10), nullable=True),
    Column("quantity", Numeric(18, 3), nullable=True),
    Column("unit", String(16), nullable=True),
    Column("route", String(128), nullable=True, comment="countries or places, as 'MA > ES'"),
    Column("concealment", String(128), nullable=True),
    Column("detection_method", String(64), nullable=True),
    Column("seized", Integer, nullable=False, comment="1: goods seized"),
    Column("seized_quantity", Numeric(18, 3), nullable=True),
    Column("storage_place", String(128), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("duties_evaded_minor", BigInteger, nullable=False),
    Column("goods_value_minor", BigInteger, nullable=False),
    Column("schedule_version", String(64), nullable=False),
    Column("class_code", String(16), nullable=False),
    Column("severity", Integer, nullable=False),
    Column("repeat_of", String(96), nullable=True, comment="the earlier offence aggravating it"),
    Column("penalty_minor", BigInteger, nullable=False),
    Column("penalty_basis", Text, nullable=False, comment="JSON: how the penalty was reached"),
    Column("confiscation", Integer, nullable=False),
    Column("limitation_date", Date, nullable=False, comment="the action lapses on this day"),
    Column("status", String(24), nullable=False),
    Column("due_minor", BigInteger, nullable=True, comment="settled or judged: what is owed"),
    Column("paid_minor", BigInteger, nullable=False),
    Column("court", String(128), nullable=True),
    Column("referred_at", DateTime, nullable=True),
    Column("judged_on", Date, nullable=True),
    Column("judgment", Text, nullable=True),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("office", "year", "sequence", name="uq_offence_number"),
)
Index("ix_offences_status", offences.c.status, offences.c.limitation_date)
Index("ix_offences_date", offences.c.offence_date)

offence_parties = Table(
    "offence_parties",
    metadata,
    Column("party_id", Integer, primary_key=True, autoincrement=True),
    Column("offence_id", Integer, ForeignKey("offences.offence_id"), nullable=False),
    Column("role", String(16), nullable=False, comment="importer, declarant, carrier, person"),
    Column("customs_id", String(64), nullable=True),
    Column("name", String(256), nullable=False),
    Column("address", String(512), nullable=True),
    Column("entity_id", String(64), nullable=True, comment="resolved entity when recorded"),
)
Index("ix_offence_parties_offence", offence_parties.c.offence_id)
Index("ix_offence_parties_customs_id", offence_parties.c.customs_id)
Index("ix_offence_parties_entity", offence_parties.c.entity_id)

offence_declarations = Table(
    "offence_declarations",
    metadata,
    Column("offence_id", Integer, ForeignKey("offences.offence_id"), primary_key=True),
    Column("declaration_id", String(64), primary_key=True),
)
Index("ix_offence_declarations_declaration", offence_declarations.c.declaration_id)

offence_schedules = Table(
    "offence_schedules",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("body", Text, nullable=False, comment="JSON: the version as first used"),
    Column("digest", String(64), nullable=False),
    Column("stored_at", DateTime, nullable=False),
)

offence_counters = Table(
    "offence_counters",
    metadata,
    Column("office", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

settlements = Table(
    "offence_settlements",
    metadata,
    Column("settlement_id", Integer, primary_key=True, autoincrement=True),
    Column("offence_id", Integer, ForeignKey("offences.offence_id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, comment="proposed, approved, accepted..."),
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at", DateTime, nullable=False),
    Column("decided_by", String(64), nullable=True, comment="the supervisor"),
    Column("decided_at", DateTime, nullable=True),
    Column("accepted_at", DateTime, nullable=True),
    Column("note", Text, nullable=True),
)
Index("ix_offence_settlements_offence", settlements.c.offence_id)

instalments = Table(
    "offence_instalments",
    metadata,
    Column("offence_id", Integer, ForeignKey("offences.offence_id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("due_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
)

payments = Table(
    "offence_payments",
    metadata,
    Column("payment_id", Integer, primary_key=True, autoincrement=True),
    Column("offence_id", Integer, ForeignKey("offences.offence_id"), nullable=False),
    Column("reference", String(64), nullable=False, comment="the receipt's number"),
    Column("paid_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    UniqueConstraint("offence_id", "reference", name="uq_offence_payment_once"),
)
