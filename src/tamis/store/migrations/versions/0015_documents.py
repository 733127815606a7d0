"""documents: a declaration's trade documents (registered in the log), the documents asked
of declarants, decisions taken at a distance, credentials and their status lists

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("document_id", sa.Integer(), primary_key=True),
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("item_numbers", sa.String(length=256), nullable=True),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("issuer", sa.String(length=256), nullable=False),
        sa.Column("filename", sa.String(length=256), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_documents_declaration", "documents", ["declaration_id"])
    op.create_table(
        "document_requests",
        sa.Column("request_id", sa.Integer(), primary_key=True),
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("asked_by", sa.String(length=64), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column(
            "answered_by_document_id",
            sa.Integer(),
            sa.ForeignKey("documents.document_id"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
    )
    op.create_index("ix_document_requests_declaration", "document_requests", ["declaration_id"])
    op.create_index("ix_document_requests_status", "document_requests", ["status", "due_at"])
    op.create_table(
        "remote_decisions",
        sa.Column("decision_id", sa.Integer(), primary_key=True),
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_remote_decisions_declaration", "remote_decisions", ["declaration_id"])
    op.create_table(
        "credential_status_lists",
        sa.Column("list_id", sa.String(length=32), primary_key=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "credentials",
        sa.Column("credential_id", sa.String(length=64), primary_key=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("json", sa.Text(), nullable=False),
        sa.Column(
            "status_list",
            sa.String(length=32),
            sa.ForeignKey("credential_status_lists.list_id"),
            nullable=False,
        ),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("revoked", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("status_list", "status_index", name="uq_credential_status"),
    )
    op.create_index("ix_credentials_subject", "credentials", ["subject"])


def downgrade() -> None:
    op.drop_table("credentials")
    op.drop_table("credential_status_lists")
    op.drop_table("remote_decisions")
    op.drop_table("document_requests")
    op.drop_table("documents")
