"""Stores with demo-like data for tests, built through the real paths."""

from __future__ import annotations

import json

import polars as pl
from sqlalchemy import select

from tamis import synth
from tamis.assess import assess_file, assessor_from_store
from tamis.ingest import ingest
from tamis.inspections import record_outcomes, simulated_results
from tamis.store.tables import decisions


def assessed_store(engine, tmp_path, declarations: int = 400, seed: int = 5) -> pl.DataFrame:
    """synth → ingest → assess (decisions recorded) → simulated inspection results."""
    year = tmp_path / "year.parquet"
    synth.write(synth.generate(declarations, seed, days=90), year)
    ingest(year, "canonical", engine)
    assess_file(year, "canonical", assessor_from_store(engine), tmp_path / "a.parquet", engine)
    decided = pl.read_parquet(tmp_path / "a.parquet")
    truth = pl.read_parquet(
        year, columns=["declaration_id", "lodged_at", "fraud", "fraud_type", "revenue_at_stake"]
    )
    record_outcomes(engine, simulated_results(decided, truth, truth))
    return decided


def decide_again(engine, declaration_id: str, reasons: list[str], signals=None) -> None:
    """A later decision on the declaration (its latest), with these stored reasons."""
    with engine.begin() as conn:
        latest = conn.execute(
            select(decisions)
            .where(decisions.c.declaration_id == declaration_id)
            .order_by(decisions.c.decision_id.desc())
        ).first()
        values = dict(latest._mapping) | {"reasons": json.dumps(reasons)}
        del values["decision_id"]
        if signals is not None:
            values["signals"] = json.dumps(signals)
        conn.execute(decisions.insert().values(**values))
