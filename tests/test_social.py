"""Social media end to end: exports read (and refused) as analysts bring them, sellers
grouped and linked to importers with evidence, the detector's leads in routing, who may see
the source, and what is kept or purged."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sqlalchemy import func, select, update

from tamis import audit, synth
from tamis.assess import assess_file, assessor_from_store
from tamis.ingest import ingest
from tamis.ingest.quarantine import quarantined
from tamis.intel.ingest import ingest_source
from tamis.route import RoutingConfig, route
from tamis.route.few import route_few
from tamis.social import views
from tamis.social.evaluation import load, score, truth_lines
from tamis.social.exports import ingest_posts
from tamis.social.synthetic import write_posts
from tamis.social.tables import social_images, social_links, social_posts, social_sellers
from tamis.store import open_store
from tests.conftest import login


@pytest.fixture(scope="module")
def year():
    return synth.generate(1500, 7)


@pytest.fixture(scope="module")
def posts(year, tmp_path_factory):
    return write_posts(year, tmp_path_factory.mktemp("posts"), 7, 400)


def _store_of(url, year, folder):
    engine = open_store(url)
    paths = synth.write(year, folder / "year.parquet")
    ingest(paths["items"], "canonical", engine)
    for source in synth.Synthetic.SOURCES:
        ingest_source(paths[source], source, engine)
    return engine, paths


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tmp_path_factory.mktemp("files")


@pytest.fixture(autouse=True)
def attachments_folder(files, monkeypatch):
    """The module's store keeps its case photos for every test (as conftest's, shared)."""
    for name in ("attachments", "cache", "keys"):
        monkeypatch.setenv(f"TAMIS_{name.upper()}_DIR", str(files / name))


@pytest.fixture(scope="module")
def linked(year, posts, files, tmp_path_factory):
    """A SQLite store with the year, its sources and the posts loaded and linked."""
    folder = tmp_path_factory.mktemp("linked")
    engine, paths = _store_of(f"sqlite:///{folder / 'tamis.db'}", year, folder)
    with pytest.MonkeyPatch.context() as patch:  # made before any test's own settings
        patch.setenv("TAMIS_ATTACHMENTS_DIR", str(files / "attachments"))
        summaries, refreshed = load(engine, posts)
    yield engine, summaries, refreshed, paths
    engine.dispose()


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --- reading exports -------------------------------------------------------------------


def test_every_export_is_read_and_every_post_accounted_for(linked, posts):
    engine, summaries, _, _ = linked
    for summary in summaries:
        s = summary.posts
        assert s.received == s.accepted + s.rejected and s.accepted > 0, s
    truth, _ = truth_lines(posts.truth)
    assert _count(engine, social_posts) == len(truth)


def test_broken_records_are_quarantined_with_their_reason(store, posts):
    summary = ingest_posts(posts.broken, store, images=posts.images)
    s = summary.posts
    assert s.received == s.accepted + s.rejected == 5
    reasons = set(s.rejected_by_reason)
    assert {"malformed line", "missing required field", "text too long"} <= reasons, reasons
    kept = quarantined(store, s.source_id)
    assert kept.height == s.rejected
    assert kept["detail"].str.contains("row ").all()
    assert summary.images.refused == 1  # the post is kept, its junk image is not hashed


def test_commenters_are_never_stored(linked, posts):
    engine, *_ = linked
    commenters = set()
    for line in posts.zeeschuimer.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)["data"]
        for comment in data.get("comments", []) + data.get("preview_comments", []):
            user = comment.get("user") or {}
            commenters.add(user.get("uniqueId") or user.get("username"))
    commenters.discard(None)
    assert commenters, "the export should hold comments"
    with engine.connect() as conn:
        accounts = set(conn.execute(select(social_posts.c.account)).scalars())
        texts = " ".join(conn.execute(select(social_posts.c.text)).scalars())
    assert not accounts & commenters
    assert not any(f"@{c}" in texts for c in commenters if len(c) > 4)


def test_reading_the_same_export_again_adds_nothing(store, posts):
    first = ingest_posts(posts.facebook, store).posts
    again = ingest_posts(posts.facebook, store).posts
    assert again.inserted == 0 and again.already_stored == first.accepted


def test_a_compressed_export_reads_like_the_plain_one(store, posts, tmp_path):
    packed = tmp_path / "export.ndjson.gz"
    packed.write_bytes(gzip.compress(posts.zeeschuimer.read_bytes()))
    summary = ingest_posts(packed, store).posts
    assert summary.profile == "social_zeeschuimer"
    assert summary.accepted == len(posts.zeeschuimer.read_text().splitlines())


def test_an_image_name_never_reaches_outside_the_images_folder(store, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"not for posts")
    folder = tmp_path / "images"
    folder.mkdir()
    export = tmp_path / "posts.jsonl"
    record = {"post_id": "1", "platform": "tiktok", "account": "x", "text": "Nike high copy",
              "image": "../secret.jpg"}  # fmt: skip
    export.write_text(json.dumps(record) + "\n")
    summary = ingest_posts(export, store, images=folder)
    assert summary.posts.accepted == 1 and summary.images.refused == 1
    with store.connect() as conn:
        error = conn.execute(select(social_images.c.error)).scalar_one()
    assert error == "not among the export's images"


def test_a_record_with_a_field_the_profile_does_not_read_is_refused(store, tmp_path):
    export = tmp_path / "posts.jsonl"
    lines = [
        {"post_id": "1", "platform": "tiktok", "account": "a", "text": "Nike copie"},
        {"post_id": "2", "platform": "tiktok", "account": "a", "text": "x", "phone_of_viewer": "1"},
    ]
    export.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    s = ingest_posts(export, store).posts
    assert (s.accepted, s.rejected, dict(s.rejected_by_reason)) == (1, 1, {"unknown field": 1})


# --- sellers and links -----------------------------------------------------------------


def test_sellers_are_linked_to_their_importers_with_evidence(linked, posts):
    engine, _, refreshed, _ = linked
    assert refreshed["sellers"] > 0 and refreshed["links"] > 0
    measured = score(engine, posts.truth)
    assert measured["links"]["precision"] >= 0.95, measured["links"]
    assert measured["links"]["recall"] >= 0.85, measured["links"]
    assert measured["phones_exact"] >= 0.95
    with engine.connect() as conn:
        evidence = [json.loads(e) for e in conn.execute(select(social_links.c.evidence)).scalars()]
    kinds = {step["kind"] for steps in evidence for step in steps}
    assert "phone" in kinds
    assert all(step["weight"] > 0 and step["value"] for steps in evidence for step in steps)


def test_a_phone_many_importers_share_links_none_of_them(linked, posts):
    engine, *_ = linked
    truth, _ = truth_lines(posts.truth)
    shared = {(t["post_id"].split(":")[0], t["account"]) for t in truth
              if t["negative"] == "shared_phone"}  # fmt: skip
    assert shared
    seller_of = _sellers_of(engine)
    with engine.connect() as conn:
        linked_sellers = set(conn.execute(select(social_links.c.seller_id)).scalars())
    assert not {seller_of.get(f"{p}:{a}") for p, a in shared} & linked_sellers


def _sellers_of(engine) -> dict[str, str]:
    from tamis.social.tables import social_accounts

    with engine.connect() as conn:
        return dict(conn.execute(select(social_accounts)).all())


def test_a_declaration_of_a_linked_importer_is_routed_with_a_social_reason(linked, tmp_path):
    engine, _, _, paths = linked
    out = tmp_path / "decided.parquet"
    assess_file(paths["items"], "canonical", assessor_from_store(engine), out)
    decided = pl.read_parquet(out).with_columns(
        pl.col("reasons").list.eval(pl.element().str.contains('"social.copies"')).list.any().alias("s")
    )  # fmt: skip
    importer_of = pl.read_parquet(paths["items"]).select("declaration_id", "importer_id").unique()
    flagged = decided.filter(pl.col("s")).join(importer_of, on="declaration_id")
    assert flagged.height > 0
    with engine.connect() as conn:
        importers = set(conn.execute(select(social_links.c.importer_id)).scalars())
    assert set(flagged["importer_id"]) <= importers


# --- routing: a lead never sends a declaration red alone ------------------------------


def _signal(declaration: str, score: float) -> dict:
    return {"declaration_id": declaration, "score": score, "reasons": [],
            "revenue_at_stake": None, "forced_channel": None}  # fmt: skip


@pytest.mark.parametrize(("others", "expected"), [(0.0, "orange"), (0.3, "orange"), (0.99, "red")])
def test_social_raises_a_declaration_at_most_to_orange_on_its_own(others, expected):
    """Social media is a lead: with it a declaration goes no higher than orange unless the
    other detectors alone send it higher."""
    config = RoutingConfig(weights={"social": 1.0, "rules": 1.0}, random={"rate": 0.0})
    header = [{"declaration_id": "D1", "office": "CASA", "procedure": "4000",
               "lodged_at": datetime(2026, 1, 5)}]  # fmt: skip
    signals = {"social": {"D1": _signal("D1", 0.99)}, "rules": {"D1": _signal("D1", others)}}
    few = route_few(header, signals, config, np.array([0.9]))[0]
    frames = {name: pl.DataFrame([s["D1"]], schema_overrides={"reasons": pl.List(pl.String),
              "revenue_at_stake": pl.Float64, "forced_channel": pl.String})
              for name, s in signals.items()}  # fmt: skip
    batch = route(pl.DataFrame(header), frames, config, np.array([0.9])).row(0, named=True)
    assert few["channel"] == batch["channel"] == expected


# --- who sees it, what is kept ----------------------------------------------------------


def test_only_analysts_and_admins_see_sellers_and_every_view_is_audited(anonymous):
    for role in ("inspector", "auditor", "supervisor", "partner"):
        headers = login(anonymous, role)
        assert anonymous.get("/api/social/sellers", headers=headers).status_code == 403
    headers = login(anonymous, "analyst")
    assert anonymous.get("/api/social/sellers", headers=headers).status_code == 200
    assert anonymous.get("/api/social/sellers/S-0123456789", headers=headers).status_code == 404
    assert anonymous.get("/api/social/sellers/x' or 1=1", headers=headers).status_code == 422
    engine = anonymous.app.state.engine
    viewed = [
        e for e in audit.entries(engine, actor="analyst-user") if e["action"] == "social.view"
    ]
    assert viewed


def test_an_analyst_uploads_an_export_and_an_inspector_cannot(anonymous, posts):
    content = posts.facebook.read_bytes()
    inspector = login(anonymous, "inspector")
    files = {"file": ("page.csv", content, "text/csv")}
    assert anonymous.post("/api/social/exports", files=files, headers=inspector).status_code == 403
    analyst = login(anonymous, "analyst")
    answer = anonymous.post("/api/social/exports", files=files, headers=analyst)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["received"] == body["accepted"] + body["rejected"] > 0
    assert body["refreshed"]["posts"] == body["accepted"]


def test_posts_past_retention_are_purged_unless_a_case_holds_them(year, posts, tmp_path):
    engine, _ = _store_of(f"sqlite:///{tmp_path / 'tamis.db'}", year, tmp_path)
    load(engine, posts)
    seller = views.list_sellers(engine, "analyst", linked=True, limit=1)["sellers"][0]
    opened = views.case_from_seller(engine, seller["seller_id"], "analyst")
    assert opened["posts_kept"] > 0
    with engine.begin() as conn:  # everything was read in long ago
        conn.execute(update(social_posts).values(ingested_at=audit.now() - timedelta(days=400)))
    deleted = views.purge(engine, "admin", days=365)
    assert deleted > 0
    with engine.connect() as conn:
        left = conn.execute(select(social_posts.c.case_id).distinct()).scalars().all()
    assert left == [opened["case_id"]]
    assert any(e["action"] == "social.purge" for e in audit.entries(engine, actor="admin"))


def test_a_watchlist_watches_a_sellers_importers_for_its_brands(linked):
    engine, *_ = linked
    seller = views.list_sellers(engine, "analyst", linked=True, limit=1)["sellers"][0]
    made = views.watchlist_from_seller(engine, seller["seller_id"], "analyst")
    assert made["importers"] and made["hs_prefixes"]
    unlinked = views.list_sellers(engine, "analyst", linked=False, limit=1)["sellers"]
    if unlinked:
        with pytest.raises(ValueError, match="linked to no importer"):
            views.watchlist_from_seller(engine, unlinked[0]["seller_id"], "analyst")


def test_sellers_and_links_are_rebuilt_the_same_way(linked):
    from tamis.social.links import refresh

    engine, _, first, _ = linked
    with engine.connect() as conn:
        before = conn.execute(select(social_links).order_by("seller_id", "importer_id")).all()
    again = refresh(engine)
    with engine.connect() as conn:
        after = conn.execute(select(social_links).order_by("seller_id", "importer_id")).all()
    assert again["links"] == first["links"] and _count(engine, social_sellers) == first["sellers"]
    assert [r[:3] for r in before] == [r[:3] for r in after]


def test_two_analysts_loading_the_same_export_at_once_store_each_post_once(store, posts):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda _: ingest_posts(posts.facebook, store).posts, range(2)))
    for s in done:
        assert s.received == s.accepted + s.rejected
    assert sum(s.inserted for s in done) == _count(store, social_posts) == done[0].accepted


def test_two_refreshes_at_once_leave_one_consistent_set_of_links(store, posts):
    from concurrent.futures import ThreadPoolExecutor

    from tamis.social.links import refresh

    ingest_posts(posts.zeeschuimer, store)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: refresh(store), range(2)))
    assert results[0]["sellers"] == results[1]["sellers"] == _count(store, social_sellers)
