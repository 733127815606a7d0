"""Routing a few declarations in plain Python agrees with the columnar routing."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tamis.assess import PAST_DAYS, past_days
from tamis.channels import CHANNELS
from tamis.detectors.base import SIGNAL_SCHEMA
from tamis.reasons import parse
from tamis.route import Capacity, RandomRate, RandomSelection, RoutingConfig, route
from tamis.route.capacity import Budget
from tamis.route.combiner import STEPS, Combiner
from tamis.route.few import DaySoFar, route_few
from tamis.store.read import read_items
from tests.stores import assessed_store

OFFICES = ["CASA-PORT", "TANGER-MED", None]
PROCEDURES = ["4000", "4071", None]
SCORES = [0.0, 0.2, 0.35, 0.5, 0.75, 0.9, 1.0]
FLOATS = st.floats(0, 1, allow_nan=False)
HITS = ['{"code":"rules.hit","rule":"R1"}', '{"code":"rules.hit","rule":"R é\\\\"}']
OTHER = ['rule R1 (a "b"): x=1', "é ∅ \\ / \n", "{x}", '{"code":"x","rule":"R1"}']
REASONS = st.lists(st.sampled_from(HITS + OTHER), max_size=3)


@st.composite
def signal(draw, declaration_id):
    return {
        "declaration_id": declaration_id,
        "score": draw(st.one_of(st.sampled_from(SCORES), FLOATS)),
        "reasons": draw(REASONS),
        "revenue_at_stake": draw(st.one_of(st.none(), st.sampled_from([0.0, 12.5, 1e6]))),
        "forced_channel": draw(st.one_of(st.none(), st.sampled_from(CHANNELS))),
    }


@st.composite
def configs(draw):
    thresholds = draw(st.dictionaries(st.sampled_from(["blue", "yellow", "orange", "red"]), FLOATS))
    rates = draw(
        st.lists(
            st.builds(
                RandomRate,
                office=st.sampled_from(OFFICES),
                procedure=st.sampled_from(PROCEDURES),
                rate=st.sampled_from([0.0, 0.00001, 0.3, 1.0]),
            ),
            max_size=3,
        )
    )
    share = draw(st.one_of(st.none(), st.sampled_from([0.1, 0.5, 0.333, 1.0])))
    budgets = st.dictionaries(
        st.sampled_from(["yellow", "orange", "red"]),
        st.builds(
            Budget,
            share=st.one_of(st.none(), st.sampled_from([0.0, 0.2, 0.5, 1.0])),
            per_day=st.one_of(st.none(), st.integers(0, 3)),
        ),
    )
    offices = draw(st.dictionaries(st.sampled_from([*OFFICES[:1], "*"]), budgets, max_size=2))
    weights = st.lists(
        st.sampled_from([-2.0, 0.0, 0.7, 3.5]), min_size=len(STEPS), max_size=len(STEPS)
    )
    combiner = draw(st.one_of(st.none(), st.builds(
        Combiner, version=st.just(1), intercept=st.sampled_from([-3.0, 0.0]),
        terms=st.dictionaries(st.sampled_from(["rules", "model"]), weights),
        absent=st.dictionaries(st.sampled_from(["rules", "model"]), st.sampled_from([-1.0, 0.5])),
        rules=st.dictionaries(st.sampled_from(["R1", "R é\\", "R2"]), st.sampled_from([-1.0, 2.5])),
        revenue=st.sampled_from([0.0, 0.2]),
    )))  # fmt: skip
    return RoutingConfig(
        weights=draw(st.dictionaries(st.sampled_from(["rules", "model"]), FLOATS)),
        thresholds=thresholds,
        random=RandomSelection(
            rate=draw(FLOATS), channel=draw(st.sampled_from(CHANNELS[1:])), rates=rates
        ),
        capacity=Capacity(
            offices=offices if offices or share is None else {},
            period=draw(st.sampled_from(["day", "week"])),
            red_share=share if not offices else None,
            rank_by=draw(st.sampled_from(["score", "expected_revenue", "both"])),
        ),
        combiner=combiner,
    )


@st.composite
def cases(draw):
    n = draw(st.integers(1, 6))
    header = [
        {
            "declaration_id": f"D{i}",
            "office": draw(st.sampled_from(OFFICES)),
            "procedure": draw(st.sampled_from(PROCEDURES)),
            "lodged_at": datetime(2025, 3, draw(st.integers(1, 3)), 10),  # Sat, Sun, Mon
        }
        for i in range(n)
    ]
    signals = {}
    for name in draw(st.lists(st.sampled_from(["rules", "model", "valuation"]), unique=True)):
        present = [h["declaration_id"] for h in header if draw(st.booleans())]
        signals[name] = [draw(signal(d)) for d in present]
    draws = [
        draw(st.one_of(st.sampled_from([0.0, 0.3, 0.99995]), FLOATS.filter(lambda x: x < 1)))
        for _ in header
    ]
    return header, signals, draw(configs()), np.array(draws)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_routing_a_few_declarations_gives_the_columnar_rows(case):
    header, signals, config, draws = case
    frames = {n: pl.DataFrame(rows, schema=SIGNAL_SCHEMA) for n, rows in signals.items()}
    columnar = route(pl.DataFrame(header), frames, config, draws).to_dicts()
    by_id = {n: {r["declaration_id"]: r for r in rows} for n, rows in signals.items()}
    plain = route_few(header, by_id, config, draws)
    for row in (*columnar, *plain):
        row["signals"] = json.loads(row["signals"])
        # a reason's figures as values: both write the same JSON, up to float notation
        row["reasons"] = [parse(r) or r for r in row["reasons"]]
    assert plain == columnar


def test_at_lodgement_a_red_must_reach_the_score_past_days_gave_its_budget():
    """10 % of a day forecast at 100 declarations: ten reds, each of a score the highest
    tenth of past days' scores reached (0.9 here); once the ten are taken, none."""
    config = RoutingConfig(
        random=RandomSelection(rate=0),
        thresholds={"orange": 0.4, "red": 0.5},
        capacity=Capacity(offices={"*": {"red": Budget(share=0.1)}}),
    )
    day = datetime(2025, 3, 5, 10)
    header = [{"declaration_id": "D1", "office": "A", "procedure": "4000", "lodged_at": day}]

    def channel(score: float, used: int = 0) -> str:
        signal = {
            "score": score,
            "reasons": ["r"],
            "revenue_at_stake": None,
            "forced_channel": None,
        }
        earlier = {("A", day.date()): DaySoFar(40, {"red": used}, expected=100, bars={"red": 0.9})}
        (decided,) = route_few(header, {"rules": {"D1": signal}}, config, np.array([0.5]), earlier)
        return decided["channel"]

    assert channel(0.8) == "orange"  # red by threshold, but below what the budget is kept for
    assert channel(0.95) == "red"
    assert channel(0.95, used=10) == "orange"  # the day's ten are taken


def test_of_equal_scores_in_a_week_the_first_lodged_takes_the_last_place_either_way():
    """One red place in the office's week, two declarations of the same score, the later one
    listed first: both routings give it to the one lodged first."""
    config = RoutingConfig(
        random=RandomSelection(rate=0),
        thresholds={"red": 0.2},
        capacity=Capacity(offices={"*": {"red": Budget(share=0.5)}}, period="week"),
    )
    header = [
        {"declaration_id": "LATER", "office": "A", "procedure": "4000",
         "lodged_at": datetime(2025, 3, 2, 10)},
        {"declaration_id": "FIRST", "office": "A", "procedure": "4000",
         "lodged_at": datetime(2025, 3, 1, 10)},
    ]  # fmt: skip
    signal = {"score": 0.5, "reasons": [], "revenue_at_stake": None, "forced_channel": None}
    signals = {"rules": {h["declaration_id"]: signal for h in header}}
    frames = {"rules": pl.DataFrame([signal | {"declaration_id": h["declaration_id"]}
                                     for h in header], schema=SIGNAL_SCHEMA)}  # fmt: skip
    draws = np.array([0.5, 0.5])
    plain = {r["declaration_id"]: r["channel"] for r in route_few(header, signals, config, draws)}
    columnar = dict(
        route(pl.DataFrame(header), frames, config, draws)
        .select("declaration_id", "channel")
        .rows()
    )
    assert plain == columnar == {"FIRST": "red", "LATER": "orange"}


@pytest.mark.parametrize("rank_by", ["score", "both"])
def test_at_lodgement_the_bar_is_what_past_days_ranked_by(store, tmp_path, rank_by):
    """The priority a red must reach at lodgement is the one the red budget held on the
    office's past days, counted the way the budget ranks: under "both", score × √revenue."""
    decided = assessed_store(store, tmp_path, declarations=300)
    year = decided.join(read_items(store).select("declaration_id", "office", "lodged_at"),
                        on="declaration_id").unique("declaration_id")  # fmt: skip
    office = year["office"].mode()[0]
    day = year["lodged_at"].max().date() + timedelta(days=1)
    capacity = Capacity(offices={"*": {"red": Budget(share=0.1)}}, rank_by=rank_by)
    with store.connect() as conn:
        _, bars = past_days(conn, capacity, office, day)
    since = datetime.combine(day, time()) - timedelta(days=PAST_DAYS)
    past = year.filter(pl.col("office") == office, pl.col("lodged_at") >= since)
    revenue = past["revenue_at_stake"].fill_null(0.0).clip(0.0)
    ranked = past["score"] * (revenue.sqrt() if rank_by == "both" else 1.0)
    assert bars["red"] == pytest.approx(float(np.quantile(ranked.to_numpy(), 0.9)), rel=1e-4)


def test_a_week_budget_runs_monday_to_sunday_cut_at_the_months_end():
    """So that a dataset cut by month keeps each office's budget periods whole."""
    week = Capacity(period="week")
    assert week.period_of(date(2025, 3, 5)) == date(2025, 3, 3)  # Wednesday: from Monday
    assert week.period_days(date(2025, 3, 3)) == 7
    assert week.period_of(date(2025, 3, 2)) == date(2025, 3, 1)  # Sunday 2 March: from the 1st
    assert week.period_days(date(2025, 3, 1)) == 2
    assert week.period_of(date(2025, 2, 28)) == date(2025, 2, 24)  # to Friday the 28th
    assert week.period_days(date(2025, 2, 24)) == 5
    assert week.period_days(date(2025, 12, 29)) == 3  # to the 31st
    day = Capacity(period="day")
    assert (
        day.period_of(date(2025, 3, 2)) == date(2025, 3, 2)
        and day.period_days(date(2025, 3, 2)) == 1
    )
