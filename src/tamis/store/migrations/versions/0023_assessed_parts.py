"""assessed parts: each partition of a dataset assessed on a cluster, marked in the
transaction that records its decisions, so that a partition redone after a worker died is
never recorded twice

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessed_parts",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column(
            "attempt",
            sa.String(length=64),
            nullable=False,
            comment="the attempt whose decisions were recorded",
        ),  # fmt: skip
        sa.Column("summary", sa.Text(), nullable=False, comment="its counts, as JSON"),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "part"),
    )


def downgrade() -> None:
    op.drop_table("assessed_parts")
