"""offences: records, parties, declarations, the schedule versions used, settlements,
instalments, payments and the numbering per office and year

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offences",
        sa.Column("offence_id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(length=96), nullable=False, unique=True),
        sa.Column("office", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("offence_date", sa.Date(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("found_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("fraud_type", sa.String(length=16), nullable=True),
        sa.Column("goods", sa.Text(), nullable=True),
        sa.Column("hs_code", sa.String(length=10), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("route", sa.String(length=128), nullable=True),
        sa.Column("concealment", sa.String(length=128), nullable=True),
        sa.Column("detection_method", sa.String(length=64), nullable=True),
        sa.Column("seized", sa.Integer(), nullable=False),
        sa.Column("seized_quantity", sa.Numeric(precision=18, scale=3), nullable=True),
        sa.Column("storage_place", sa.String(length=128), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("duties_evaded_minor", sa.BigInteger(), nullable=False),
        sa.Column("goods_value_minor", sa.BigInteger(), nullable=False),
        sa.Column("schedule_version", sa.String(length=64), nullable=False),
        sa.Column("class_code", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("repeat_of", sa.String(length=96), nullable=True),
        sa.Column("penalty_minor", sa.BigInteger(), nullable=False),
        sa.Column("penalty_basis", sa.Text(), nullable=False),
        sa.Column("confiscation", sa.Integer(), nullable=False),
        sa.Column("limitation_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("due_minor", sa.BigInteger(), nullable=True),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("court", sa.String(length=128), nullable=True),
        sa.Column("referred_at", sa.DateTime(), nullable=True),
        sa.Column("judged_on", sa.Date(), nullable=True),
        sa.Column("judgment", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("office", "year", "sequence", name="uq_offence_number"),
    )
    op.create_index("ix_offences_date", "offences", ["offence_date"])
    op.create_index("ix_offences_status", "offences", ["status", "limitation_date"])
    op.create_table(
        "offence_parties",
        sa.Column("party_id", sa.Integer(), primary_key=True),
        sa.Column("offence_id", sa.Integer(), sa.ForeignKey("offences.offence_id"), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("customs_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("address", sa.String(length=512), nullable=True),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
    )
    op.create_index("ix_offence_parties_customs_id", "offence_parties", ["customs_id"])
    op.create_index("ix_offence_parties_entity", "offence_parties", ["entity_id"])
    op.create_index("ix_offence_parties_offence", "offence_parties", ["offence_id"])
    op.create_table(
        "offence_declarations",
        sa.Column(
            "offence_id", sa.Integer(), sa.ForeignKey("offences.offence_id"), primary_key=True
        ),
        sa.Column("declaration_id", sa.String(length=64), primary_key=True),
    )
    op.create_index(
        "ix_offence_declarations_declaration", "offence_declarations", ["declaration_id"]
    )
    op.create_table(
        "offence_schedules",
        sa.Column("version", sa.String(length=64), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "offence_counters",
        sa.Column("office", sa.String(length=64), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    op.create_table(
        "offence_settlements",
        sa.Column("settlement_id", sa.Integer(), primary_key=True),
        sa.Column("offence_id", sa.Integer(), sa.ForeignKey("offences.offence_id"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_offence_settlements_offence", "offence_settlements", ["offence_id"])
    op.create_table(
        "offence_instalments",
        sa.Column(
            "offence_id", sa.Integer(), sa.ForeignKey("offences.offence_id"), primary_key=True
        ),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "offence_payments",
        sa.Column("payment_id", sa.Integer(), primary_key=True),
        sa.Column("offence_id", sa.Integer(), sa.ForeignKey("offences.offence_id"), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("offence_id", "reference", name="uq_offence_payment_once"),
    )


def downgrade() -> None:
    op.drop_table("offence_payments")
    op.drop_table("offence_instalments")
    op.drop_table("offence_settlements")
    op.drop_table("offence_counters")
    op.drop_table("offence_schedules")
    op.drop_table("offence_declarations")
    op.drop_table("offence_parties")
    op.drop_table("offences")
