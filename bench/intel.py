"""Cross-source intelligence on the synthetic year, end to end, against its ground truth.

synth → ingest declarations and the four other sources (SQLite) → entity resolution
(Splink) → cross-check detectors → network risk. Prints, per detector, precision and recall
of the planted discrepancies; entity-resolution pairwise precision, recall and F1 against
the true importer of every party record; and the share of the planted shell-importer ring
in the top 1 % of importers by network risk, known offenders being those caught by a
random 5 % of inspections.

    .venv/bin/python bench/intel.py [--declarations 20000] [--seed 7] [--spark local[2]]

With --spark, entity resolution runs on Spark at that master URL instead of DuckDB.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from tamis import synth
from tamis.detectors.base import StoreContext
from tamis.detectors.brands import BrandDetector
from tamis.detectors.crosscheck import ManifestDetector, PaymentDetector, TaxReturnDetector
from tamis.ingest import ingest
from tamis.inspections import record_outcomes, simulated_random_results
from tamis.intel import network
from tamis.intel.ingest import ingest_source
from tamis.intel.resolve import party_records, read_entities, resolve
from tamis.store import open_store
from tamis.store.read import read_items

col = pl.col
TRUTH = {  # source -> its ground-truth entity column
    "manifests": "consignee_entity",
    "payments": "payer_entity",
    "tax_returns": "company_entity",
    "trademarks": "distributor_entity",
}


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"{label:<34} {time.perf_counter() - started:7.1f} s")
    return result


def score(label: str, flagged: set, planted: set, rows: list) -> None:
    hits = len(flagged & planted)
    precision = hits / len(flagged) if flagged else 0.0
    recall = hits / len(planted) if planted else 0.0
    rows.append((label, len(planted), len(flagged), precision, recall))


def crosschecks(engine, year: synth.Synthetic, rows: list) -> None:
    items, context = read_items(engine), StoreContext(engine)
    manifest = timed(
        "manifest detector (fit)", lambda: ManifestDetector.from_store(engine, context)
    )
    found = timed("  findings", lambda: manifest.findings(items))
    m = year.manifests
    for kind in ("weight", "description"):
        planted = set(m.filter(col("discrepancy") == kind)["declaration_id"])
        flagged = set(found.filter(col("kind") == kind)["declaration_id"])
        score(f"manifest: {kind} gap", flagged, planted, rows)
    planted = set(m.filter(col("discrepancy") == "undeclared")["bill_number"])
    flagged = set(found.filter(col("kind") == "undeclared")["bill_number"])
    score("manifest: goods never declared", flagged, planted, rows)

    payments = timed("payment detector (fit)", lambda: PaymentDetector.from_store(engine, context))
    found = timed("  findings", lambda: payments.findings(items))
    p = year.payments
    planted = set(p.filter(col("discrepancy") == "under_invoicing")["declaration_reference"])
    flagged = set(found.filter(col("kind") == "under_invoicing")["declaration_id"])
    score("payments: under-invoicing", flagged, planted, rows)
    planted = set(p.filter(col("discrepancy") == "undeclared")["payment_id"])
    flagged = set(found.filter(col("kind") == "undeclared")["payment_id"])
    score("payments: goods never declared", flagged, planted, rows)
    # either kind, per payment: a payment is flagged if it settles an under-invoiced
    # declaration or settles none
    settles = pl.concat(
        [
            payments.payments.select("payment_id", col("declaration_reference").alias("d")),
            payments.settled_.select("payment_id", col("declaration_id").alias("d")),
        ]
    ).drop_nulls()
    under = set(found.filter(col("kind") == "under_invoicing")["declaration_id"])
    flagged |= set(settles.filter(col("d").is_in(list(under)))["payment_id"])
    planted = set(p.filter(col("discrepancy").is_not_null())["payment_id"])
    score("payments: either, per payment", flagged, planted, rows)

    brands = timed("brand detector (fit)", lambda: BrandDetector.from_store(engine, context))
    found = timed("  findings", lambda: brands.findings(items))
    key = ["declaration_id", "item_number"]
    planted = set(year.items.filter(col("fraud_type") == "counterfeit").select(key).iter_rows())
    flagged = set(found.select(key).iter_rows())
    score("brands: unauthorised importer", flagged, planted, rows)
    frauds = set(year.items.filter("fraud").select(key).iter_rows())
    rows.append(("  (precision counting any planted fraud)", len(planted), len(flagged),
                 len(flagged & frauds) / max(len(flagged), 1), float("nan")))  # fmt: skip

    tax = timed("tax-return detector (fit)", lambda: TaxReturnDetector.from_store(engine, context))
    found = tax.findings()
    t = year.tax_returns.with_columns(col("period_start").cast(pl.Datetime("us")))
    for kind in ("purchases_above_customs", "imports_not_reported"):
        planted = set(
            t.filter(col("discrepancy") == kind).select("tax_number", "period_start").iter_rows()
        )
        flagged = set(
            found.filter(col("kind") == kind).select("tax_number", "period_start").iter_rows()
        )
        score(f"tax: {kind.replace('_', ' ')}", flagged, planted, rows)


def pairs(sizes: pl.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def entity_quality(engine, year: synth.Synthetic) -> dict:
    frames = {"declarations": year.items.unique("declaration_id")}
    frames |= {s: getattr(year, s) for s in TRUTH}
    truth = pl.concat(
        [
            party_records(source, frame).with_columns(
                frame[TRUTH.get(source, "importer_id")].alias("true_entity")
            )
            for source, frame in frames.items()
        ]
    ).unique("record_key")
    resolved = read_entities(engine).join(
        truth.select("record_key", "true_entity"), on="record_key"
    )
    true_pairs = pairs(resolved.group_by("true_entity").len()["len"])
    found_pairs = pairs(resolved.group_by("entity_id").len()["len"])
    hits = pairs(resolved.group_by("entity_id", "true_entity").len()["len"])
    precision, recall = hits / max(found_pairs, 1), hits / max(true_pairs, 1)
    return {
        "records": resolved.height,
        "true entities": resolved["true_entity"].n_unique(),
        "resolved entities": resolved["entity_id"].n_unique(),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(precision + recall, 1e-9),
    }


def network_quality(engine, year: synth.Synthetic, seed: int, inspected: float) -> dict:
    """Known offenders from a random share of declarations inspected; the ring's members
    among the top 1 % of importers by network risk."""
    record_outcomes(engine, simulated_random_results(year.items, inspected, seed))
    built = timed("network build", lambda: network.build(engine))
    print(built)
    scores = network.read_scores(engine).sort("pagerank", descending=True)
    ring = set(year.items.filter("ring_member")["importer_id"])
    top = scores.head(max(1, round(0.01 * scores.height)))
    unknown = scores.filter(~col("known_offender"))
    top_unknown = unknown.head(max(1, round(0.01 * unknown.height)))
    ring_unknown = ring - set(scores.filter("known_offender")["entity_id"])
    return {
        "importers ranked": scores.height,
        "known offenders": int(scores["known_offender"].sum()),
        "ring members": len(ring),
        "ring members known": len(ring) - len(ring_unknown),
        "top 1 %": top.height,
        "ring share in top 1 %": len(ring & set(top["entity_id"])) / len(ring),
        "unknown ring share in top 1 % of the not yet known": (
            len(ring_unknown & set(top_unknown["entity_id"])) / max(len(ring_unknown), 1)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--declarations", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--inspected", type=float, default=0.05, help="random share inspected")
    parser.add_argument("--spark", help="resolve entities on Spark at this master URL")
    args = parser.parse_args()
    year = timed("synth", lambda: synth.generate(args.declarations, args.seed))
    rows: list = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = synth.write(year, Path(tmp) / "year.parquet")
        engine = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        timed("ingest declarations", lambda: ingest(paths["items"], "canonical", engine))
        for source in synth.Synthetic.SOURCES:
            timed(f"ingest {source}", lambda s=source: ingest_source(paths[s], s, engine))
        resolution = timed("entity resolution (Splink)", lambda: resolve(engine, spark=args.spark))
        print(resolution.as_dict())
        quality = entity_quality(engine, year)
        crosschecks(engine, year, rows)
        ring = network_quality(engine, year, args.seed, args.inspected)
        engine.dispose()

    print(f"\n{'cross-check':<40} {'planted':>8} {'flagged':>8} {'precision':>10} {'recall':>8}")
    for label, planted, flagged, precision, recall in rows:
        print(f"{label:<40} {planted:>8,} {flagged:>8,} {precision:>10.3f} {recall:>8.3f}")
    print("\nentity resolution (pairs of party records of one company):")
    for key, value in quality.items():
        print(f"  {key:<20} {value:.3f}" if isinstance(value, float) else f"  {key:<20} {value:,}")
    print("\nnetwork risk (personalised PageRank from known offenders):")
    for key, value in ring.items():
        print(f"  {key:<52} {value:.3f}" if isinstance(value, float) else f"  {key:<52} {value:,}")


if __name__ == "__main__":
    main()
