"""Synthetic posts into a store, and how well Tamis read them against their ground truth.

``load`` attaches the synthetic photos of seized goods to cases on their importers'
declarations (catalogue photos to several honest importers' cases), ingests the exports
with their images, then groups sellers and links them. ``score`` compares what was read
and linked with ``truth.jsonl``: brand mentions per script and per disguise, phones in
E.164, and links from sellers' accounts to importers.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import Engine, select

from tamis.cases.attachments import store_attachment
from tamis.cases.cases import open_case
from tamis.social.exports import PostSummary, ingest_posts
from tamis.social.links import refresh
from tamis.social.tables import social_accounts, social_links, social_posts
from tamis.store.tables import attachments, declarations


def truth_lines(path: Path) -> tuple[list[dict], list[dict]]:
    """(posts, photos) of a synthetic truth file."""
    lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    return [t for t in lines if "post_id" in t], [t for t in lines if "photo" in t and
                                                  "post_id" not in t]  # fmt: skip


def attach_photos(engine: Engine, files, actor: str = "synthetic") -> int:
    """A case on a declaration of each importer a photo is about, with the photo attached;
    the number of photos attached."""
    _, photos = truth_lines(files.truth)
    with engine.connect() as conn:  # a second load attaches nothing twice
        done = set(conn.execute(select(attachments.c.filename)).scalars())
    attached = 0
    for photo in photos:
        if photo["photo"] in done:
            continue
        done.add(photo["photo"])
        for importer in sorted(set(photo.get("importers") or [photo["importer"]])):
            with engine.connect() as conn:
                declaration = conn.execute(
                    select(declarations.c.declaration_id)
                    .where(declarations.c.importer_id == importer)
                    .order_by(declarations.c.lodged_at.desc())
                    .limit(1)
                ).scalar()
            if declaration is None:
                continue
            said = "goods seized" if photo["kind"] == "seized" else "goods inspected"
            case_id = open_case(engine, f"{said}: photo {photo['photo']}", actor, declaration)
            with (Path(files.photos) / photo["photo"]).open("rb") as content:
                store_attachment(engine, case_id, photo["photo"], "image/jpeg", content, actor)
            attached += 1
    return attached


def load(engine: Engine, files, progress=None) -> tuple[list[PostSummary], dict]:
    """Photos on cases, the three exports ingested with their images, sellers and links."""
    attach_photos(engine, files)
    summaries = [
        ingest_posts(path, engine, images=files.images, progress=progress)
        for path in (files.zeeschuimer, files.tiktok_research, files.facebook)
    ]
    return summaries, refresh(engine)


def _ratio(hit: int, total: int) -> float | None:
    return round(hit / total, 4) if total else None


def _precision_recall(found: Counter, expected: Counter, right: Counter, key) -> dict:
    return {
        str(k): {"precision": _ratio(right[k], found[k]), "recall": _ratio(right[k], expected[k]),
                 "mentions": expected[k]}
        for k in sorted(set(found) | set(expected), key=str)
    }  # fmt: skip


def score(engine: Engine, truth: Path) -> dict:
    """Brand mentions (precision, recall) per script and per disguise; phones read exactly
    in E.164; links of accounts to importers (precision, recall)."""
    posts, _ = truth_lines(truth)
    with engine.connect() as conn:
        read = {
            r.post_id: r
            for r in conn.execute(
                select(social_posts.c.post_id, social_posts.c.platform, social_posts.c.account,
                       social_posts.c.brands, social_posts.c.phones)
            )
        }  # fmt: skip
        seller_of = dict(conn.execute(select(social_accounts)).all())
        links = defaultdict(set)
        for seller, importer in conn.execute(
            select(social_links.c.seller_id, social_links.c.importer_id)
        ):
            links[seller].add(importer)
    counts = {g: (Counter(), Counter(), Counter()) for g in ("script", "perturbation")}
    phones_right = phones_total = 0
    true_links, found_links = set(), set()
    for post in posts:
        got = read.get(post["post_id"])
        if got is None:
            continue
        brands, expected = set(json.loads(got.brands)), set(post["brands"])
        for group, (found, wanted, right) in counts.items():
            key = post[group]
            found[key] += len(brands)
            wanted[key] += len(expected)
            right[key] += len(brands & expected)
        if post["phones"]:
            phones_total += 1
            phones_right += set(post["phones"]) <= set(json.loads(got.phones))
        handle = f"{got.platform}:{got.account}"
        if post["importer"]:
            true_links.add((handle, post["importer"]))
        found_links |= {(handle, i) for i in links.get(seller_of.get(handle), ())}
    correct = len(true_links & found_links)
    return {
        "posts": len(posts),
        "posts_read": sum(p["post_id"] in read for p in posts),
        "brands": {g: _precision_recall(*counts[g], g) for g in counts},
        "phones_exact": _ratio(phones_right, phones_total),
        "links": {
            "precision": _ratio(correct, len(found_links)),
            "recall": _ratio(correct, len(true_links)),
            "true": len(true_links),
            "found": len(found_links),
        },
    }
