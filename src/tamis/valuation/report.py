"""What a reference says, for people: labels, one-line descriptions and the report behind
``tamis valuation show`` and ``GET /valuation/reference``."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from tamis.reasons import figure, hs_label, origin_label
from tamis.settings import settings
from tamis.valuation import reference as ref

GUARDRAIL = (
    "risk indicator only (WTO Valuation Agreement): never a minimum or substitute value; "
    "a gap calls for evidence of the transaction value, not a reassessment"
)


def describe_reference(r: dict, prefix: str = "ref_") -> str:
    """'reference median 3.10 MAD/KG (IQR 2.50–3.80, n=412, HS 6403.99 from CN, ...)'."""
    g = lambda k: r[prefix + k]  # noqa: E731
    unit = f"{settings().national_currency}/{g('basis')}"
    where = f"HS {hs_label(g('hs_code'))} from {origin_label(g('origin'))}"
    parts = []
    if g("q1_uv") is not None and g("q3_uv") is not None:
        parts.append(f"IQR {figure(g('q1_uv'))}–{figure(g('q3_uv'))}")
    if g("n") is not None:
        parts.append(f"n={g('n'):,}")
    parts.append(where)
    if g("window_start") is not None:
        last = g("window_end") - timedelta(days=1)
        parts.append(f"{g('window_start'):%Y-%m} to {last:%Y-%m}")
    if g("source") != "history":
        parts.append(f"analyst reference, source: {g('source')}")
    else:
        parts.append(f"level {g('level')}")
    return f"reference median {figure(g('median_uv'))} {unit} ({', '.join(parts)})"


def reference_report(
    refs: pl.DataFrame,
    hs: str,
    origin: str,
    basis: str | None = None,
    declared: float | None = None,
) -> dict | None:
    """The reference that applies to goods of ``hs`` from ``origin``, with the fallback level
    it comes from and warnings; with ``declared`` (a unit value), how that value scores.
    None when no reference applies."""
    bases = [basis] if basis else sorted(set(refs["basis"]), key=lambda b: (b == "KG", b))
    probe = pl.DataFrame(
        {"hs_code": hs, "origin_country": origin, "basis": bases, "uv": declared or 1.0},
        schema={"hs_code": pl.String, "origin_country": pl.String, "basis": pl.String,
                "uv": pl.Float64},
    )  # fmt: skip
    matched = ref.match(probe, refs)
    if matched.is_empty():
        return None
    priority = pl.col("ref_level").replace_strict(ref.LEVELS, list(range(len(ref.LEVELS))))
    matched = ref.score(matched).sort(
        pl.col("ref_source") == "history", priority, pl.col("basis") == "KG"
    )
    row = matched.row(0, named=True)
    reference = {k.removeprefix("ref_"): v for k, v in row.items() if k.startswith("ref_")}
    warnings = []
    if row["ref_level"] != "hs10/origin" and row["ref_source"] == "history":
        warnings.append(
            f"no reference with n ≥ {ref.MIN_N} for HS {hs_label(hs)} from {origin}: "
            f"fell back to level {row['ref_level']}"
        )
    if row["widening"] > 1:
        warnings.append(
            "catch-all ('other') line with heterogeneous goods: tolerance widened "
            f"×{ref.CATCH_ALL_WIDENING:g}; compare like with like from the description"
        )
    report = {
        "hs": hs,
        "origin": origin,
        "reference": reference,
        "currency": settings().national_currency,
        "summary": describe_reference(row),
        "warnings": warnings,
        "guardrail": GUARDRAIL,
    }  # fmt: skip
    if declared is not None:
        report["assessment"] = {
            "declared_uv": declared,
            "ratio_to_median": declared / row["ref_median_uv"],
            "score": row["score"],
            "direction": row["direction"],
            "robust_deviations": row["z_under"] if row["direction"] != "over" else row["z_over"],
            "flagged": row["score"] >= ref.DEFAULT_THRESHOLD,
        }
    return report
