"""list indexes: declarations by office and lodgement, by declarant; the scoreboard's row
of each declaration by current channel and day; decisions by score (the declarations
list's filters and sorting)

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_declarations_office_lodged", "declarations", ["office", "lodged_at"])
    op.create_index("ix_declarations_declarant_id", "declarations", ["declarant_id"])
    op.create_index(
        "ix_scoreboard_declarations_channel", "scoreboard_declarations", ["channel", "day"]
    )
    op.create_index("ix_decisions_score", "decisions", ["score", "declaration_id"])


def downgrade() -> None:
    op.drop_index("ix_decisions_score", "decisions")
    op.drop_index("ix_scoreboard_declarations_channel", "scoreboard_declarations")
    op.drop_index("ix_declarations_declarant_id", "declarations")
    op.drop_index("ix_declarations_office_lodged", "declarations")
