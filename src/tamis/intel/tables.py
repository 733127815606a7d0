"""Tables of the intelligence sources, resolved entities and analysts' decisions."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Index, Integer, String, Table, Text

from tamis.intel.sources import SOURCES, Source
from tamis.store.tables import field_column, metadata, provenance


def _source_table(source: Source) -> Table:
    return Table(
        source.name,
        metadata,
        *(field_column(f, primary_key=f.name in source.key) for f in source.fields),
        *provenance(),
    )


SOURCE_TABLES: dict[str, Table] = {name: _source_table(s) for name, s in SOURCES.items()}

entity_records = Table(
    "entity_records",
    metadata,
    Column("record_key", String(64), primary_key=True, comment="source + sha1 of its fields"),
    Column("source", String(32), nullable=False),
    Column("customs_id", String(64), nullable=True, comment="importer id, where the source has it"),
    Column("name", Text, nullable=False, comment="as the source spells it"),
    Column("address", Text, nullable=True),
    Column("phone", String(64), nullable=True),
    Column("account", String(64), nullable=True),
    Column("tax_number", String(64), nullable=True),
    Column("entity_id", String(64), nullable=False, comment="the resolved company"),
    Column("resolved_at", DateTime, nullable=False),
    Index("ix_entity_records_entity_id", "entity_id"),
)

entity_links = Table(
    "entity_links",
    metadata,
    Column("record_key_l", String(64), primary_key=True),
    Column("record_key_r", String(64), primary_key=True),
    Column("match_probability", Float, nullable=False),
    Column("how", String(16), nullable=False, comment="splink, confirmed, or exact:<identifier>"),
)

entity_decisions = Table(
    "entity_decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("record_key_l", String(64), nullable=False),
    Column("record_key_r", String(64), nullable=False),
    Column("decision", String(8), nullable=False, comment="confirm or split"),
    Column("analyst", String(128), nullable=False),
    Column("reason", Text, nullable=True),
    Column("decided_at", DateTime, nullable=False),
)

Index("ix_manifests_declaration_id", SOURCE_TABLES["manifests"].c.declaration_id)
Index("ix_payments_declaration_reference", SOURCE_TABLES["payments"].c.declaration_reference)

network_scores = Table(
    "network_scores",
    metadata,
    Column("entity_id", String(64), primary_key=True, comment="an importer (resolved)"),
    Column("pagerank", Float, nullable=False, comment="personalised from known offenders"),
    Column("percentile", Float, nullable=False),
    Column("risk", Float, nullable=False, comment="in [0, 1], from the percentile"),
    Column("community", Integer, nullable=False),
    Column("community_size", Integer, nullable=False),
    Column("community_offenders", Integer, nullable=False),
    Column("known_offender", Boolean, nullable=False),
    Column("new_links", Integer, nullable=False, comment="ties first seen in the last 90 days"),
    Column("computed_at", DateTime, nullable=False),
)

network_ties = Table(
    "network_ties",
    metadata,
    Column("importer_id", String(64), primary_key=True, comment="an importer (resolved)"),
    Column("kind", String(16), primary_key=True, comment="declarant, supplier, address, ..."),
    Column("value", Text, primary_key=True, comment="the declarant, the address, ..."),
    Column("first_seen", DateTime, nullable=True),
    Column("n", Integer, nullable=False, comment="records showing the tie"),
    Column("shared_by", Integer, nullable=False, comment="importers with this tie"),
    Column("importer_ties", Integer, nullable=False, comment="ties of this importer"),
    Index("ix_network_ties_kind_value", "kind", "value"),
    comment="the graph of the last network build, read by the neighbourhood of an entity",
)
