"""Routing's learnt combination of detectors: bias correction, lift floor, fallback."""

from __future__ import annotations

import numpy as np
import polars as pl

from tamis.assess import assessor_from_store, latest_decision
from tamis.inspections import record_outcomes, simulated_random_results
from tamis.learn import combiner, registry
from tamis.learn.outcomes import decided_and_found, lift
from tamis.route.combiner import Learning
from tests.stores import assessed_store


def biased_history(n: int = 60_000, seed: int = 3) -> pl.DataFrame:
    """Declarations where detector ``a`` flags half of them at random (it knows nothing) and
    ``b`` flags most of a risky fifth (30 % frauds against 3 %) and a few others. Officers
    inspected every declaration that both ``a`` flagged and a sign of their own marked risky
    (the risky fifth, which ``b`` only partly sees): among the inspected, ``a``'s flags look
    like hits. The rest was inspected by a 2 % random selection."""
    rng = np.random.default_rng(seed)
    risky = rng.random(n) < 0.2
    a = rng.random(n) < 0.5
    fraud = rng.random(n) < np.where(risky, 0.3, 0.03)
    chosen = a & risky
    drawn = rng.random(n) < 0.02
    inspected = chosen | drawn
    frame = pl.DataFrame(
        {
            "a__score": np.where(a, 0.8, 0.0),
            "b__score": np.where(rng.random(n) < np.where(risky, 0.7, 0.05), 0.6, 0.0),
            "revenue_at_stake": np.zeros(n),
            "selection_chance": np.where(chosen, 1.0, 0.02),
            "random_selected": drawn.astype(int),  # drawn whatever else chose it
            "fraud": fraud,
            "revenue_recovered": np.where(fraud, 100.0, 0.0),
        }
    )
    return frame.filter(pl.Series(inspected))


def test_a_detector_that_only_looks_good_because_it_is_inspected_more_is_not_rewarded():
    labelled = biased_history()
    naive = labelled.with_columns(pl.lit(1.0).alias("selection_chance"))
    assert lift(naive, "a")["lift"] > 1.4  # counted naively, a's flags look risky
    assert 0.8 < lift(labelled, "a")["lift"] < 1.25  # weighted: no better than any
    assert lift(labelled, "b")["lift"] > 2.0
    keep_all = Learning(lift_floor=0.0, max_weight=50.0)
    weighted, _ = combiner.fit(labelled, ["a", "b"], keep_all)
    unweighted, _ = combiner.fit(naive, ["a", "b"], keep_all)
    assert abs(sum(weighted.terms["a"])) < 0.35
    assert sum(unweighted.terms["a"]) > 0.5
    assert sum(weighted.terms["b"]) > 1.0


def test_a_detector_under_the_lift_floor_gets_no_weight_and_says_why():
    learnt, left_out = combiner.fit(biased_history(), ["a", "b"], Learning(lift_floor=1.5))
    assert learnt.terms["a"] == [0.0] * 4
    assert left_out["a"]["floor"] == 1.5 and left_out["a"]["lift"] < 1.5
    assert "b" not in left_out


def test_routing_keeps_its_fixed_weights_until_there_are_results_enough(store, tmp_path):
    assessed_store(store, tmp_path, declarations=600)
    assert combiner.train(store, Learning(min_results=10_000)) is None
    fixed = assessor_from_store(store)
    assert fixed.routing.combiner is None and fixed.routing.combination == "weights"
    found = decided_and_found(store)
    inspected = found.filter(pl.col("fraud").is_not_null())
    assert inspected.height and inspected["selection_chance"].is_between(0, 1).all()
    assert latest_decision(store, found["declaration_id"][0])["combiner"] == "weights"

    truth = pl.read_parquet(tmp_path / "year.parquet")  # inspected more, at random
    record_outcomes(store, simulated_random_results(truth, 0.3, seed=2))
    learning = Learning(min_results=10, min_frauds=1, lift_floor=0.0)
    version = combiner.train(store, learning, comment="first")
    assert version is not None and combiner.active(store).version == version
    learnt = assessor_from_store(store)
    assert learnt.routing.combination == f"learnt:{version}"
    assert registry.active(store) is None  # a routing model is not a fraud model
    second = combiner.train(store, learning)
    registry.promote(store, second, combiner.KIND)
    assert combiner.active(store).version == second
    assert registry.rollback(store, combiner.KIND) == version
    assert combiner.active(store).version == version


def test_a_rule_under_the_lift_floor_adds_nothing_but_still_says_it_hit(store, tmp_path):
    assessed_store(store, tmp_path, declarations=600)
    truth = pl.read_parquet(tmp_path / "year.parquet")
    record_outcomes(store, simulated_random_results(truth, 0.5, seed=3))
    judge_all = Learning(min_results=10, min_frauds=1, lift_floor=1000, min_flagged=1)
    combiner.train(store, judge_all)
    cut = combiner.active(store).rules_cut
    assert cut and all(why["floor"] == 1000 for why in cut.values())
    assessor = assessor_from_store(store)
    rules = next(d for d in assessor.detectors if d.name == "rules")
    assert rules.cut == set(cut)
    signals = rules.assess(truth)
    hit = signals.filter(pl.col("reasons").list.len() > 0, pl.col("forced_channel").is_null())
    assert hit.height and (hit["score"] == 0).all()  # every rule cut: hits, no score
