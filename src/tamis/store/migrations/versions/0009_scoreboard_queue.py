"""scoreboard queue: declarations changed one by one (a lodgement, a result) wait here until
the figures are next read, instead of each change summing at once

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scoreboard_pending",
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("declaration_id"),
        comment="declarations changed since the sums were last brought up to date",
    )


def downgrade() -> None:
    op.drop_table("scoreboard_pending")
