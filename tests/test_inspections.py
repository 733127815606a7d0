"""Recording inspection results: stored as outcomes, refused when a value is not allowed."""

from datetime import datetime

import polars as pl
import pytest

from tamis.inspections import record_outcomes
from tamis.store.read import read_outcomes
from tests.test_ingest import GOOD, write_csv


def test_results_are_stored_with_money_exact_and_bad_values_refused(store, tmp_path):
    from tamis.ingest import ingest

    ingest(write_csv(tmp_path / "good.csv", GOOD), "canonical", store)
    results = pl.DataFrame(
        {
            "declaration_id": ["D1", "D2"],
            "inspected_at": [datetime(2025, 3, 3), datetime(2025, 3, 4)],
            "inspector": ["s.alami", "s.alami"],
            "result": ["non_compliant", "compliant"],
            "fraud_type": ["valuation", None],
            "revenue_recovered": [12345.67, 0.0],
            "fraud_notice": ["PV-2025-001", None],
        }
    )
    assert record_outcomes(store, results) == 2
    stored = read_outcomes(store).sort("declaration_id")
    assert stored["result"].to_list() == ["non_compliant", "compliant"]
    assert stored["revenue_recovered"].to_list() == [12345.67, 0.0]
    assert stored["item_number"].to_list() == [None, None]
    with pytest.raises(ValueError, match="declaration D1: result 'guilty' is not one of"):
        record_outcomes(store, results.with_columns(pl.lit("guilty").alias("result")))


def test_a_day_with_no_inspection_records_nothing_and_says_so(store):
    assert record_outcomes(store, pl.DataFrame({"declaration_id": [], "result": []})) == 0
    assert read_outcomes(store).is_empty()
