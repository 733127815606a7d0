"""declaration page indexes: an importer's declarations by lodgement, with their ids and
the importer's name (its history and latest declarations read from the index alone, never
from thousands of rows spread over the table); the value histogram by basis and HS code,
with its bins (a value chart's distribution read from the index alone)

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

IMPORTER = ["importer_id", "lodged_at", "declaration_id", "importer_name"]
CHART = ["basis", "hs_code", "origin", "month", "bin", "items"]


def upgrade() -> None:
    op.create_index("ix_declarations_importer_lodged", "declarations", IMPORTER)
    op.drop_index("ix_declarations_importer_id", "declarations")
    op.create_index("ix_value_histogram_chart", "value_histogram", CHART)


def downgrade() -> None:
    op.drop_index("ix_value_histogram_chart", "value_histogram")
    op.create_index("ix_declarations_importer_id", "declarations", ["importer_id"])
    op.drop_index("ix_declarations_importer_lodged", "declarations")
