"""Tables of the value-reference database, on the store's metadata.

Unit values are per unit of a *basis*: ``KG`` (per net kilogram) or the tariff quantity unit
(``U``, ``L``, ...), in national currency. They and the spreads are statistics, not money
ledgers, so they are floats. Spreads are in natural-log units (0.10 ≈ ±10 %).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Table, Text

from tamis.store.tables import metadata

value_references = Table(
    "value_references",
    metadata,
    Column("reference_id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(128), nullable=False, comment="'history' or the analyst's source"),
    Column("level", String(16), nullable=False, comment="e.g. hs10/origin, hs6/region, hs4/all"),
    Column("hs_code", String(10), nullable=False, comment="HS code or prefix at that level"),
    Column("origin", String(8), nullable=False, comment="country, region code or '*'"),
    Column("basis", String(8), nullable=False, comment="KG or the tariff quantity unit"),
    Column("window_start", DateTime, nullable=True),
    Column("window_end", DateTime, nullable=True, comment="exclusive"),
    Column("n", Integer, nullable=True, comment="items behind it, after trimming"),
    Column("trimmed", Integer, nullable=True, comment="items set aside as outliers"),
    Column("median_uv", Float, nullable=False),
    Column("q1_uv", Float, nullable=True),
    Column("q3_uv", Float, nullable=True),
    Column("mad_log", Float, nullable=True, comment="MAD of log unit value, scaled to sigma"),
    Column("lower_spread_log", Float, nullable=True, comment="lower semi-MAD, scaled to sigma"),
    Column(
        "upper_spread_log",
        Float,
        nullable=True,
        comment="max(upper semi-MAD, (P90 - median) / 1.2816)",
    ),
    Column("trend_log", Float, nullable=True, comment="change of log median per month"),
    Column("catch_all", Integer, nullable=False, comment="1: an 'other' line, tolerance widened"),
    Column("note", Text, nullable=True),
    Column("built_at", DateTime, nullable=False),
    Column("superseded_at", DateTime, nullable=True, comment="empty: in force"),
    Index("ix_value_references_lookup", "hs_code", "origin", "basis"),
)

value_reference_uses = Table(
    "value_reference_uses",
    metadata,
    Column("use_id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(64), nullable=False),
    Column("item_number", Integer, nullable=False),
    Column("reference_id", Integer, nullable=False),
    Column("basis", String(8), nullable=False),
    Column("declared_uv", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("direction", String(8), nullable=False, comment="under or over"),
    Column("used_at", DateTime, nullable=False),
    Index("ix_value_reference_uses_declaration_id", "declaration_id"),
)

value_histogram = Table(
    "value_histogram",
    metadata,
    Column("month", Integer, nullable=False, comment="yyyymm of lodgement"),
    Column("hs_code", String(10), nullable=False),
    Column("origin", String(2), nullable=False),
    Column("basis", String(8), nullable=False),
    Column("bin", Integer, nullable=False, comment="round(ln(unit value) / BIN_WIDTH)"),
    Column("items", Integer, nullable=False),
    Column("built_at", DateTime, nullable=False),
    Index("ix_value_histogram_month", "month"),
    Index("ix_value_histogram_cell", "hs_code", "origin", "basis"),
    # covering: a value chart reads its reference's bins from the index alone
    Index("ix_value_histogram_chart", "basis", "hs_code", "origin", "month", "bin", "items"),
)
