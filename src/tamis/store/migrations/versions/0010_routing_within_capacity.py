"""routing within capacity: each decision's chance of being inspected (what inverse-propensity
weights divide by), the combination of detectors that made it (learnt ones are models of
kind routing)

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(
            sa.Column(
                "selection_chance",
                sa.Float(),
                nullable=True,
                comment="the chance it had of being inspected; null: decided before it was kept",
            )
        )
        batch.add_column(
            sa.Column(
                "combiner",
                sa.String(length=32),
                nullable=True,
                comment="weights (fixed) or learnt:<model version>; null: fixed weights",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("combiner")
        batch.drop_column("selection_chance")
