"""network ties: the graph of the last network build, for neighbourhoods without a rebuild

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_ties",
        sa.Column("importer_id", sa.String(length=64), nullable=False,
                  comment="an importer (resolved)"),
        sa.Column("kind", sa.String(length=16), nullable=False,
                  comment="declarant, supplier, address, ..."),
        sa.Column("value", sa.Text(), nullable=False,
                  comment="the declarant, the address, ..."),
        sa.Column("first_seen", sa.DateTime(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False, comment="records showing the tie"),
        sa.Column("shared_by", sa.Integer(), nullable=False, comment="importers with this tie"),
        sa.Column("importer_ties", sa.Integer(), nullable=False, comment="ties of this importer"),
        sa.PrimaryKeyConstraint("importer_id", "kind", "value"),
        comment="the graph of the last network build, read by the neighbourhood of an entity",
    )  # fmt: skip
    op.create_index("ix_network_ties_kind_value", "network_ties", ["kind", "value"])


def downgrade() -> None:
    op.drop_table("network_ties")
