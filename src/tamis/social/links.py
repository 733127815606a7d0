"""Links from sellers to importers, each with the evidence that makes it.

A seller is linked to an importer when their evidence adds up to ``LINK_SCORE``:

- a **phone** the seller posts is the importer's (a tax return of the company, the company
  found by entity resolution or by its name): weight 3;
- a **photo** the seller posts is one of the goods seized or inspected in a case about the
  importer's declaration (perceptual hashes, mirror and crop included): 2.5;
- the seller's **name** is the importer's, in standard form: 1.5;
- a **place** the seller names is the importer's city: 0.3, only beside other evidence.

A value that several importers share weighs the less the more of them share it (a
broker's phone, a catalogue photo, a common name): its weight over their number squared.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Engine, select

from tamis import audit
from tamis.intel.parties import address_key, name_key
from tamis.social.sellers import read_posts
from tamis.social.tables import social_accounts, social_links
from tamis.store.load import replace_all
from tamis.store.tables import attachments, cases, declarations

col = pl.col
WEIGHTS = {"phone": 3.0, "photo": 2.5, "name": 1.5, "place": 0.3}
LINK_SCORE = 2.0
MAX_POSTS_SHOWN = 5


@dataclass
class Directory:
    """Who holds each value: importers by phone (E.164), standard name, photo, city."""

    phones: dict[str, dict[str, str]]  # phone -> importer -> where it was found
    names: dict[str, set[str]]
    cities: dict[str, str]  # importer -> its city, as its address ends
    photos: object | None  # tamis.social.images.ImageIndex keyed by (case_id, attachment_id)
    case_importer: dict[int, str]


def directory(engine: Engine) -> Directory:
    from tamis.intel.ingest import read_source, stored_sources
    from tamis.intel.resolve import attribute, e164
    from tamis.social.images import attachment_index

    by_phone: dict[str, dict[str, str]] = defaultdict(dict)
    if "tax_returns" in stored_sources(engine):
        returns = read_source(engine, "tax_returns").unique(["tax_number", "phone"])
        returns = attribute(engine, "tax_returns", returns).drop_nulls("importer_id")
        for phone, importer, tax_number, name in returns.select(
            "phone", "importer_id", "tax_number", "company_name"
        ).iter_rows():
            if number := e164(phone):
                by_phone[number][importer] = f"tax return {tax_number} ({name})"
    with engine.connect() as conn:
        importers = pl.read_database(
            select(declarations.c.importer_id, declarations.c.importer_name,
                   declarations.c.importer_address).distinct(),
            conn, schema_overrides=dict.fromkeys(
                ("importer_id", "importer_name", "importer_address"), pl.String),
        )  # fmt: skip
        case_importer = dict(
            conn.execute(
                select(cases.c.case_id, declarations.c.importer_id)
                .join_from(cases, declarations,
                           cases.c.declaration_id == declarations.c.declaration_id)
                .where(cases.c.case_id.in_(select(attachments.c.case_id)))
            ).all()
        )  # fmt: skip
    keyed = importers.select(
        "importer_id",
        name_key(col("importer_name")).alias("name"),
        address_key(col("importer_address")).str.extract(r"([A-Z]+)$").alias("city"),
    )
    names: dict[str, set[str]] = defaultdict(set)
    for importer, name in keyed.select("importer_id", "name").drop_nulls().iter_rows():
        names[name].add(importer)
    cities = dict(
        keyed.select("importer_id", "city").drop_nulls().unique("importer_id").iter_rows()
    )
    photos = attachment_index(engine) if case_importer else None
    return Directory(dict(by_phone), dict(names), cities, photos, case_importer)


def _city_key(place: str) -> str:
    """A place name as addresses end in standard form: "Mohammédia" -> "MOHAMMEDIA"."""
    folded = unicodedata.normalize("NFKD", place)
    return re.sub(r"[^A-Z]", "", "".join(c for c in folded if c.isascii()).upper())


def _shared(weight: float, holders: int) -> float:
    return round(weight / holders**2, 3)


def _evidence(seller_posts: pl.DataFrame, found: Directory) -> dict[str, list[dict]]:
    """importer -> evidence steps of one seller's posts."""
    steps: dict[str, list[dict]] = defaultdict(list)

    def posts_with(mask: pl.Expr) -> list[str]:
        return seller_posts.filter(mask)["post_id"].head(MAX_POSTS_SHOWN).to_list()

    for phone in seller_posts["phones"].explode().drop_nulls().unique().sort():
        holders = found.phones.get(phone, {})
        for importer, where in holders.items():
            steps[importer].append({
                "kind": "phone", "value": phone, "weight": _shared(WEIGHTS["phone"], len(holders)),
                "found_in": where, "shared_by": len(holders),
                "posts": posts_with(col("phones").list.contains(phone)),
                "post_count": seller_posts.filter(col("phones").list.contains(phone)).height,
            })  # fmt: skip
    names = seller_posts.select(name_key(col("author_name")).alias("n"))["n"].drop_nulls()
    for name in names.unique().sort():
        holders = found.names.get(name, set())
        for importer in sorted(holders):
            steps[importer].append({
                "kind": "name", "value": name, "weight": _shared(WEIGHTS["name"], len(holders)),
                "shared_by": len(holders),
            })  # fmt: skip
    if found.photos is not None:
        _photo_steps(seller_posts, found, steps)
    named = {_city_key(p) for p in seller_posts["places"].explode().drop_nulls()}
    for importer, evidence in steps.items():
        city = found.cities.get(importer)
        if city in named:
            evidence.append({"kind": "place", "value": city, "weight": WEIGHTS["place"]})
    return steps


def _photo_steps(seller_posts: pl.DataFrame, found: Directory, steps) -> None:
    """One step per importer whose case photos the seller's images match, weighed by how
    many importers the matched photos are about (a catalogue photo is in many cases)."""
    from tamis.social.images import ImageHash

    best: dict[str, dict] = {}
    for post_id, hashes in seller_posts.select("post_id", "pdq").iter_rows():
        for pdq in hashes or []:
            matched = found.photos.matches(ImageHash(pdq, 100, "0" * 16))
            by_importer = {found.case_importer[c]: c for (c, _), _ in matched
                           if c in found.case_importer}  # fmt: skip
            for importer, case_id in by_importer.items():
                weight = _shared(WEIGHTS["photo"], len(by_importer))
                step = best.setdefault(importer, {
                    "kind": "photo", "value": f"case {case_id}", "weight": weight,
                    "shared_by": len(by_importer), "posts": [],
                })  # fmt: skip
                if weight > step["weight"]:
                    step |= {"value": f"case {case_id}", "weight": weight,
                             "shared_by": len(by_importer)}  # fmt: skip
                if post_id not in step.setdefault("counted", set()):
                    step["counted"].add(post_id)
                    if len(step["posts"]) < MAX_POSTS_SHOWN:
                        step["posts"].append(post_id)
    for importer, step in best.items():
        steps[importer].append(step | {"post_count": len(step.pop("counted"))})


@dataclass
class Linked:
    sellers: int
    links: int
    seconds: float = 0.0


def link_sellers(engine: Engine, actor: str = "system") -> Linked:
    """Link every seller to the importers its evidence points at; replace stored links."""
    started = time.perf_counter()
    posts = read_posts(engine)
    with engine.connect() as conn:
        accounts = pl.read_database(select(social_accounts), conn,
                                    schema_overrides={"handle": pl.String,
                                                      "seller_id": pl.String})  # fmt: skip
    rows = []
    if not posts.is_empty() and accounts.height:
        found = directory(engine)
        posts = posts.join(accounts, on="handle", how="inner")
        now = audit.now()
        for (seller,), seller_posts in posts.group_by("seller_id"):
            for importer, steps in _evidence(seller_posts, found).items():
                score = round(sum(s["weight"] for s in steps), 3)
                if score >= LINK_SCORE:
                    rows.append(dict(seller_id=seller, importer_id=importer, score=score,
                                     evidence=json.dumps(steps, ensure_ascii=False),
                                     linked_at=now))  # fmt: skip
    with engine.begin() as conn:
        replace_all(conn, social_links, pl.DataFrame(rows, infer_schema_length=None))
        audit.record(conn, actor, "social.link", "social", "links", None, {"links": len(rows)})
    sellers = posts["seller_id"].n_unique() if "seller_id" in posts.columns else 0
    return Linked(sellers, len(rows), round(time.perf_counter() - started, 2))


def refresh(engine: Engine, actor: str = "system") -> dict:
    """Group accounts into sellers, then link sellers to importers: after posts come in or
    go, and after entity resolution or new case photos."""
    from tamis.social.sellers import find_sellers

    grouped = find_sellers(engine)
    linked = link_sellers(engine, actor)
    return {"posts": grouped.posts, "accounts": grouped.accounts, "sellers": grouped.sellers,
            "links": linked.links, "seconds": linked.seconds}  # fmt: skip
