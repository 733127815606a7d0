"""social media: sellers' public posts (with what was read in them), their images' hashes,
sellers grouped across accounts (and which accounts) and their links to importers

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "social_posts",
        sa.Column("post_id", sa.String(length=160), primary_key=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("author_name", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(), nullable=False),
        sa.Column("brands", sa.Text(), nullable=False),
        sa.Column("copy_words", sa.Text(), nullable=False),
        sa.Column("prices", sa.Text(), nullable=False),
        sa.Column("phones", sa.Text(), nullable=False),
        sa.Column("places", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_social_posts_account", "social_posts", ["platform", "account"])
    op.create_index("ix_social_posts_ingested", "social_posts", ["ingested_at"])
    op.create_table(
        "social_images",
        sa.Column("post_id", sa.String(length=160), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("phash", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_table(
        "social_accounts",
        sa.Column("handle", sa.String(length=170), primary_key=True),
        sa.Column("seller_id", sa.String(length=32), nullable=False),
    )
    op.create_index("ix_social_accounts_seller", "social_accounts", ["seller_id"])
    op.create_table(
        "social_sellers",
        sa.Column("seller_id", sa.String(length=32), primary_key=True),
        sa.Column("accounts", sa.Text(), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("copy_posts", sa.Integer(), nullable=False),
        sa.Column("brands", sa.Text(), nullable=False),
        sa.Column("phones", sa.Text(), nullable=False),
        sa.Column("places", sa.Text(), nullable=False),
        sa.Column("low_price", sa.Float(), nullable=True),
        sa.Column("first_post", sa.DateTime(), nullable=True),
        sa.Column("last_post", sa.DateTime(), nullable=True),
        sa.Column("why_grouped", sa.Text(), nullable=False),
    )
    op.create_table(
        "social_links",
        sa.Column("seller_id", sa.String(length=32), primary_key=True),
        sa.Column("importer_id", sa.String(length=64), primary_key=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_social_links_importer", "social_links", ["importer_id"])
    op.create_table(
        "photo_hashes",
        sa.Column("sha256", sa.String(length=64), primary_key=True),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("phash", sa.String(length=16), nullable=False),
        sa.Column("variants", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    tables = (
        "photo_hashes",
        "social_links",
        "social_sellers",
        "social_accounts",
        "social_images",
        "social_posts",
    )
    for table in tables:
        op.drop_table(table)
