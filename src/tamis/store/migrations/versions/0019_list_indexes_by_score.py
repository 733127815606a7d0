"""list indexes: decisions by score (a page of the highest scores of a million reads the
index in order); items by HS code with their declaration (the declarations under a
chapter counted from the index alone); the scoreboard's declarations by channel go
(SQLite, without statistics, chose that index over the lodgement date's even for one
day's declarations, and the total of a channel now comes from the scoreboard's sums)

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_scoreboard_declarations_channel", "scoreboard_declarations")
    op.drop_index("ix_items_hs_code", "items")
    op.create_index("ix_items_hs_code_declaration", "items", ["hs_code", "declaration_id"])
    # 0018 made it too in stores migrated after it was first written
    op.create_index(
        "ix_decisions_score", "decisions", ["score", "declaration_id"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("ix_items_hs_code_declaration", "items")
    op.create_index("ix_items_hs_code", "items", ["hs_code"])
    op.create_index(
        "ix_scoreboard_declarations_channel", "scoreboard_declarations", ["channel", "day"]
    )
