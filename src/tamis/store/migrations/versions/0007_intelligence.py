"""intelligence sources, resolved entities, analysts' decisions

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = (
    "network_scores",
    "trademarks",
    "tax_returns",
    "payments",
    "manifests",
    "entity_records",
    "entity_links",
    "entity_decisions",
)


def upgrade() -> None:
    op.create_table(
        "entity_decisions",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_key_l", sa.String(length=64), nullable=False),
        sa.Column("record_key_r", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False, comment="confirm or split"),
        sa.Column("analyst", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_table(
        "entity_links",
        sa.Column("record_key_l", sa.String(length=64), nullable=False),
        sa.Column("record_key_r", sa.String(length=64), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column(
            "how", sa.String(length=16), nullable=False, comment="splink, confirmed or split"
        ),
        sa.PrimaryKeyConstraint("record_key_l", "record_key_r"),
    )
    op.create_table(
        "entity_records",
        sa.Column(
            "record_key",
            sa.String(length=64),
            nullable=False,
            comment="source + sha1 of its fields",
        ),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column(
            "customs_id",
            sa.String(length=64),
            nullable=True,
            comment="importer id, where the source has it",
        ),
        sa.Column("name", sa.Text(), nullable=False, comment="as the source spells it"),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("tax_number", sa.String(length=64), nullable=True),
        sa.Column(
            "entity_id", sa.String(length=64), nullable=False, comment="the resolved company"
        ),
        sa.Column("resolved_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("record_key"),
    )
    op.create_index("ix_entity_records_entity_id", "entity_records", ["entity_id"], unique=False)
    op.create_table(
        "manifests",
        sa.Column(
            "bill_number",
            sa.String(length=64),
            nullable=False,
            comment="T010 TransportContractDocument/ID (bill of lading)",
        ),
        sa.Column(
            "declaration_id",
            sa.String(length=64),
            nullable=True,
            comment="the declaration that cleared the bill, if any",
        ),
        sa.Column("carrier", sa.Text(), nullable=True, comment="R011 Carrier/Name"),
        sa.Column(
            "vessel_or_flight",
            sa.Text(),
            nullable=True,
            comment="T005 BorderTransportMeans/ID and voyage",
        ),
        sa.Column("consignee_name", sa.Text(), nullable=False, comment="R021 Consignee/Name"),
        sa.Column("consignee_address", sa.Text(), nullable=True, comment="R020 Consignee/Address"),
        sa.Column(
            "packages",
            sa.Integer(),
            nullable=True,
            comment="G028 Packaging/QuantityQuantity (packages)",
        ),
        sa.Column(
            "gross_mass_kg",
            sa.Float(),
            nullable=False,
            comment="G040 GoodsMeasure/GrossMassMeasure (kg)",
        ),
        sa.Column(
            "goods_description",
            sa.Text(),
            nullable=True,
            comment="G014 Commodity/Description (as manifested)",
        ),
        sa.Column(
            "loading_place", sa.String(length=64), nullable=True, comment="L067 LoadingLocation/ID"
        ),
        sa.Column(
            "arrival_date",
            sa.DateTime(),
            nullable=False,
            comment="T022 arrival date of the means of transport",
        ),
        sa.Column(
            "source_id", sa.String(length=64), nullable=True, comment="sha256 of the source file"
        ),
        sa.Column("source_row", sa.Integer(), nullable=True, comment="data row in the source file"),
        sa.PrimaryKeyConstraint("bill_number"),
    )
    op.create_table(
        "payments",
        sa.Column(
            "payment_id",
            sa.String(length=64),
            nullable=False,
            comment="the bank's transfer reference",
        ),
        sa.Column(
            "value_date", sa.DateTime(), nullable=False, comment="value date of the transfer"
        ),
        sa.Column(
            "payer_id",
            sa.String(length=64),
            nullable=True,
            comment="payer's common company identifier (as customs knows it)",
        ),
        sa.Column(
            "payer_name", sa.Text(), nullable=False, comment="payer's name as the bank holds it"
        ),
        sa.Column(
            "payer_account", sa.String(length=64), nullable=True, comment="payer's account (RIB)"
        ),
        sa.Column("bank", sa.Text(), nullable=True, comment="reporting bank"),
        sa.Column(
            "amount_minor",
            sa.BigInteger(),
            nullable=False,
            comment="amount transferred, in the transfer currency",
        ),
        sa.Column("currency", sa.String(length=3), nullable=False, comment="transfer currency"),
        sa.Column(
            "amount_national_minor",
            sa.BigInteger(),
            nullable=False,
            comment="counter-value in national currency",
        ),
        sa.Column(
            "beneficiary_name", sa.Text(), nullable=True, comment="beneficiary abroad (the seller)"
        ),
        sa.Column(
            "beneficiary_country",
            sa.String(length=2),
            nullable=True,
            comment="beneficiary's country",
        ),
        sa.Column(
            "beneficiary_account",
            sa.String(length=64),
            nullable=True,
            comment="beneficiary's account (IBAN)",
        ),
        sa.Column(
            "declaration_reference",
            sa.String(length=64),
            nullable=True,
            comment="customs declaration the transfer settles",
        ),
        sa.Column(
            "source_id", sa.String(length=64), nullable=True, comment="sha256 of the source file"
        ),
        sa.Column("source_row", sa.Integer(), nullable=True, comment="data row in the source file"),
        sa.PrimaryKeyConstraint("payment_id"),
    )
    op.create_table(
        "tax_returns",
        sa.Column(
            "tax_number",
            sa.String(length=64),
            nullable=False,
            comment="taxpayer number of the tax administration",
        ),
        sa.Column(
            "period_start",
            sa.DateTime(),
            nullable=False,
            comment="first day of the period (quarter)",
        ),
        sa.Column(
            "company_name",
            sa.Text(),
            nullable=False,
            comment="company name as the tax register holds it",
        ),
        sa.Column("company_address", sa.Text(), nullable=True, comment="registered address"),
        sa.Column("phone", sa.String(length=64), nullable=True, comment="telephone"),
        sa.Column(
            "import_purchases_minor",
            sa.BigInteger(),
            nullable=False,
            comment="purchases from imports, national currency",
        ),
        sa.Column(
            "turnover_minor", sa.BigInteger(), nullable=True, comment="turnover, national currency"
        ),
        sa.Column(
            "source_id", sa.String(length=64), nullable=True, comment="sha256 of the source file"
        ),
        sa.Column("source_row", sa.Integer(), nullable=True, comment="data row in the source file"),
        sa.PrimaryKeyConstraint("tax_number", "period_start"),
    )
    op.create_table(
        "trademarks",
        sa.Column(
            "registration_number",
            sa.String(length=64),
            nullable=False,
            comment="trademark registration number",
        ),
        sa.Column("brand", sa.Text(), nullable=False, comment="the mark as registered"),
        sa.Column("owner", sa.Text(), nullable=True, comment="right holder"),
        sa.Column(
            "nice_classes", sa.Text(), nullable=True, comment="Nice classes, separated by ';'"
        ),
        sa.Column(
            "distributor_id",
            sa.String(length=64),
            nullable=False,
            comment="an authorised importer's identifier",
        ),
        sa.Column(
            "distributor_name", sa.Text(), nullable=True, comment="an authorised importer's name"
        ),
        sa.Column("valid_from", sa.DateTime(), nullable=True, comment="authorisation starts"),
        sa.Column("valid_until", sa.DateTime(), nullable=True, comment="authorisation ends"),
        sa.Column(
            "source_id", sa.String(length=64), nullable=True, comment="sha256 of the source file"
        ),
        sa.Column("source_row", sa.Integer(), nullable=True, comment="data row in the source file"),
        sa.PrimaryKeyConstraint("registration_number", "distributor_id"),
    )
    op.create_table(
        "network_scores",
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("pagerank", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("community", sa.Integer(), nullable=False),
        sa.Column("community_size", sa.Integer(), nullable=False),
        sa.Column("community_offenders", sa.Integer(), nullable=False),
        sa.Column("known_offender", sa.Boolean(), nullable=False),
        sa.Column("new_links", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id"),
    )
    op.create_index("ix_manifests_declaration_id", "manifests", ["declaration_id"])
    op.create_index("ix_payments_declaration_reference", "payments", ["declaration_reference"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
