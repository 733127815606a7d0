"""Routing a few declarations in plain Python agrees with the columnar routing."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tamis.channels import CHANNELS
from tamis.detectors.base import SIGNAL_SCHEMA
from tamis.reasons import parse
from tamis.route import Capacity, RandomRate, RandomSelection, RoutingConfig, route
from tamis.route.few import route_few

OFFICES = ["CASA-PORT", "TANGER-MED", None]
PROCEDURES = ["4000", "4071", None]
SCORES = [0.0, 0.2, 0.35, 0.5, 0.75, 0.9, 1.0]
FLOATS = st.floats(0, 1, allow_nan=False)
REASONS = st.lists(st.sampled_from(['rule R1 (a "b"): x=1', "é ∅ \\ / \n", "{x}"]), max_size=3)


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
    return RoutingConfig(
        weights=draw(st.dictionaries(st.sampled_from(["rules", "model"]), FLOATS)),
        thresholds=thresholds,
        random=RandomSelection(
            rate=draw(FLOATS), channel=draw(st.sampled_from(CHANNELS[1:])), rates=rates
        ),
        capacity=Capacity(
            red_share=share, rank_by=draw(st.sampled_from(["score", "expected_revenue"]))
        ),
    )


@st.composite
def cases(draw):
    n = draw(st.integers(1, 6))
    header = [
        {
            "declaration_id": f"D{i}",
            "office": draw(st.sampled_from(OFFICES)),
            "procedure": draw(st.sampled_from(PROCEDURES)),
            "lodged_at": datetime(2025, 3, draw(st.integers(1, 2)), 10),
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
