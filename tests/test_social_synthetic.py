"""Synthetic social-media posts: the exports' shapes, their ground truth, hard negatives."""

import csv
import functools
import json
import re
import unicodedata
from collections import Counter, defaultdict

import numpy as np
import pytest
from PIL import Image

from tamis.social.synthetic import FACEBOOK_COLUMNS, NEGATIVES, PERTURBATIONS, SCRIPTS, write_posts
from tamis.synth import AUTHORISED_DISTRIBUTORS, generate

POSTS = 300
ZEESCHUIMER_FIELDS = {
    "id",
    "item_id",
    "timestamp_collected",
    "source_platform",
    "source_platform_url",
    "source_url",
    "user_agent",
    "data",
}


@pytest.fixture(scope="module")
def synthetic():
    return generate(3000, 5)


@pytest.fixture(scope="module")
def files(synthetic, tmp_path_factory):
    return write_posts(synthetic, tmp_path_factory.mktemp("posts"), seed=11, posts=POSTS)


@pytest.fixture(scope="module")
def truth(files):
    lines = [json.loads(line) for line in files.truth.read_text(encoding="utf-8").splitlines()]
    posts = {line["post_id"]: line for line in lines if "post_id" in line}
    photos = {line["photo"]: line for line in lines if "post_id" not in line}
    assert len(posts) + len(photos) == len(lines)
    return posts, photos


@pytest.fixture(scope="module")
def exported(files):
    """post id -> (text, display name or None, image or None) as the three files give them."""
    found = []
    for line in files.zeeschuimer.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        data = record["data"]
        if record["source_platform"] == "tiktok.com":
            post = (data["desc"], data["author"]["nickname"], data["video"]["cover"])
            found.append((f"tiktok:{data['id']}", post))
        else:
            image = data["image_versions2"]["candidates"][0]["url"]
            post = (data["caption"]["text"], data["user"]["full_name"], image)
            found.append((f"instagram:{data['id']}", post))
    for page in json.loads(files.tiktok_research.read_text(encoding="utf-8")):
        for video in page["data"]["videos"]:
            found.append((f"tiktok:{video['id']}", (video["video_description"], None, None)))
    with files.facebook.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            post = (row["text"], row["post_owner.name"], row["multimedia"] or None)
            found.append((f"facebook:{row['id']}", post))
    ids = Counter(post_id for post_id, _ in found)
    assert max(ids.values()) == 1
    return dict(found)


def tax_phones(synthetic) -> dict[str, set[str]]:
    holders = defaultdict(set)
    for entity, phone in synthetic.tax_returns.select("company_entity", "phone").iter_rows():
        holders["+212" + phone[1:]].add(entity)
    return holders


def digits(text: str) -> str:
    """The text's digits in ASCII, whatever digits and invisible characters it used."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.digit(c)) for c in text if c.isdigit())


@functools.cache
def thumbnail(path, mirror=False) -> np.ndarray:
    with Image.open(path) as image:
        if mirror:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return np.asarray(image.convert("L").resize((32, 24)), float)


def test_the_same_seed_writes_the_same_bytes(synthetic, files, tmp_path):
    again = write_posts(synthetic, tmp_path / "again", seed=11, posts=POSTS)

    def tree(root):
        return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert tree(files.truth.parent) == tree(again.truth.parent)
    other = write_posts(synthetic, tmp_path / "other", seed=12, posts=50)
    assert other.truth.read_bytes() != files.truth.read_bytes()


def test_every_post_has_one_truth_line_and_the_files_their_shares(truth, exported):
    posts, _ = truth
    assert set(exported) == set(posts)
    assert len(posts) == POSTS
    shares = Counter(line["file"] for line in posts.values())
    assert 0.5 < shares["zeeschuimer"] / POSTS < 0.7
    assert 0.17 < shares["tiktok_research"] / POSTS < 0.33
    assert 0.08 < shares["facebook"] / POSTS < 0.22


def test_the_three_scripts_and_every_perturbation_occur(truth, exported):
    posts, _ = truth
    assert {line["script"] for line in posts.values()} == set(SCRIPTS)
    assert {line["perturbation"] for line in posts.values()} == set(PERTURBATIONS)
    for post_id, line in posts.items():
        text = exported[post_id][0]
        assert bool(re.search("[\u0600-\u06ff]", text)) >= (line["script"] == "arabic"), text
    obfuscations = {how for line in posts.values() for how in line["obfuscation"]}
    assert {"alias", "doubled", "arabic"} <= obfuscations


def test_the_exports_have_the_documented_fields(files):
    records = [json.loads(line) for line in files.zeeschuimer.read_text("utf-8").splitlines()]
    assert all(set(record) == ZEESCHUIMER_FIELDS for record in records)
    assert {record["source_platform"] for record in records} == {"tiktok.com", "instagram.com"}
    tiktok = [r["data"] for r in records if r["source_platform"] == "tiktok.com"]
    instagram = [r["data"] for r in records if r["source_platform"] == "instagram.com"]
    for data in tiktok:
        assert {"id", "desc", "createTime", "author", "video", "stats", "comments"} <= set(data)
        assert isinstance(data["createTime"], int) and data["id"].startswith("7")
        assert {"uniqueId", "nickname", "signature"} <= set(data["author"])
        assert (files.images / data["video"]["cover"]).is_file()
    for data in instagram:
        assert {"id", "code", "taken_at", "caption", "user", "image_versions2"} <= set(data)
        assert {"username", "full_name"} <= set(data["user"])
        candidate = data["image_versions2"]["candidates"][0]
        with Image.open(files.images / candidate["url"]) as image:
            assert image.size == (candidate["width"], candidate["height"])
    comments = [c for data in tiktok for c in data["comments"]]
    comments += [c for data in instagram for c in data["preview_comments"]]
    assert comments and all(comment["text"] for comment in comments)

    pages = json.loads(files.tiktok_research.read_text("utf-8"))
    assert [page["data"]["has_more"] for page in pages] == [True] * (len(pages) - 1) + [False]
    for page in pages:
        assert page["error"]["code"] == "ok" and page["data"]["search_id"]
        for video in page["data"]["videos"]:
            assert isinstance(video["id"], int) and video["region_code"] == "MA"
            assert {"video_description", "create_time", "username", "hashtag_names"} <= set(video)
            assert "voice_to_text" in video

    with files.facebook.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    assert tuple(rows[0]) == FACEBOOK_COLUMNS
    for row in map(dict, (zip(FACEBOOK_COLUMNS, r, strict=True) for r in rows[1:])):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", row["creation_time"])
        assert row["multimedia"] == "" or (files.images / row["multimedia"]).is_file()
        assert int(row["reactions"]) >= 0


def test_planted_phones_are_written_and_belong_to_the_right_importer(synthetic, truth, exported):
    posts, _ = truth
    holders = tax_phones(synthetic)
    linked = defaultdict(set)
    for post_id, line in posts.items():
        text = digits(exported[post_id][0])
        for phone in line["phones"]:
            assert phone[4:] in text, (post_id, phone, exported[post_id][0])
            if line["negative"] == "shared_phone":
                assert len(holders[phone]) > 1 and line["importer"] is None
            elif phone in holders:
                assert holders[phone] == {line["importer"]}
                linked[line["importer"]].add(phone)
            else:
                assert phone[:5] in ("+2126", "+2127")  # a seller's own mobile
    counterfeiters = {line["importer"] for line in posts.values() if line["negative"] is None}
    with_phone = {i for i in counterfeiters if any(holders[p] == {i} for p in holders)}
    assert with_phone and with_phone <= set(linked)


def test_hard_negatives_of_every_kind_are_planted(synthetic, truth, exported):
    posts, photos = truth
    by_kind = defaultdict(list)
    for post_id, line in posts.items():
        by_kind[line["negative"]].append((post_id, line))
    assert set(NEGATIVES) <= set(by_kind)
    holders = tax_phones(synthetic)

    for _, line in by_kind["authorised_reseller"]:
        assert not line["copy_ad"] and line["brands"]
        assert all(line["importer"] in AUTHORISED_DISTRIBUTORS[b] for b in line["brands"])
    for _, line in by_kind["shared_phone"]:
        assert line["phones"] and all(len(holders[p]) > 1 for p in line["phones"])
    importer_names = set(synthetic.items["importer_name"])
    for post_id, _ in by_kind["common_name"]:
        name = exported[post_id][1]
        if name:
            word = name.split()[0].upper()
            assert sum(f" {word} " in f" {n} " for n in importer_names) >= 2, name
    for _, line in by_kind["catalogue_photo"]:
        if line["photo"]:
            assert photos[line["photo"]]["kind"] == "catalogue"
            assert len(photos[line["photo"]]["importers"]) >= 2
    for _, line in by_kind["no_importer"]:
        assert line["copy_ad"] and not any(p in holders for p in line["phones"])
    for _, line in by_kind["ambiguous_word"]:
        assert line["brands"] == [] and not line["copy_ad"]
    for _, line in by_kind["no_phone"]:
        assert line["phones"] == [] and line["importer"] and line["copy_ad"]
    for kind in ("shared_phone", "common_name", "catalogue_photo", "no_importer"):
        assert all(line["importer"] is None for _, line in by_kind[kind])


def test_posts_reuse_their_importers_seized_photos_edited(files, truth):
    posts, photos = truth
    for name, line in photos.items():
        assert name.startswith(line["importer"] + "_") and line["importer"] in line["importers"]
        with Image.open(files.photos / name) as image:
            image.load()
    seized = Counter(line["importer"] for line in photos.values() if line["kind"] == "seized")
    assert seized and max(seized.values()) <= 3
    catalogue = [line for line in photos.values() if line["kind"] == "catalogue"]
    assert 3 <= len({tuple(line["importers"]) for line in catalogue}) <= 5

    shown = [line for line in posts.values() if line["negative"] is None and line["photo"]]
    assert shown
    for line in shown:
        source = photos[line["photo"]]
        assert source["kind"] == "seized" and source["importer"] == line["importer"]
        edits = line["image_edits"]
        assert 0.05 <= edits["crop"] <= 0.10 and 40 <= edits["quality"] <= 70
        with (
            Image.open(files.images / line["image"]) as image,
            Image.open(files.photos / line["photo"]) as photo,
        ):
            assert image.format == "JPEG" and image.width < photo.width
        post = thumbnail(files.images / line["image"], mirror=edits["mirror"])
        own = np.abs(post - thumbnail(files.photos / line["photo"])).mean()
        others = [name for name, s in photos.items() if s["importer"] != line["importer"]]
        nearest_other = min(np.abs(post - thumbnail(files.photos / p)).mean() for p in others)
        assert own < nearest_other


def test_the_broken_file_holds_one_of_each_trap(files):
    lines = files.broken.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])
    records = [json.loads(line) for line in lines[1:]]
    texts = [r["data"].get("desc", r["data"].get("caption", {}).get("text")) for r in records[:3]]
    assert texts[0] == "" and len(texts[1]) == 200_000
    junk = records[2]["data"]["image_versions2"]["candidates"][0]["url"]
    with pytest.raises(OSError), Image.open(files.images / junk) as image:
        image.load()
    assert "data" not in records[3] and not set(records[3]) <= ZEESCHUIMER_FIELDS
