"""Tables of the store, in SQLAlchemy Core. Money columns hold integer hundredths."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Date,
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
    and_,
)

from tamis.declarations import DECLARATION_FIELDS, ITEM_FIELDS, Field, Kind, column_name

metadata = MetaData()
MAX_ID = 2_147_483_647  # a SQL INTEGER: larger ids cannot exist, and must not reach the driver

_SQL_TYPES = {
    Kind.TEXT: Text,
    Kind.CODE: lambda: String(64),
    Kind.INTEGER: Integer,
    Kind.DECIMAL: Float,
    Kind.SIGNED: Float,
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


def lodgement() -> Column:
    """The declaration's lodgement, repeated on its items and decisions: on PostgreSQL the
    three tables are partitioned by its month (see ``tamis.store.partitions``)."""
    return Column("lodged_at", DateTime, nullable=True, comment="the declaration's lodgement")


def lodged_with(rows, declaration) -> ColumnElement:
    """``rows`` (items or decisions) of ``declaration``: the same id and lodgement, so that
    on PostgreSQL only the declaration's month of them is read."""
    return and_(
        rows.c.declaration_id == declaration.c.declaration_id,
        rows.c.lodged_at == declaration.c.lodged_at,
    )


def lodged_within(since, until, *lodged_at: ColumnElement) -> list[ColumnElement]:
    """Each ``lodged_at`` column in [since, until); either bound may be left open (None)."""
    return [
        *(c >= since for c in lodged_at if since is not None),
        *(c < until for c in lodged_at if until is not None),
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
    # covering: an importer's history and latest declarations are read from the index alone
    Index(
        "ix_declarations_importer_lodged",
        "importer_id",
        "lodged_at",
        "declaration_id",
        "importer_name",
    ),
    Index("ix_declarations_office_lodged", "office", "lodged_at"),
    Index("ix_declarations_declarant_id", "declarant_id"),
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
    lodgement(),
    *provenance(),
    Index("ix_items_hs_code_declaration", "hs_code", "declaration_id"),  # covering: lists
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
    Column("case_id", Integer, nullable=True, comment="the case it closed, if any"),
    Column("corrected_hs_code", String(10), nullable=True),
    Column("corrected_origin", String(2), nullable=True),
    Column("corrected_customs_value_minor", BigInteger, nullable=True),
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
    Column("selection_chance", Float, nullable=True, comment="its chance of being inspected"),
    Column("combiner", String(32), nullable=True, comment="weights or learnt:<model version>"),
    lodgement(),
    # A declaration's latest decision straight from the index, whatever the planner's
    # statistics say (PostgreSQL would otherwise walk the primary key backwards).
    Index("ix_decisions_declaration_latest", "declaration_id", "decision_id"),
    Index("ix_decisions_score", "score", "declaration_id"),  # lists by score
)

capacity_locks = Table(
    "capacity_locks",
    metadata,
    Column("office", String(64), primary_key=True, comment="'' for declarations with none"),
    Column("day", Date, primary_key=True),
    Column("taken", Integer, nullable=False, comment="lodgements that held it"),
)

assessed_parts = Table(
    "assessed_parts",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column(
        "attempt", String(64), nullable=False, comment="the attempt whose decisions were recorded"
    ),
    Column("summary", Text, nullable=False, comment="its counts, as JSON"),
    Column("recorded_at", DateTime, nullable=False),
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

# The targeting centre: users, the audit trail, cases, watchlists, post-clearance audit and
# mutual assistance.

users = Table(
    "users",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("partner", String(64), nullable=True, comment="the administration a partner is"),
    Column("office", String(64), nullable=True, comment="the customs office the user works at"),
    Column("password_hash", Text, nullable=False),
    Column("active", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("password_set_at", DateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True, comment="sha256 of the bearer token"),
    Column("user_id", Integer, ForeignKey("users.user_id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked", Integer, nullable=False),
)

audit_trail = Table(
    "audit_trail",
    metadata,
    Column("entry_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("entity_id", String(128), nullable=True),
    Column("before", Text, nullable=True, comment="JSON"),
    Column("after", Text, nullable=True, comment="JSON"),
    Index("ix_audit_trail_entity", "entity", "entity_id"),
    Index("ix_audit_trail_actor", "actor", "at"),
    Index("ix_audit_trail_action", "action", "at"),
    Index("ix_audit_trail_at", "at"),
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(64), nullable=True),
    Column("office", String(64), nullable=True),
    Column("origin", String(16), nullable=False, comment="decision, watchlist or analyst"),
    Column("reason", Text, nullable=False),
    Column("score", Float, nullable=True),
    Column("revenue_at_stake_minor", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("assignee", String(64), nullable=True),
    Column("opened_by", String(128), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime, nullable=True),
    Column("closure_reason", Text, nullable=True, comment="closed without inspection: why"),
    Index("ix_cases_queue", "office", "status"),
    Index("ix_cases_status_score", "status", "score"),
    Index("ix_cases_declaration_id", "declaration_id"),
)

case_notes = Table(
    "case_notes",
    metadata,
    Column("note_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.case_id"), nullable=False),
    Column("author", String(64), nullable=False),
    Column("written_at", DateTime, nullable=False),
    Column("text", Text, nullable=False),
)

attachments = Table(
    "attachments",
    metadata,
    Column("attachment_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.case_id"), nullable=False),
    Column("filename", Text, nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False, comment="also the file's name in storage"),
    Column("uploaded_by", String(64), nullable=False),
    Column("uploaded_at", DateTime, nullable=False),
)

watchlists = Table(
    "watchlists",
    metadata,
    Column("watchlist_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("reason", Text, nullable=False),
    Column("hs_prefixes", Text, nullable=False, comment="JSON list"),
    Column("origins", Text, nullable=False, comment="JSON list"),
    Column("importers", Text, nullable=False, comment="JSON list"),
    Column("keywords", Text, nullable=False, comment="JSON list"),
    Column("valid_from", DateTime, nullable=True),
    Column("valid_to", DateTime, nullable=True),
    Column("route_channel", String(8), nullable=True, comment="channel its hits go to at least"),
    Column("active", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

watchlist_hits = Table(
    "watchlist_hits",
    metadata,
    Column("hit_id", Integer, primary_key=True, autoincrement=True),
    Column("watchlist_id", Integer, ForeignKey("watchlists.watchlist_id"), nullable=False),
    Column("declaration_id", String(64), nullable=False),
    Column("matched", Text, nullable=False, comment="what matched, readable"),
    Column("hit_at", DateTime, nullable=False),
    UniqueConstraint("watchlist_id", "declaration_id", name="uq_watchlist_hit"),
)

audit_selections = Table(
    "audit_selections",
    metadata,
    Column("selection_id", Integer, primary_key=True, autoincrement=True),
    Column("selected_at", DateTime, nullable=False),
    Column("selected_by", String(64), nullable=False),
    Column("budget", Integer, nullable=False),
    Column("period_from", DateTime, nullable=True),
    Column("period_to", DateTime, nullable=True),
    Column("candidates", Integer, nullable=False, comment="released declarations considered"),
)

audit_selection_items = Table(
    "audit_selection_items",
    metadata,
    Column("selection_id", Integer, ForeignKey("audit_selections.selection_id"), primary_key=True),
    Column("declaration_id", String(64), primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("revenue_at_stake_minor", BigInteger, nullable=True),
    Column("explanation", Text, nullable=False),
)

assistance_requests = Table(
    "assistance_requests",
    metadata,
    Column("request_id", Integer, primary_key=True, autoincrement=True),
    Column("direction", String(8), nullable=False, comment="outgoing or incoming"),
    Column("partner", String(64), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.case_id"), nullable=True),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("answer", Text, nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# The scoreboard: each declaration's current contribution, and sums of them kept up to date
# in the transaction that changes a decision or an outcome (see tamis.scoreboard).

scoreboard_declarations = Table(
    "scoreboard_declarations",
    metadata,
    Column("declaration_id", String(64), primary_key=True),
    Column("day", Date, nullable=False, comment="day of lodgement"),
    Column("month", String(7), nullable=False, comment="YYYY-MM of lodgement"),
    Column("office", String(64), nullable=False),
    Column("importer_id", String(64), nullable=False),
    Column("chapters", Text, nullable=False, comment="HS chapters of its items, comma-separated"),
    Column("channel", String(8), nullable=False, comment="current channel; none: not assessed"),
    Column("risky", Integer, nullable=False, comment="1: orange or red"),
    Column("revenue_at_stake_minor", BigInteger, nullable=False),
    Column("random_selected", Integer, nullable=False),
    Column("flagged", Text, nullable=False, comment="detectors that flagged it, comma-separated"),
    Column("inspected", Integer, nullable=False),
    Column("hits", Integer, nullable=False, comment="1: an inspection found it non-compliant"),
    Column("revenue_recovered_minor", BigInteger, nullable=False),
    Column("fraud_notices", Integer, nullable=False),
    Index("ix_scoreboard_declarations_channel_of", "declaration_id", "channel"),
)


scoreboard_pending = Table(
    "scoreboard_pending",
    metadata,
    Column("declaration_id", String(64), primary_key=True),
    comment="declarations changed since the sums were last brought up to date",
)


def _sums(name: str, *keys: Column, measures: tuple[str, ...]) -> Table:
    return Table(name, metadata, *keys, *(Column(m, BigInteger, nullable=False) for m in measures))


# Keys start with the office: a scoreboard reads one office (or "*", every office) over a
# range of days or months, a contiguous stretch of the primary key.
scoreboard_days = _sums(
    "scoreboard_days",
    Column("office", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("channel", String(8), primary_key=True),
    measures=("declarations", "random_selected", "revenue_at_stake_minor", "inspected", "hits",
              "revenue_recovered_minor", "fraud_notices"),
)  # fmt: skip
scoreboard_detectors = _sums(
    "scoreboard_detectors",
    Column("office", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("detector", String(32), primary_key=True),
    measures=("flagged", "inspected", "hits", "revenue_recovered_minor"),
)
RISK_MEASURES = ("declarations", "risky", "inspected", "hits", "revenue_at_stake_minor",
                 "revenue_recovered_minor")  # fmt: skip


def _risk_sums(name: str, key: Column) -> Table:
    """Sums per month, office and ``key`` (importer, HS chapter): who is riskiest."""
    office = Column("office", String(64), primary_key=True)
    month = Column("month", String(7), primary_key=True)
    return _sums(name, office, month, key, measures=RISK_MEASURES)


scoreboard_importers = _risk_sums(
    "scoreboard_importers", Column("importer_id", String(64), primary_key=True)
)
scoreboard_chapters = _risk_sums(
    "scoreboard_chapters", Column("chapter", String(2), primary_key=True)
)
