"""offices and closures: the office a user works at (an inspector acts on the unassigned
cases of their office), and why a case was closed without an inspection result

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "office",
                sa.String(length=64),
                nullable=True,
                comment="the customs office the user works at; null: none in particular",
            )
        )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column(
                "closure_reason",
                sa.Text(),
                nullable=True,
                comment="why it was closed without an inspection result; null otherwise",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("closure_reason")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("office")
