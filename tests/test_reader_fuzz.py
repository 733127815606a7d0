"""Every file reader against random bytes, random cuts and random encodings: a file is
refused whole with its reason (``SourceError``) or read with its figures, and then rows
in = rows accepted + rows rejected. Never a traceback."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tamis.ingest import SourceError, ingest
from tamis.social.exports import ingest_posts
from tamis.store import open_store

HEADER = (
    "declaration_id,lodged_at,office,importer_id,item_number,hs_code,origin_country,"
    "customs_value,invoice_amount,invoice_currency,net_mass_kg,description\n"
)
ROW = "D{n},2025-03-01 10:00:00,CASA-PORT,IMP1,1,6403990000,CN,1000.50,100.05,USD,12.5,shoes\n"
POST = '{{"post_id": "{n}", "platform": "tiktok", "account": "a", "text": "Nike copie {n}"}}\n'
ENCODINGS = ("utf-8", "latin-1", "utf-16", "cp1256")
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


def _garbled(data: st.DataObject, good: bytes) -> bytes:
    """A good file cut somewhere, with random bytes spliced in, in some encoding."""
    text = good.decode()
    encoding = data.draw(st.sampled_from(ENCODINGS))
    raw = text.encode(encoding, errors="replace")
    cut = data.draw(st.integers(0, len(raw)))
    splice = data.draw(st.binary(max_size=64))
    at = data.draw(st.integers(0, cut))
    raw = raw[:at] + splice + raw[at:cut]
    return gzip.compress(raw) if data.draw(st.booleans()) else raw


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """One store for every example: a file's source id is its content's digest."""
    engine = open_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'tamis.db'}")
    yield engine
    engine.dispose()


def _figures_hold(summary) -> None:
    assert summary.received == summary.accepted + summary.rejected


@FUZZ
@given(data=st.data(), suffix=st.sampled_from([".csv", ".jsonl", ".parquet"]))
def test_declaration_readers_never_crash(engine, tmp_path_factory, data, suffix):
    folder = tmp_path_factory.mktemp("fuzz")
    good = (HEADER + "".join(ROW.format(n=n) for n in range(20))).encode()
    path = folder / f"declarations{suffix}"
    path.write_bytes(_garbled(data, good))
    try:
        _figures_hold(ingest(path, "canonical", engine))
    except SourceError as refused:
        assert str(refused)


@FUZZ
@given(data=st.data(), suffix=st.sampled_from([".jsonl", ".json", ".csv"]))
def test_post_readers_never_crash(engine, tmp_path_factory, data, suffix):
    folder = tmp_path_factory.mktemp("fuzz")
    good = "".join(POST.format(n=n) for n in range(20)).encode()
    path = folder / f"posts{suffix}"
    path.write_bytes(_garbled(data, good))
    try:
        _figures_hold(ingest_posts(path, engine, "social_posts").posts)
    except SourceError as refused:
        assert str(refused)
