"""audit trail indexes: the administrators' screen filters it by actor, by action and by
period, newest first

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_audit_trail_actor": ["actor", "at"],
    "ix_audit_trail_action": ["action", "at"],
    "ix_audit_trail_at": ["at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_trail", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "audit_trail")
