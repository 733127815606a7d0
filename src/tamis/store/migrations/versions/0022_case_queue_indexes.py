"""case queue indexes: the queue of a status read in score order from an index (a page of
the open cases stops at its fiftieth), and each case's current channel read from an index
alone when the queue is filtered by channel

Revision ID: 0022
Revises: 0021
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_status_score", "cases", ["status", "score"], if_not_exists=True)
    op.create_index(
        "ix_scoreboard_declarations_channel_of",
        "scoreboard_declarations",
        ["declaration_id", "channel"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_scoreboard_declarations_channel_of", "scoreboard_declarations")
    op.drop_index("ix_cases_status_score", "cases")
