"""Tables of trade documents: the documents of a declaration (the file kept by its SHA-256,
registered in the transparency log), the documents an officer asked the declarant for,
decisions taken at a distance on those documents, and the credentials we issue with their
revocation status lists."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tamis.store.tables import metadata

DOC_TYPES = ("invoice", "certificate_of_origin", "packing_list", "licence", "photo", "other")

documents = Table(
    "documents",
    metadata,
    Column("document_id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(64), nullable=False),
    Column("item_numbers", String(256), nullable=True, comment="'1,3'; null: the whole"),
    Column("doc_type", String(32), nullable=False, comment="one of DOC_TYPES"),
    Column("issuer", String(256), nullable=False, comment="who issued it: seller, chamber..."),
    Column("filename", String(256), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False, comment="the file, kept under it"),
    Column("salt", String(64), nullable=False, comment="hex: the log entry's salt"),
    Column("log_index", BigInteger, nullable=False, unique=True, comment="its log entry"),
    Column("uploaded_by", String(64), nullable=False),
    Column("uploaded_at", DateTime, nullable=False),
)
Index("ix_documents_declaration", documents.c.declaration_id)

document_requests = Table(
    "document_requests",
    metadata,
    Column("request_id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(64), nullable=False),
    Column("doc_type", String(32), nullable=False),
    Column("note", Text, nullable=True, comment="what the officer wants to see"),
    Column("asked_by", String(64), nullable=False),
    Column("asked_at", DateTime, nullable=False),
    Column("due_at", DateTime, nullable=False),
    Column("answered_by_document_id", Integer, ForeignKey("documents.document_id"), nullable=True),
    Column("status", String(16), nullable=False, comment="requested, answered"),
)
Index("ix_document_requests_declaration", document_requests.c.declaration_id)
Index("ix_document_requests_status", document_requests.c.status, document_requests.c.due_at)

remote_decisions = Table(
    "remote_decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(64), nullable=False),
    Column("decision", String(16), nullable=False, comment="release, or inspect"),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", DateTime, nullable=False),
    Column("note", Text, nullable=True),
)
Index("ix_remote_decisions_declaration", remote_decisions.c.declaration_id)

credential_status_lists = Table(
    "credential_status_lists",
    metadata,
    Column("list_id", String(32), primary_key=True),
    Column("purpose", String(16), nullable=False, comment="revocation"),
    Column("bits", LargeBinary, nullable=False, comment="bit i: the i-th status, MSB first"),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("credential_id", String(64), primary_key=True, comment="urn:uuid:..."),
    Column("kind", String(32), nullable=False, comment="certificate_of_origin, or aeo"),
    Column("subject", String(256), nullable=False, comment="a consignment, or a customs id"),
    Column("json", Text, nullable=False, comment="the signed credential as issued"),
    Column(
        "status_list",
        String(32),
        ForeignKey("credential_status_lists.list_id"),
        nullable=False,
    ),
    Column("status_index", Integer, nullable=False),
    Column("revoked", Integer, nullable=False, comment="1: its bit is set"),
    Column("issued_by", String(64), nullable=False),
    Column("issued_at", DateTime, nullable=False),
    UniqueConstraint("status_list", "status_index", name="uq_credential_status"),
)
Index("ix_credentials_subject", credentials.c.subject)
