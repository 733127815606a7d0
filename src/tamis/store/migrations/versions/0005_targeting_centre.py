"""users, sessions, audit trail, cases, watchlists, post-clearance audit, mutual assistance

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = (
    "watchlist_hits",
    "sessions",
    "case_notes",
    "audit_selection_items",
    "attachments",
    "assistance_requests",
    "watchlists",
    "users",
    "cases",
    "audit_trail",
    "audit_selections",
)

# What an inspection found: corrected values beside the outcome, and the case it closed.
CORRECTIONS = {
    "case_id": sa.Integer(),
    "corrected_hs_code": sa.String(10),
    "corrected_origin": sa.String(2),
    "corrected_customs_value_minor": sa.BigInteger(),
}

# The audit trail is append-only in the database itself, not only in our code.
APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER audit_trail_no_update BEFORE UPDATE ON audit_trail "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
        "CREATE TRIGGER audit_trail_no_delete BEFORE DELETE ON audit_trail "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION audit_trail_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$",
        "CREATE TRIGGER audit_trail_append_only BEFORE UPDATE OR DELETE ON audit_trail "
        "FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only()",
    ],
}


def upgrade() -> None:
    op.create_table(
        "audit_selections",
        sa.Column("selection_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("selected_at", sa.DateTime(), nullable=False),
        sa.Column("selected_by", sa.String(length=64), nullable=False),
        sa.Column("budget", sa.Integer(), nullable=False),
        sa.Column("period_from", sa.DateTime(), nullable=True),
        sa.Column("period_to", sa.DateTime(), nullable=True),
        sa.Column(
            "candidates", sa.Integer(), nullable=False, comment="released declarations considered"
        ),
        sa.PrimaryKeyConstraint("selection_id"),
    )
    op.create_table(
        "audit_trail",
        sa.Column("entry_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=True),
        sa.Column("before", sa.Text(), nullable=True, comment="JSON"),
        sa.Column("after", sa.Text(), nullable=True, comment="JSON"),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_index("ix_audit_trail_entity", "audit_trail", ["entity", "entity_id"], unique=False)
    op.create_table(
        "cases",
        sa.Column("case_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("declaration_id", sa.String(length=64), nullable=True),
        sa.Column("office", sa.String(length=64), nullable=True),
        sa.Column(
            "origin", sa.String(length=16), nullable=False, comment="decision, watchlist or analyst"
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("revenue_at_stake_minor", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("opened_by", sa.String(length=128), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_cases_declaration_id", "cases", ["declaration_id"], unique=False)
    op.create_index("ix_cases_queue", "cases", ["office", "status"], unique=False)
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column(
            "partner",
            sa.String(length=64),
            nullable=True,
            comment="the administration a partner is",
        ),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_set_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "watchlists",
        sa.Column("watchlist_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("hs_prefixes", sa.Text(), nullable=False, comment="JSON list"),
        sa.Column("origins", sa.Text(), nullable=False, comment="JSON list"),
        sa.Column("importers", sa.Text(), nullable=False, comment="JSON list"),
        sa.Column("keywords", sa.Text(), nullable=False, comment="JSON list"),
        sa.Column("valid_from", sa.DateTime(), nullable=True),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.Column(
            "route_channel",
            sa.String(length=8),
            nullable=True,
            comment="channel its hits go to at least",
        ),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("watchlist_id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "assistance_requests",
        sa.Column("request_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False, comment="outgoing or incoming"),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.case_id"],
        ),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_table(
        "attachments",
        sa.Column("attachment_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column(
            "sha256",
            sa.String(length=64),
            nullable=False,
            comment="also the file's name in storage",
        ),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.case_id"],
        ),
        sa.PrimaryKeyConstraint("attachment_id"),
    )
    op.create_table(
        "audit_selection_items",
        sa.Column("selection_id", sa.Integer(), nullable=False),
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("revenue_at_stake_minor", sa.BigInteger(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["selection_id"],
            ["audit_selections.selection_id"],
        ),
        sa.PrimaryKeyConstraint("selection_id", "declaration_id"),
    )
    op.create_table(
        "case_notes",
        sa.Column("note_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.case_id"],
        ),
        sa.PrimaryKeyConstraint("note_id"),
    )
    op.create_table(
        "sessions",
        sa.Column(
            "token_hash", sa.String(length=64), nullable=False, comment="sha256 of the bearer token"
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "watchlist_hits",
        sa.Column("hit_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("matched", sa.Text(), nullable=False, comment="what matched, readable"),
        sa.Column("hit_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["watchlists.watchlist_id"],
        ),
        sa.PrimaryKeyConstraint("hit_id"),
        sa.UniqueConstraint("watchlist_id", "declaration_id", name="uq_watchlist_hit"),
    )
    with op.batch_alter_table("inspection_outcomes") as outcomes:
        for name, kind in CORRECTIONS.items():
            outcomes.add_column(sa.Column(name, kind, nullable=True))
    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_trail_append_only() CASCADE")
    for table in TABLES:
        op.drop_table(table)
    with op.batch_alter_table("inspection_outcomes") as outcomes:
        for name in CORRECTIONS:
            outcomes.drop_column(name)
