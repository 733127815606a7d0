"""scoreboard: each declaration's contribution and the sums the dashboard reads; the latest
decision of a declaration by index

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = (
    "scoreboard_chapters",
    "scoreboard_days",
    "scoreboard_declarations",
    "scoreboard_detectors",
    "scoreboard_importers",
)


def upgrade() -> None:
    op.drop_index("ix_decisions_declaration_id", table_name="decisions")
    op.create_index(
        "ix_decisions_declaration_latest", "decisions", ["declaration_id", "decision_id"]
    )
    op.create_table(
        "scoreboard_chapters",
        sa.Column("office", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("chapter", sa.String(length=2), nullable=False),
        sa.Column("declarations", sa.BigInteger(), nullable=False),
        sa.Column("risky", sa.BigInteger(), nullable=False),
        sa.Column("inspected", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.Column("revenue_at_stake_minor", sa.BigInteger(), nullable=False),
        sa.Column("revenue_recovered_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("office", "month", "chapter"),
    )
    op.create_table(
        "scoreboard_days",
        sa.Column("office", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("declarations", sa.BigInteger(), nullable=False),
        sa.Column("random_selected", sa.BigInteger(), nullable=False),
        sa.Column("revenue_at_stake_minor", sa.BigInteger(), nullable=False),
        sa.Column("inspected", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.Column("revenue_recovered_minor", sa.BigInteger(), nullable=False),
        sa.Column("fraud_notices", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("office", "day", "channel"),
    )
    op.create_table(
        "scoreboard_declarations",
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False, comment="day of lodgement"),
        sa.Column("month", sa.String(length=7), nullable=False, comment="YYYY-MM of lodgement"),
        sa.Column("office", sa.String(length=64), nullable=False),
        sa.Column("importer_id", sa.String(length=64), nullable=False),
        sa.Column(
            "chapters",
            sa.Text(),
            nullable=False,
            comment="HS chapters of its items, comma-separated",
        ),
        sa.Column(
            "channel",
            sa.String(length=8),
            nullable=False,
            comment="current channel; none: not assessed",
        ),
        sa.Column("risky", sa.Integer(), nullable=False, comment="1: orange or red"),
        sa.Column("revenue_at_stake_minor", sa.BigInteger(), nullable=False),
        sa.Column("random_selected", sa.Integer(), nullable=False),
        sa.Column(
            "flagged",
            sa.Text(),
            nullable=False,
            comment="detectors that flagged it, comma-separated",
        ),
        sa.Column("inspected", sa.Integer(), nullable=False),
        sa.Column(
            "hits", sa.Integer(), nullable=False, comment="1: an inspection found it non-compliant"
        ),
        sa.Column("revenue_recovered_minor", sa.BigInteger(), nullable=False),
        sa.Column("fraud_notices", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("declaration_id"),
    )
    op.create_table(
        "scoreboard_detectors",
        sa.Column("office", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("detector", sa.String(length=32), nullable=False),
        sa.Column("flagged", sa.BigInteger(), nullable=False),
        sa.Column("inspected", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.Column("revenue_recovered_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("office", "day", "detector"),
    )
    op.create_table(
        "scoreboard_importers",
        sa.Column("office", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("importer_id", sa.String(length=64), nullable=False),
        sa.Column("declarations", sa.BigInteger(), nullable=False),
        sa.Column("risky", sa.BigInteger(), nullable=False),
        sa.Column("inspected", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.Column("revenue_at_stake_minor", sa.BigInteger(), nullable=False),
        sa.Column("revenue_recovered_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("office", "month", "importer_id"),
    )


def downgrade() -> None:
    op.drop_index("ix_decisions_declaration_latest", table_name="decisions")
    op.create_index("ix_decisions_declaration_id", "decisions", ["declaration_id"])
    for table in TABLES:
        op.drop_table(table)
