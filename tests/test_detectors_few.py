"""The plain-Python lodgement path of each detector (``assess_rows``) against its batch path
(``assess``), declaration by declaration, on a store where every detector exists: the same
score, revenue at stake, forced channel and reasons (as data and in words)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import numpy as np
import polars as pl
import pytest

from tamis.assess import store_context
from tamis.detectors.base import Detector, ItemRows, by_declaration
from tamis.detectors.registry import DETECTORS
from tamis.inspections import record_outcomes, simulated_random_results
from tamis.intel import network
from tamis.intel.resolve import resolve
from tamis.reasons import parse, render
from tamis.route import load_routing
from tamis.transit import synthetic as transit_synthetic
from tests.intel_store import loaded_store

col = pl.col
# detectors with a plain assess_rows of their own, and the reasons their cases must give
PLAIN = {
    "anomaly": {"anomaly.unusual"},
    "network": {"network.risk"},
    "manifest": {"manifest.mass", "manifest.goods", "manifest.uncleared"},
    "brands": {"brands.counterfeit", "brands.parallel", "brands.unpriced"},
    "payments": {"payments.over", "payments.unsettled"},
    "tax": {"tax.above", "tax.below"},
    "transit": {"transit.record"},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(engine, the detectors with a plain path, the store's items)."""
    folder = tmp_path_factory.mktemp("few")
    engine, year = loaded_store(f"sqlite:///{folder / 'tamis.db'}", folder, 3000, 5)
    record_outcomes(engine, simulated_random_results(year.items, 0.08, seed=5))
    resolve(engine)
    network.build(engine)
    holders = year.items["importer_id"].unique().sort().to_list()[:60]
    moved, _ = transit_synthetic.messages(
        holders, 200, datetime(2025, 1, 1), 300, seed=5, fraud_rate=0.2, risky=set(holders[:10])
    )
    transit_synthetic.load(engine, moved, datetime(2026, 1, 1))
    context = store_context(engine, load_routing())
    detectors = {d.name: d.from_store(engine, context) for d in DETECTORS if d.name in PLAIN}
    yield engine, detectors, context.items
    engine.dispose()


def cases(detector, items: pl.DataFrame) -> list[pl.DataFrame]:
    """A few hundred lodgements: stored declarations (every one the detector flags among
    them, multi-item ones), the same lodged later under a new id, by new parties, by an
    importer the detector has findings about, of goods never seen, and several lodged together
    (some of one importer in one quarter)."""
    signals = detector.assess(items)
    flagged = signals.filter(col("score") > 0)["declaration_id"]
    multi = items.group_by("declaration_id").len().filter(col("len") > 1)["declaration_id"]
    rng = np.random.default_rng(19)
    ids = items["declaration_id"].unique(maintain_order=True).to_list()
    chosen = (
        flagged.head(120).to_list()
        + multi.sort().head(40).to_list()
        + [ids[i] for i in rng.choice(len(ids), 80, replace=False)]
    )
    stored = [items.filter(col("declaration_id") == d) for d in dict.fromkeys(chosen)]
    risky = items.filter(col("declaration_id").is_in(flagged.implode()))["importer_id"]
    risky = risky.unique(maintain_order=True).to_list() or ["NOBODY"]
    found = list(stored)
    for i, one in enumerate(stored[::2]):
        found.append(
            one.with_columns(
                ("L-" + col("declaration_id")).alias("declaration_id"),
                col("lodged_at") + timedelta(days=365 if i % 2 else 20),
            )
        )
    for one in stored[1::3]:
        found.append(
            one.with_columns(
                ("N-" + col("declaration_id")).alias("declaration_id"),
                *(
                    ("NEW-" + col(c)).alias(c)
                    for c in ("importer_id", "declarant_id", "supplier_id")
                ),
            )
        )
    for i, one in enumerate(stored[2::3]):
        found.append(
            one.with_columns(
                ("R-" + col("declaration_id")).alias("declaration_id"),
                pl.lit(risky[i % len(risky)]).alias("importer_id"),
            )
        )
    for one in stored[::4]:  # goods never seen, said with an accent
        found.append(
            one.with_columns(
                ("X-" + col("declaration_id")).alias("declaration_id"),
                ("9999" + col("hs_code").str.slice(4)).alias("hs_code"),
                ("ÉCHANTILLON " + col("description")).alias("description"),
                pl.lit("ZZ").alias("origin_country"),
            )
        )
    found += [pl.concat(stored[i : i + 3]) for i in range(0, 30, 3)]
    by_importer = (
        items.filter(col("declaration_id").is_in(flagged.implode()))
        .sort("lodged_at")
        .group_by("importer_id", col("lodged_at").dt.truncate("1q"), maintain_order=True)
        .agg(col("declaration_id").unique(maintain_order=True).head(3))
        .filter(col("declaration_id").list.len() > 1)
    )
    for together in by_importer["declaration_id"].head(15):  # an importer's, one quarter's
        found.append(items.filter(col("declaration_id").is_in(together.implode())))
    return found


def goods_of_uncleared_bills(detector, items: pl.DataFrame) -> list[pl.DataFrame]:
    """Stored declarations of goods under the heading of an overdue bill never cleared, lodged
    by its consignee before, on and after the first and last days of the bill's window."""
    window = 2 * detector.grace_days
    found = []
    for importer_id, heading, arrival, bill in detector.overdue_.head(20).iter_rows():
        same = items.filter(col("hs_code").str.starts_with(heading))["declaration_id"].head(1)
        stored = items.filter(col("declaration_id").is_in(same.implode()))
        arrived = datetime.combine(arrival, time(10))
        found += [
            stored.with_columns(
                pl.lit(f"U-{bill}{days:+}").alias("declaration_id"),
                pl.lit(importer_id).alias("importer_id"),
                pl.lit(arrived + timedelta(days)).alias("lodged_at"),
            )
            for days in (-1, 0, window, window + 1)
        ]
    return found


EXTRA_CASES = {"manifest": goods_of_uncleared_bills}


def assert_same(plain: dict[str, dict], batch: dict[str, dict]) -> None:
    assert plain.keys() == batch.keys()
    for declaration_id, want in batch.items():
        got = plain[declaration_id]
        where = f"{declaration_id}: {got} != {want}"
        assert got["score"] == pytest.approx(want["score"], abs=1e-12, rel=0), where
        assert got["forced_channel"] == want["forced_channel"], where
        if want["revenue_at_stake"] is None:
            assert got["revenue_at_stake"] is None, where
        else:
            assert got["revenue_at_stake"] == pytest.approx(want["revenue_at_stake"], rel=1e-9)
        assert [parse(r) for r in got["reasons"]] == [parse(r) for r in want["reasons"]], where
        assert [render(r, "en") for r in got["reasons"]] == [
            render(r, "en") for r in want["reasons"]
        ], where


@pytest.mark.parametrize("name", PLAIN)
def test_a_lodgement_gets_the_batch_signal_in_plain_python(built, name):
    _, detectors, items = built
    detector = detectors[name]
    assert detector is not None and type(detector).assess_rows is not Detector.assess_rows
    flagged, codes = 0, set()
    extra = EXTRA_CASES.get(name, lambda detector, items: [])
    for frame in cases(detector, items) + extra(detector, items):
        batch = by_declaration(detector.assess(frame))
        assert_same(detector.assess_rows(ItemRows(frame.rows(named=True), frame.schema)), batch)
        flagged += sum(bool(s["reasons"]) for s in batch.values())
        codes |= {parse(r)["code"] for s in batch.values() for r in s["reasons"]}
    assert flagged >= 20, f"{name}: too few signals to compare"
    assert codes >= PLAIN[name], f"{name}: no case gives {PLAIN[name] - codes}"


def test_an_empty_lodgement_gives_no_signal(built):
    _, detectors, items = built
    for detector in detectors.values():
        assert detector.assess_rows(ItemRows([], items.schema)) == {}


def test_the_plain_forest_scores_as_scikit_learn(built):
    _, detectors, items = built
    detector = detectors["anomaly"]
    from tamis.detectors.anomaly import _numbers

    x = _numbers(items, detector.hs_medians_).to_numpy()
    x = np.vstack([x, x * 1.7, x[:, ::-1], np.full((1, x.shape[1]), np.nan)])
    want = -detector.forest_.score_samples(x)
    got = detector.plain().forest.isolation(x)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_a_lodgement_gets_the_social_batch_signal_in_plain_python(built):
    """Leads on importers' chapters the store holds, at prices from none to ten times the
    items' unit values: the lead and the resale reasons, in plain Python as in the batch."""
    from tamis.detectors.social import SocialDetector
    from tamis.reasons import reason

    _, _, items = built
    pairs = (
        items.select("importer_id", chapter=col("hs_code").str.slice(0, 2))
        .unique(maintain_order=True)
        .head(300)
    )
    rng = np.random.default_rng(23)
    leads = pairs.with_columns(
        score=pl.Series(rng.uniform(0.05, 0.5, pairs.height).round(4)),
        reason=pl.Series(
            [
                reason(
                    "social.copies",
                    seller=f"S-{n}",
                    platform="tiktok",
                    account=f"a{n}",
                    brand="Nike",
                    posts=n + 1,
                    price=None,
                    importer=i,
                    band_low=False,
                    band_high=False,
                )
                for n, i in enumerate(pairs["importer_id"])
            ]
        ),  # fmt: skip
        price=pl.Series(
            [
                None if n % 5 == 0 else float(rng.choice([1, 20, 500, 20_000]))
                for n in range(pairs.height)
            ],
            dtype=pl.Float64,
        ),  # fmt: skip
    )
    detector = SocialDetector(leads)
    codes = set()
    for frame in cases(detector, items):
        batch = by_declaration(detector.assess(frame))
        assert_same(detector.assess_rows(ItemRows(frame.rows(named=True), frame.schema)), batch)
        codes |= {parse(r)["code"] for s in batch.values() for r in s["reasons"]}
    assert codes == {"social.copies", "social.resale"}
