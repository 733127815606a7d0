"""value references (valuation)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "value_references",
        sa.Column("reference_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("hs_code", sa.String(10), nullable=False),
        sa.Column("origin", sa.String(8), nullable=False),
        sa.Column("basis", sa.String(8), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=True),
        sa.Column("window_end", sa.DateTime(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("trimmed", sa.Integer(), nullable=True),
        sa.Column("median_uv", sa.Float(), nullable=False),
        sa.Column("q1_uv", sa.Float(), nullable=True),
        sa.Column("q3_uv", sa.Float(), nullable=True),
        sa.Column("mad_log", sa.Float(), nullable=True),
        sa.Column("lower_spread_log", sa.Float(), nullable=True),
        sa.Column("upper_spread_log", sa.Float(), nullable=True),
        sa.Column("trend_log", sa.Float(), nullable=True),
        sa.Column("catch_all", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(), nullable=True),
    )
    op.create_index(
        "ix_value_references_lookup", "value_references", ["hs_code", "origin", "basis"]
    )
    op.create_table(
        "value_reference_uses",
        sa.Column("use_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("declaration_id", sa.String(64), nullable=False),
        sa.Column("item_number", sa.Integer(), nullable=False),
        sa.Column("reference_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(8), nullable=False),
        sa.Column("declared_uv", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
    )
    op.create_index(
        "ix_value_reference_uses_declaration_id", "value_reference_uses", ["declaration_id"]
    )
    op.create_table(
        "value_histogram",
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("hs_code", sa.String(10), nullable=False),
        sa.Column("origin", sa.String(2), nullable=False),
        sa.Column("basis", sa.String(8), nullable=False),
        sa.Column("bin", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_value_histogram_month", "value_histogram", ["month"])
    op.create_index("ix_value_histogram_cell", "value_histogram", ["hs_code", "origin", "basis"])


def downgrade() -> None:
    for table in ("value_histogram", "value_reference_uses", "value_references"):
        op.drop_table(table)
