"""What analysts do with sellers: see them (every view audited: the source holds people's
posts), open a case or a watchlist from one, and purge posts past their retention.

Posts are kept ``settings().social_retention_days`` after they were read in, unless a
case holds them (opening a case from a seller keeps the seller's posts for it).
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Connection, Engine, delete, func, select, update

from tamis import audit
from tamis.cases.cases import open_case
from tamis.cases.watchlists import WatchlistIn, create
from tamis.detectors.social import brand_chapters
from tamis.refusals import Refusal
from tamis.settings import settings
from tamis.social.tables import (
    social_accounts,
    social_images,
    social_links,
    social_posts,
    social_sellers,
)

LISTS = ("accounts", "names", "brands", "phones", "places", "why_grouped")


class SellerMissing(LookupError):
    pass


def _seller(row) -> dict:
    seller = dict(row._mapping)
    return seller | {k: json.loads(seller[k]) for k in LISTS if k in seller}


def _viewed(conn: Connection, actor: str, what: str, key: str, shown: int) -> None:
    audit.record(conn, actor, "social.view", what, key, None, {"shown": shown})


def list_sellers(
    engine: Engine, actor: str, brand: str | None = None, linked: bool | None = None,
    copies_only: bool = True, limit: int = 100, offset: int = 0,
) -> dict:  # fmt: skip
    """Sellers, those advertising copies first by their number of posts; ``brand`` one
    brand's; ``linked`` those with (or without) a link to an importer."""
    s = social_sellers.c
    links = select(func.count()).where(social_links.c.seller_id == s.seller_id).scalar_subquery()
    query = select(social_sellers, links.label("links"))
    if copies_only:
        query = query.where(s.copy_posts > 0)
    if brand:
        query = query.where(s.brands.contains(json.dumps(brand, ensure_ascii=False)))
    if linked is not None:
        query = query.where(links > 0 if linked else links == 0)
    with engine.begin() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(
            query.order_by(s.copy_posts.desc(), s.seller_id).limit(limit).offset(offset)
        ).all()
        _viewed(conn, actor, "sellers", f"brand={brand or '*'}", len(rows))
    return {"total": total, "sellers": [_seller(r) for r in rows]}


def seller(engine: Engine, seller_id: str, actor: str, posts: int = 200) -> dict:
    """One seller: its accounts, its ``recent_posts`` (newest first, at most ``posts``),
    links to importers with evidence."""
    with engine.begin() as conn:
        row = conn.execute(
            select(social_sellers).where(social_sellers.c.seller_id == seller_id)
        ).first()
        if row is None:
            raise SellerMissing(f"no seller {seller_id!r}")
        handles = select(social_accounts.c.handle).where(social_accounts.c.seller_id == seller_id)
        p = social_posts.c
        shown = conn.execute(
            select(social_posts)
            .where((p.platform + ":" + p.account).in_(handles))
            .order_by(p.posted_at.desc(), p.post_id)
            .limit(posts)
        ).all()
        links = conn.execute(
            select(social_links).where(social_links.c.seller_id == seller_id)
            .order_by(social_links.c.score.desc())
        ).all()  # fmt: skip
        _viewed(conn, actor, "seller", seller_id, len(shown))
    return _seller(row) | {
        "recent_posts": [
            dict(r._mapping) | {k: json.loads(r._mapping[k]) for k in
                                ("brands", "copy_words", "prices", "phones", "places")}
            for r in shown
        ],
        "links": [dict(r._mapping) | {"evidence": json.loads(r.evidence)} for r in links],
    }  # fmt: skip


def importer_sellers(engine: Engine, importer_id: str, actor: str) -> list[dict]:
    """The sellers linked to an importer, with each link's evidence."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(social_sellers, social_links.c.score, social_links.c.evidence)
            .join_from(social_links, social_sellers,
                       social_sellers.c.seller_id == social_links.c.seller_id)
            .where(social_links.c.importer_id == importer_id)
            .order_by(social_links.c.score.desc())
        ).all()  # fmt: skip
        if rows:
            _viewed(conn, actor, "importer_sellers", importer_id, len(rows))
    return [_seller(r) | {"evidence": json.loads(r.evidence)} for r in rows]


def _keep_posts(conn: Connection, seller_id: str, case_id: int) -> int:
    handles = select(social_accounts.c.handle).where(social_accounts.c.seller_id == seller_id)
    p = social_posts.c
    return conn.execute(
        update(social_posts)
        .where((p.platform + ":" + p.account).in_(handles), p.case_id.is_(None))
        .values(case_id=case_id)
    ).rowcount


def case_from_seller(engine: Engine, seller_id: str, actor: str) -> dict:
    """An analyst's case about a seller (on its strongest linked importer's last
    declaration when there is one); the seller's posts are kept for the case."""
    found = seller(engine, seller_id, actor, posts=0)
    accounts = ", ".join(found["accounts"][:3])
    brands = ", ".join(found["brands"]) or "no brand"
    importers = [link["importer_id"] for link in found["links"]]
    said = f"social media: seller {seller_id} ({accounts}) advertising copies of {brands}"
    if importers:
        said += f"; linked to {', '.join(importers[:3])}"
    case_id = open_case(engine, said, actor)
    with engine.begin() as conn:
        kept = _keep_posts(conn, seller_id, case_id)
        audit.record(conn, actor, "social.case", "seller", seller_id, None,
                     {"case_id": case_id, "posts_kept": kept})  # fmt: skip
    return {"case_id": case_id, "posts_kept": kept, "importers": importers}


def watchlist_from_seller(engine: Engine, seller_id: str, actor: str) -> dict:
    """A watchlist of the seller's linked importers for the HS chapters of the brands it
    advertises as copies."""
    from tamis.store.read import read_items

    found = seller(engine, seller_id, actor, posts=0)
    importers = [link["importer_id"] for link in found["links"]]
    if not importers:
        raise Refusal(
            f"seller {seller_id} is linked to no importer: nothing to watch",
            "social.no_importer",
            seller_id=seller_id,
        )
    chapters = brand_chapters(engine, read_items(engine).select("brand", "hs_code"))
    prefixes = sorted({c for b in found["brands"] for c in chapters.get(b.casefold(), ())})
    watch = WatchlistIn(
        name=f"social {seller_id}",
        reason=f"seller {seller_id} advertises copies of {', '.join(found['brands'])}",
        importers=importers,
        hs_prefixes=prefixes,  # none known: every good of theirs
    )
    return {"watchlist_id": create(engine, watch, actor), "importers": importers,
            "hs_prefixes": watch.hs_prefixes}  # fmt: skip


def purge(engine: Engine, actor: str = "system", days: int | None = None) -> int:
    """Delete the posts read in more than ``days`` ago (the retention setting) that no case
    holds, with their images' hashes; the number of posts deleted."""
    days = settings().social_retention_days if days is None else days
    before = audit.now() - timedelta(days=days)
    expired = select(social_posts.c.post_id).where(
        social_posts.c.ingested_at < before, social_posts.c.case_id.is_(None)
    )
    with engine.begin() as conn:
        conn.execute(delete(social_images).where(social_images.c.post_id.in_(expired)))
        gone = conn.execute(delete(social_posts).where(social_posts.c.post_id.in_(expired)))
        audit.record(conn, actor, "social.purge", "social", "posts", None,
                     {"deleted": gone.rowcount, "retention_days": days})  # fmt: skip
    return gone.rowcount
