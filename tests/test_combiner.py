"""Routing's learnt combination of detectors: bias correction, lift floor, fallback."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import polars as pl
import pytest

from tamis.assess import assessor_from_store, latest_decision
from tamis.inspections import record_outcomes, simulated_random_results
from tamis.learn import combiner, registry
from tamis.learn.outcomes import decided_and_found, lift
from tamis.route import RoutingConfig, route
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


def test_a_detector_that_scores_every_declaration_is_judged_where_its_score_is_high():
    """A model's probability is above 0 for every declaration, so all of them are its flags
    at 0 (lift 1); where its score is high it finds frauds four times as often as chance."""
    rng = np.random.default_rng(5)
    n = 20_000
    p = rng.random(n)
    fraud = rng.random(n) < np.where(p > 0.75, 0.4, 0.03)
    chosen, drawn = p > 0.75, rng.random(n) < 0.02
    labelled = pl.DataFrame(
        {
            "model__score": p,
            "revenue_at_stake": np.zeros(n),
            "selection_chance": np.where(chosen, 1.0, 0.02),
            "random_selected": drawn.astype(int),
            "fraud": fraud,
            "revenue_recovered": np.where(fraud, 100.0, 0.0),
        }
    ).filter(pl.Series(chosen | drawn))
    assert 0.8 < lift(labelled, "model")["lift"] < 1.25
    learnt, left_out = combiner.fit(labelled, ["model"], Learning(lift_floor=1.5))
    assert left_out == {}
    assert learnt.terms["model"][-1] > 1.5  # the step above 0.75 weighs


def test_decisions_made_before_a_detector_existed_do_not_count_as_its_scores_of_zero():
    """The first half of the history was decided before the model was trained (no score
    of it) and found more fraud than the second, where the model scores every declaration:
    its absence, not its every score, stands for the difference. A combination that read
    the absence as a score of 0 would learn that any score of the model means less fraud,
    and routing would trust it least where it says most."""
    rng = np.random.default_rng(7)
    n = 8_000
    early = np.arange(n) < n // 2
    fraud = rng.random(n) < np.where(early, 0.3, 0.1)
    model = np.where(fraud, rng.uniform(0.3, 0.6, n), rng.uniform(0.01, 0.2, n))
    labelled = pl.DataFrame(
        {
            "model__score": pl.Series(np.where(early, np.nan, model)).fill_nan(None),
            "revenue_at_stake": np.zeros(n),
            "selection_chance": np.ones(n),
            "random_selected": np.zeros(n, int),
            "fraud": fraud,
            "revenue_recovered": np.where(fraud, 100.0, 0.0),
        }
    )
    learnt, _ = combiner.fit(labelled, ["model"], Learning(lift_floor=0.0))
    assert learnt.absent["model"] > 0.5  # before the model, more fraud was found
    in_use = 1 - math.exp(learnt.log_not_fraud_of({"model": 0.5}, None))
    assert in_use > 0.8  # a score the model gives frauds reads as fraud
    # with the model out of use, a declaration reads as those decided before it existed
    without = 1 - math.exp(learnt.log_not_fraud_of({}, None))
    assert without == pytest.approx(0.3, abs=0.03)
    batch = pl.DataFrame({"d": ["D1"]}).select(learnt.log_not_fraud(()).exp())
    assert 1 - batch.item() == pytest.approx(without)


def test_each_rule_inspected_often_enough_weighs_on_its_own():
    """Two profiles of the same analyst's weight (the same rules score when either hits):
    A's hits were frauds six times in ten, B's once in twenty. Learnt, A's hit weighs more
    than B's, and a declaration A hits scores higher than one B hits."""
    rng = np.random.default_rng(11)
    n = 3_000
    which = rng.integers(0, 3, n)  # 0: A hits, 1: B hits, 2: neither
    fraud = rng.random(n) < np.array([0.6, 0.05, 0.05])[which]
    labelled = pl.DataFrame(
        {
            "rules__score": np.where(which < 2, 0.3, 0.0),
            "rule:R-A__score": (which == 0).astype(float),
            "rule:R-B__score": (which == 1).astype(float),
            "revenue_at_stake": np.zeros(n),
            "selection_chance": np.ones(n),
            "random_selected": np.zeros(n, int),
            "fraud": fraud,
            "revenue_recovered": np.where(fraud, 100.0, 0.0),
        }
    )
    learnt, _ = combiner.fit(
        labelled, ["rules"], Learning(lift_floor=0.0), ["rule:R-A", "rule:R-B"]
    )
    assert learnt.rules["R-A"] > learnt.rules["R-B"] + 1.0
    config = RoutingConfig(combiner=learnt.model_copy(update={"version": 1}))
    hit = ['{"code":"rules.hit","rule":"R-A"}'], ['{"code":"rules.hit","rule":"R-B"}']
    signals = pl.DataFrame(
        {"declaration_id": ["D0", "D1"], "score": [0.3, 0.3], "reasons": list(hit),
         "revenue_at_stake": [None, None], "forced_channel": [None, None]},
        schema_overrides={"revenue_at_stake": pl.Float64, "forced_channel": pl.String},
    )  # fmt: skip
    header = pl.DataFrame(
        {"declaration_id": ["D0", "D1"], "office": ["A", "A"], "procedure": ["4000"] * 2,
         "lodged_at": [datetime(2025, 3, 3)] * 2}
    )  # fmt: skip
    scores = route(header, {"rules": signals}, config, np.array([0.9, 0.9]))["score"]
    assert scores[0] > 0.4 > 0.1 > scores[1]


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
