"""Sellers: the accounts behind which one seller posts, across platforms.

Accounts are one seller when they post the same phone, near-identical texts (the same
words once digits — prices, phone numbers — are set aside) or the same photo (perceptual
hashes a few bits apart). A value many accounts share (a courier's phone, a catalogue
photo, a template text) says nothing about who posts it: it joins nobody.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import polars as pl
from sqlalchemy import Engine, select

from tamis import audit
from tamis.social.normalise import normalise
from tamis.social.tables import social_accounts, social_images, social_posts, social_sellers
from tamis.store.load import replace_all

col = pl.col
MAX_SHARED = 3  # accounts beyond which a phone, text or photo is common
MIN_TEXT_WORDS = 6  # shorter texts are too alike by chance to say one seller
SAME_PHOTO = 24  # PDQ bits apart, at most, for two posts' images to be one photo
BANDS = 8  # of the 256 bits, for finding photos a few bits apart without comparing all


POST_SCHEMA = dict.fromkeys(
    ("post_id", "platform", "account", "author_name", "text", "brands", "copy_words", "prices",
     "phones", "places"), pl.String,
) | {"posted_at": pl.Datetime("us"), "case_id": pl.Int64}  # fmt: skip


def read_posts(engine: Engine) -> pl.DataFrame:
    """Every stored post with what was read in it (lists decoded) and its images' hashes."""
    p = social_posts.c
    query = select(p.post_id, p.platform, p.account, p.author_name, p.text, p.posted_at,
                   p.brands, p.copy_words, p.prices, p.phones, p.places, p.case_id)  # fmt: skip
    with engine.connect() as conn:
        posts = pl.read_database(query, conn, schema_overrides=POST_SCHEMA)
        images = pl.read_database(
            select(social_images.c.post_id, social_images.c.pdq).where(
                social_images.c.pdq.isnot(None)
            ),
            conn,
            schema_overrides={"post_id": pl.String, "pdq": pl.String},
        )
    if posts.is_empty():
        return posts
    lists = ["brands", "copy_words", "phones", "places"]
    return posts.with_columns(
        *(col(c).str.json_decode(pl.List(pl.String)) for c in lists),
        col("prices").str.json_decode(pl.List(pl.Float64)),
        pl.concat_str(col("platform"), pl.lit(":"), col("account")).alias("handle"),
    ).join(images.group_by("post_id").agg(col("pdq")), on="post_id", how="left")


class _Groups:
    """Union-find over accounts, remembering what joined them."""

    def __init__(self, accounts: list[str]):
        self.parent = {a: a for a in accounts}
        self.why: dict[str, list[dict]] = defaultdict(list)

    def find(self, a: str) -> str:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def join(self, accounts: list[str], kind: str, value: str) -> None:
        accounts = sorted(set(accounts))
        if not 1 < len(accounts) <= MAX_SHARED:
            return
        first = self.find(accounts[0])
        for other in accounts[1:]:
            self.parent[self.find(other)] = first
        self.why[accounts[0]].append({"kind": kind, "value": value, "accounts": accounts})


def text_key(text: str) -> str | None:
    """The words of a text without digits, in order of first use; None when too short."""
    words = list(dict.fromkeys(re.findall(r"[^\W\d_]{2,}", normalise(text))))
    return " ".join(sorted(words)) if len(words) >= MIN_TEXT_WORDS else None


def _photo_groups(posts: pl.DataFrame) -> list[list[str]]:
    """Handles posting one photo (hashes at most ``SAME_PHOTO`` bits apart)."""
    images = posts.select("handle", "pdq").explode("pdq").drop_nulls("pdq").unique()
    if images.is_empty():
        return []
    bits = np.unpackbits(
        np.frombuffer(bytes.fromhex("".join(images["pdq"])), np.uint8).reshape(-1, 32), axis=1
    )
    handles = images["handle"].to_list()
    photos = _Groups([str(i) for i in range(len(handles))])
    width = bits.shape[1] // BANDS
    for band in range(BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i, key in enumerate(np.packbits(bits[:, band * width : (band + 1) * width], axis=1)):
            buckets[key.tobytes()].append(i)
        for members in buckets.values():
            if len(members) < 2:
                continue
            near = (bits[members][:, None, :] != bits[members][None, :, :]).sum(axis=2)
            for a, b in zip(*np.nonzero(np.triu(near <= SAME_PHOTO, 1)), strict=True):
                root_a, root_b = photos.find(str(members[a])), photos.find(str(members[b]))
                photos.parent[root_b] = root_a
    by_photo: dict[str, set[str]] = defaultdict(set)
    for i, handle in enumerate(handles):
        by_photo[photos.find(str(i))].add(handle)
    return [sorted(h) for h in by_photo.values() if len(h) > 1]


def group_accounts(posts: pl.DataFrame) -> tuple[dict[str, str], dict[str, list[dict]]]:
    """handle -> seller id, and per seller what joined its accounts."""
    handles = posts["handle"].unique().sort().to_list()
    groups = _Groups(handles)
    by_phone = posts.select("handle", "phones").explode("phones").drop_nulls().unique()
    for phone, members in by_phone.group_by("phones").agg("handle").iter_rows():
        groups.join(members, "phone", phone)
    keyed = posts.select("handle", pl.col("text").map_elements(text_key, pl.String).alias("k"))
    for key, members in keyed.drop_nulls("k").unique().group_by("k").agg("handle").iter_rows():
        groups.join(members, "text", key[:80])
    for members in _photo_groups(posts):
        groups.join(members, "photo", "")
    seller_of, why = {}, defaultdict(list)
    for handle in handles:
        root = groups.find(handle)
        seller_of[handle] = root
    members: dict[str, list[str]] = defaultdict(list)
    for handle, root in seller_of.items():
        members[root].append(handle)
    ids = {root: _seller_id(sorted(m)[0]) for root, m in members.items()}
    for first, reasons in groups.why.items():
        why[ids[groups.find(first)]] += reasons
    return {h: ids[root] for h, root in seller_of.items()}, dict(why)


def _seller_id(first_handle: str) -> str:
    return "S-" + hashlib.sha1(first_handle.encode()).hexdigest()[:10].upper()


def seller_table(posts: pl.DataFrame, why: dict[str, list[dict]]) -> pl.DataFrame:
    """One row per seller: its accounts, names, posts, the brands it sells as copies, its
    phones, places, lowest price, first and last post, what groups its accounts."""
    copies = col("copy_words").list.len() > 0

    def listed(expr: pl.Expr) -> pl.Expr:
        return expr.drop_nulls().unique().sort()

    frame = posts.group_by("seller_id").agg(
        listed(col("handle")).alias("accounts"),
        listed(col("author_name")).alias("names"),
        pl.len().alias("posts"),
        copies.sum().alias("copy_posts"),
        listed(
            col("brands").filter(copies).list.explode(keep_nulls=False, empty_as_null=False)
        ).alias("brands"),
        listed(col("phones").list.explode(keep_nulls=False, empty_as_null=False)).alias("phones"),
        listed(col("places").list.explode(keep_nulls=False, empty_as_null=False)).alias("places"),
        col("prices").list.explode(keep_nulls=False, empty_as_null=False).min().alias("low_price"),
        col("posted_at").min().alias("first_post"),
        col("posted_at").max().alias("last_post"),
    )
    encode = [c for c in ("accounts", "names", "brands", "phones", "places")]
    return frame.with_columns(
        *(col(c).map_elements(lambda v: json.dumps(list(v), ensure_ascii=False),
                              return_dtype=pl.String) for c in encode),
        col("seller_id").map_elements(lambda s: json.dumps(why.get(s, []), ensure_ascii=False),
                                      return_dtype=pl.String).alias("why_grouped"),
    ).sort("seller_id")  # fmt: skip


@dataclass
class Grouped:
    posts: int
    accounts: int
    sellers: int


def find_sellers(engine: Engine, posts: pl.DataFrame | None = None) -> Grouped:
    """Group every stored post's account into sellers; replace the stored sellers."""
    posts = read_posts(engine) if posts is None else posts
    if posts.is_empty():
        with engine.begin() as conn:
            for table in (social_sellers, social_accounts):
                replace_all(conn, table, pl.DataFrame())
        return Grouped(0, 0, 0)
    seller_of, why = group_accounts(posts)
    posts = posts.with_columns(
        col("handle").replace_strict(seller_of, return_dtype=pl.String).alias("seller_id")
    )
    sellers = seller_table(posts, why)
    accounts = pl.DataFrame({"handle": list(seller_of), "seller_id": list(seller_of.values())})
    with engine.begin() as conn:
        replace_all(conn, social_sellers, sellers)
        replace_all(conn, social_accounts, accounts)
        audit.record(conn, "system", "social.sellers", "social", "sellers", None,
                     {"posts": posts.height, "sellers": sellers.height})  # fmt: skip
    return Grouped(posts.height, len(seller_of), sellers.height)
