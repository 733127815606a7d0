"""decisions, rule sets and routing (selectivity)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


NEW_TABLES = ("rule_sets", "decisions", "channel_changes")


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rules", sa.Text(), nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("declaration_id", sa.String(64), nullable=False, index=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("signals", sa.Text(), nullable=False),
        sa.Column("revenue_at_stake_minor", sa.BigInteger(), nullable=True),
        sa.Column("forced_channel", sa.String(8), nullable=True),
        sa.Column("random_draw", sa.Float(), nullable=False),
        sa.Column("random_rate", sa.Float(), nullable=False),
        sa.Column("random_selected", sa.Integer(), nullable=False),
        sa.Column("capacity_held", sa.Integer(), nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=True),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("routing", sa.Text(), nullable=False),
    )
    op.create_table(
        "channel_changes",
        sa.Column("change_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "decision_id", sa.Integer(), sa.ForeignKey("decisions.decision_id"), nullable=False
        ),
        sa.Column("declaration_id", sa.String(64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("officer", sa.String(128), nullable=False),
        sa.Column("from_channel", sa.String(8), nullable=False),
        sa.Column("to_channel", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
