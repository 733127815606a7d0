"""Stores with demo-like data for tests, built through the real paths."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
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


def kcs_rows(n: int, seed: int, start: date, days: int = 60) -> pl.DataFrame:
    """Rows in the KCS file format; risky importers and HS codes commit most frauds."""
    rng = np.random.default_rng(seed)
    importer = rng.integers(0, 40, n)
    hs = rng.choice(["850440", "610910", "940360", "392690", "071320"], n)
    risky = (importer < 6) | (hs == "610910")
    fraud = rng.random(n) < np.where(risky, 0.8, 0.05)
    price = np.round(rng.lognormal(12, 1, n), 1)
    return pl.DataFrame(
        {
            "Declaration ID": [f"{seed}{i:06d}" for i in range(n)],
            "Date": [
                str(start + timedelta(days=int(d))) for d in np.sort(rng.integers(0, days, n))
            ],
            "Office ID": rng.choice(["30", "40"], n),
            "Process Type": "B",
            "Import Type": "11",
            "Import Use": "21",
            "Payment Type": "11",
            "Mode of Transport": "10",
            "Declarant ID": [f"DCL{i % 7}" for i in importer],
            "Importer ID": [f"IMP{i}" for i in importer],
            "Seller ID": [f"SEL{i % 11}" for i in importer],
            "Courier ID": None,
            "HS6 Code": hs,
            "Country of Departure": rng.choice(["CN", "BE", "ZZ"], n),
            "Country of Origin": rng.choice(["CN", "BE"], n),
            "Tax Rate": rng.choice([0.0, 8.0, 13.0], n),
            "Tax Type": rng.choice(["A", "FEU1"], n),
            "Country of Origin Indicator": "G",
            "Net Mass": np.round(rng.lognormal(5, 1, n), 1),
            "Item Price": np.where(fraud, price / 3, price),
            "Fraud": fraud.astype(int),
            "Critical Fraud": 0,
        }
    )
