"""Tables of the social-media source: public posts of sellers as analysts exported them
(what was read in each post kept beside its text), the images named in them by their
perceptual hashes, the sellers found across accounts, and their links to importers."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, LargeBinary, String, Table, Text

from tamis.store.tables import metadata

social_posts = Table(
    "social_posts",
    metadata,
    Column("post_id", String(160), primary_key=True, comment="platform:native id"),
    Column("platform", String(32), nullable=False),
    Column("account", String(128), nullable=False, comment="the seller's handle"),
    Column("author_name", Text, nullable=True, comment="the account's display name"),
    Column("text", Text, nullable=False),
    Column("posted_at", DateTime, nullable=True),
    Column("url", Text, nullable=True),
    Column("source_id", String(64), nullable=False),
    Column("source_row", Integer, nullable=False),
    Column("ingested_at", DateTime, nullable=False),
    # read from the text (JSON lists), so linking and the detector never re-read it
    Column("brands", Text, nullable=False, comment="brands mentioned"),
    Column("copy_words", Text, nullable=False, comment="wording of copies"),
    Column("prices", Text, nullable=False, comment="prices in dirhams"),
    Column("phones", Text, nullable=False, comment="phones in E.164, WhatsApp links too"),
    Column("places", Text, nullable=False),
    Column("case_id", Integer, nullable=True, comment="kept past retention for this case"),
)
Index("ix_social_posts_ingested", social_posts.c.ingested_at)
Index("ix_social_posts_account", social_posts.c.platform, social_posts.c.account)

social_images = Table(
    "social_images",
    metadata,
    Column("post_id", String(160), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False, comment="the file name or address in the export"),
    Column("pdq", String(64), nullable=True),
    Column("quality", Integer, nullable=True),
    Column("phash", String(16), nullable=True),
    Column("error", Text, nullable=True, comment="why no hash: not found, not an image..."),
)

social_accounts = Table(
    "social_accounts",
    metadata,
    Column("handle", String(170), primary_key=True, comment="platform:account"),
    Column("seller_id", String(32), nullable=False),
    Index("ix_social_accounts_seller", "seller_id"),
)

social_sellers = Table(
    "social_sellers",
    metadata,
    Column("seller_id", String(32), primary_key=True),
    Column("accounts", Text, nullable=False, comment="platform:handle, JSON list"),
    Column("names", Text, nullable=False, comment="display names, JSON list"),
    Column("posts", Integer, nullable=False),
    Column("copy_posts", Integer, nullable=False, comment="posts advertising copies"),
    Column("brands", Text, nullable=False, comment="brands advertised as copies, JSON"),
    Column("phones", Text, nullable=False),
    Column("places", Text, nullable=False),
    Column("low_price", Float, nullable=True, comment="lowest price asked, dirhams"),
    Column("first_post", DateTime, nullable=True),
    Column("last_post", DateTime, nullable=True),
    Column("why_grouped", Text, nullable=False, comment="what joins its accounts, JSON"),
)

social_links = Table(
    "social_links",
    metadata,
    Column("seller_id", String(32), primary_key=True),
    Column("importer_id", String(64), primary_key=True),
    Column("score", Float, nullable=False, comment="sum of the evidence's weights"),
    Column("evidence", Text, nullable=False, comment="each step: kind, value, weight, posts"),
    Column("linked_at", DateTime, nullable=False),
)
Index("ix_social_links_importer", social_links.c.importer_id)

# A reference photo (a case attachment) is hashed with its crops and mirrors once: some
# eighty PDQ computations, too slow to repeat at every linking.
photo_hashes = Table(
    "photo_hashes",
    metadata,
    Column("sha256", String(64), primary_key=True, comment="the photo file's checksum"),
    Column("pdq", String(64), nullable=False),
    Column("quality", Integer, nullable=False),
    Column("phash", String(16), nullable=False),
    Column("variants", LargeBinary, nullable=False, comment="PDQ hashes, 32 bytes each"),
)
