"""capacity locks: a row per office and budget period that lodgements hold while they count
and spend its capacity

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capacity_locks",
        sa.Column("office", sa.String(length=64), nullable=False, comment="'' for none"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False, comment="lodgements that held it"),
        sa.PrimaryKeyConstraint("office", "day"),
    )


def downgrade() -> None:
    op.drop_table("capacity_locks")
