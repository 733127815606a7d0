"""The penalty schedule: its arithmetic against cases computed by hand, the version in force
on a day, and the schedules it refuses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import yaml

from tamis.offences.schedule import (
    ScheduleError,
    penalty,
    read_schedule,
    schedule,
    settlement_bounds,
)

SHIPPED = schedule()
V = SHIPPED.on(date(2025, 6, 1))


def computed(code: str, duties="0", value="0", repeat=False):
    return penalty(V, V.offence_class(code), D(duties), D(value), repeat)


@pytest.mark.parametrize(
    ("code", "duties", "value", "repeat", "amount", "bound"),
    [
        # C1: twice the duties evaded, at least 1,000
        ("C1", "71818.56", "0", False, "143637", None),  # 143,637.12 rounded down
        ("C1", "71818.56", "0", True, "287274", None),  # doubled for a repeat: 287,274.24
        ("C1", "1000.25", "0", False, "2001", None),  # 2,000.50 rounds half up
        ("C1", "1000.24", "0", False, "2000", None),  # 2,000.48 rounds down
        # C3: a fixed 500 between 500 and 2,000; a repeat doubles it and its bounds
        ("C3", "999.99", "0", False, "500", None),
        ("C3", "10", "0", True, "1000", None),
        # D1: three times the goods' value, at least 10,000
        ("D1", "0", "2000", False, "10000", "minimum"),  # 6,000 raised to the minimum
        ("D1", "0", "2000", True, "20000", "minimum"),  # 12,000 raised to 2 x 10,000
        ("D1", "0", "5000.40", False, "15001", None),  # 15,001.20
        # C2: the duties once, between 500 and 50,000
        ("C2", "80000", "0", False, "50000", "maximum"),
        ("C2", "80000", "0", True, "100000", "maximum"),  # 160,000 cut to 2 x 50,000
        ("C2", "120.10", "0", False, "500", "minimum"),
    ],
)
def test_penalties_as_computed_by_hand(code, duties, value, repeat, amount, bound):
    found = computed(code, duties, value, repeat)
    assert found.amount == D(amount)
    assert found.bound == bound
    assert found.aggravation == (D(2) if repeat else D(1))


def test_goods_are_confiscated_for_crimes_only():
    assert computed("D2", value="100").confiscation
    assert not computed("C1", duties="5000").confiscation


def test_settlement_bounds_are_the_class_share_of_the_penalty_to_the_penalty():
    assert settlement_bounds(V.offence_class("C1"), D("2001")) == (D("500.25"), D("2001"))
    assert settlement_bounds(V.offence_class("D1"), D("10001")) == (D("5000.50"), D("10001"))


@pytest.mark.parametrize(
    ("fraud_type", "duties", "code"),
    [
        ("valuation", "999.99", "C3"),
        ("valuation", "1000", "C1"),
        ("origin", "250000", "C1"),
        ("counterfeit", "0", "D2"),
        ("prohibited", "12", "D1"),
        ("other", "0", "C2"),
    ],
)
def test_a_finding_is_classified_by_its_fraud_type_and_duties(fraud_type, duties, code):
    assert V.classify(fraud_type, D(duties)).code == code


def _schedule(tmp_path, versions: list[dict], name="schedule.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"currency": "XOF", "versions": versions}), encoding="utf-8")
    return path


def _class(code="A", fraud_types=("valuation",), **more) -> dict:
    return {
        "code": code,
        "kind": "contravention",
        "label": {"fr": f"classe {code}", "en": f"class {code}"},
        "fraud_types": list(fraud_types),
        "penalty": {"base": "duties", "multiple": "2"},
        "limitation_years": 3,
    } | more


def test_the_version_in_force_on_the_day_of_the_facts(tmp_path, monkeypatch):
    later = {"version": "v2", "valid_from": "2026-01-01",
             "classes": [_class(penalty={"base": "duties", "multiple": "3"})]}  # fmt: skip
    first = {"version": "v1", "valid_from": "2020-01-01", "classes": [_class()]}
    path = _schedule(tmp_path, [later, first])
    monkeypatch.setenv("TAMIS_OFFENCE_SCHEDULE", str(path))
    said = schedule()
    assert said.currency == "XOF"
    assert said.on(date(2025, 12, 31)).version == "v1"
    assert said.on(date(2026, 1, 1)).version == "v2"
    v2 = said.on(date(2026, 1, 1))
    assert penalty(v2, v2.offence_class("A"), D("100"), D(0), False).amount == D("300")
    with pytest.raises(ScheduleError, match="no schedule version is in force on 2019-12-31"):
        said.on(date(2019, 12, 31))


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        ([_class("A"), _class("B")], "classes A and B overlap: both cover fraud type valuation"),
        (
            [_class("A", duties_below="1000"), _class("B", duties_from="999")],
            "classes A and B overlap",
        ),
        ([_class("A"), _class("A", fraud_types=["origin"])], "class A is given twice"),
        (
            [_class(penalty={"base": "duties", "multiple": "2", "minimum": "9", "maximum": "5"})],
            "maximum 5 is below minimum 9",
        ),
        ([_class(penalty={"base": "fixed", "multiple": "2"})], "a fixed penalty gives its amount"),
        ([_class(fraud_types=["smuggling"])], "fraud_types"),
        ([_class(duties_from="10", duties_below="5")], "duties_below 5 is not above"),
    ],
)
def test_a_schedule_that_cannot_be_used_is_refused_with_its_reason(tmp_path, classes, expected):
    path = _schedule(tmp_path, [{"version": "v1", "valid_from": "2020-01-01", "classes": classes}])
    with pytest.raises(ScheduleError, match=expected) as refused:
        read_schedule(path)
    assert str(path) in str(refused.value)


def test_classes_on_adjacent_ranges_of_duties_do_not_overlap(tmp_path):
    classes = [_class("A", duties_below="1000"), _class("B", duties_from="1000")]
    path = _schedule(tmp_path, [{"version": "v1", "valid_from": "2020-01-01", "classes": classes}])
    version = read_schedule(path).versions[0]
    assert version.classify("valuation", D("999.99")).code == "A"
    assert version.classify("valuation", D("1000")).code == "B"
    with pytest.raises(ScheduleError, match="no class of schedule version v1 covers fraud type"):
        version.classify("origin", D("1"))


def test_two_versions_from_the_same_day_are_refused(tmp_path):
    twice = [{"version": v, "valid_from": "2020-01-01", "classes": [_class()]} for v in "ab"]
    with pytest.raises(ScheduleError, match="two versions have the same valid_from 2020-01-01"):
        read_schedule(_schedule(tmp_path, twice))


def test_a_missing_or_broken_file_is_named(tmp_path):
    with pytest.raises(ScheduleError, match="no such schedule file"):
        read_schedule(tmp_path / "none.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("currency: [unclosed", encoding="utf-8")
    with pytest.raises(ScheduleError, match="broken.yaml"):
        read_schedule(broken)
