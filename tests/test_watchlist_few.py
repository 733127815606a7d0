"""Watchlists on a lodged declaration (plain Python) match as on a batch (Polars)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from tamis import synth
from tamis.cases.watchlists import WatchlistIn, all_watchlists, create, match, match_rows
from tamis.detectors.base import ItemRows
from tamis.detectors.watchlist import WatchlistDetector
from tamis.store import open_store

LISTS = [
    WatchlistIn(name="shoes", reason="footwear fraud", hs_prefixes=["64", "6403"]),
    WatchlistIn(name="Phones", reason="a scam wave", keywords=["PHONE", "samsung"],
                route_channel="yellow"),
    WatchlistIn(name="chinese textiles", reason="quota", hs_prefixes=["61", "62"],
                origins=["CN"], route_channel="red"),
    WatchlistIn(name="one importer's", reason="a tip-off", keywords=["oil", "shoe"],
                importers=["IMP001552", "IMP000185", "IMP000251"], route_channel="orange"),
    WatchlistIn(name="spring", reason="a season", hs_prefixes=["84", "85"],
                valid_from=datetime(2025, 3, 1), valid_to=datetime(2025, 5, 31)),
]  # fmt: skip


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    engine = open_store(f"sqlite:///{tmp_path_factory.mktemp('w') / 'tamis.db'}")
    for watchlist in LISTS:
        create(engine, watchlist, "test")
    yield all_watchlists(engine, active_only=True)
    engine.dispose()


@pytest.fixture(scope="module")
def declarations() -> list[pl.DataFrame]:
    items = synth.generate(1500, 3).items
    return items.partition_by("declaration_id", maintain_order=True)


def test_a_few_items_hit_the_lists_a_batch_hits(lists, declarations):
    hit_by = set()
    for items in declarations:
        expected = match(items, lists).to_dicts()
        assert match_rows(items.rows(named=True), lists) == expected
        hit_by |= {h["watchlist_id"] for h in expected}
    assert hit_by == {w.watchlist_id for w in lists}  # every kind of criterion was met


def test_a_lodged_declaration_gets_the_watchlist_signal_of_a_batch(lists, declarations):
    detector = WatchlistDetector(lists)
    forced = 0
    for items in declarations[:600]:
        (expected,) = detector.assess(items).to_dicts()
        (got,) = detector.assess_rows(ItemRows(items.rows(named=True), items.schema)).values()
        assert got == expected
        forced += got["forced_channel"] is not None
    assert forced > 20


def test_text_that_is_not_ascii_is_left_to_polars(lists, declarations):
    items = declarations[0].with_columns(pl.lit("Téléphone portable").alias("description"))
    assert match_rows(items.rows(named=True), lists) is None
    detector = WatchlistDetector(lists)
    (expected,) = detector.assess(items).to_dicts()
    assert detector.assess_rows(ItemRows(items.rows(named=True), items.schema)) == {
        expected["declaration_id"]: expected
    }
