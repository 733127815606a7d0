"""Value control: declared unit values against the reference-price database.

Each item's declared unit value (per tariff unit when its unit is not KG, else per net kg)
is compared with the reference that applies to its HS code and origin (see
``tamis.valuation.reference``): far below → under-valuation, far above → over-valuation
(trade-based money laundering, inflated export refunds). The revenue at stake of an
under-valued item is the gap to the reference median times its duty and tax burden
(``tamis.valuation.tariff``), in national currency.

WTO Valuation Agreement guardrail: the reference is a *risk* indicator. This detector never
changes a declared value and never proposes a minimum or substitute value; a gap raises a
signal and a request for evidence of the transaction value. When built from the store it
logs each use of a reference that produced a signal (``value_reference_uses``).
"""

from __future__ import annotations

from typing import Self

import polars as pl
from sqlalchemy import Engine

from tamis.detectors.base import Detector, ItemRows, StoreContext, by_declaration, per_declaration
from tamis.detectors.valuation.few import NEEDED, OPTIONAL, PlainValuation, signals_few, uses_few
from tamis.reasons import reason_expr, reason_struct
from tamis.settings import settings
from tamis.valuation import reference as ref
from tamis.valuation.tables import value_reference_uses
from tamis.valuation.tariff import load_tariff, with_rates

ITEM_COLUMNS = (*NEEDED, *OPTIONAL)  # what value control reads of an item
QUICK_ROWS = 64  # items; up to this, lodgement compares them in plain Python (valuation.few)
EVIDENCE = "request evidence of the transaction value (the reference is a risk indicator only)"


class ValuationDetector(Detector):
    name = "valuation"
    labels = {"fr": "contrôle de la valeur", "en": "value control"}
    needs = "value references (tamis valuation build, or analyst references)"
    default_weight = 0.9

    def __init__(
        self,
        window_months: int = 12,
        min_n: int = ref.MIN_N,
        threshold: float = ref.DEFAULT_THRESHOLD,
        tariff: pl.DataFrame | None = None,
        analyst: pl.DataFrame | None = None,
    ) -> None:
        self.window_months = window_months
        self.min_n = min_n
        self.threshold = threshold  # score from which a declaration counts as flagged
        self.tariff = tariff
        self.analyst = analyst  # analyst references (``reference.analyst_references``)

    def fit(self, history: pl.DataFrame) -> Self:
        """References from a flat history frame over its last ``window_months`` months.

        Items with a true ``known_fraud`` column (a non-compliant outcome) are left out.
        """
        self.histogram_ = ref.histogram(history)
        first, last = self.histogram_["month"].min(), self.histogram_["month"].max()
        end = ref.shift_months(last, 1)
        months = (max(first, ref.shift_months(end, -self.window_months)), end)
        refs = ref.references(self.histogram_, months, self.min_n)
        if self.analyst is not None:
            refs = pl.concat([refs, self.analyst.cast(ref.REFERENCE_SCHEMA)])
        self.references_ = refs
        self.tariff_ = self.tariff if self.tariff is not None else load_tariff()
        return self

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> ValuationDetector | None:
        """The references in force in the store, or None when none has been built or loaded."""
        from tamis.valuation.database import current_references

        refs = current_references(engine)
        if refs.is_empty():
            return None
        detector = cls(**context.params_of(cls.name))
        detector.references_ = refs
        detector.tariff_ = detector.tariff if detector.tariff is not None else load_tariff()
        return detector

    def plain(self) -> PlainValuation:
        """The references and tariff as look-ups, built once for those in force."""
        built = getattr(self, "_plain", None)
        if built is None or built[0] is not self.references_ or built[1] is not self.tariff_:
            built = self._plain = (
                self.references_,
                self.tariff_,
                PlainValuation(self.references_, self.tariff_),
            )
        return built[2]

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        if len(items.rows) > QUICK_ROWS:
            return by_declaration(self.assess(items.frame))
        currency = settings().national_currency
        return signals_few(self.plain(), items.rows, items.schema, currency, self.assess)

    def assess_items(self, batch: pl.DataFrame) -> pl.DataFrame:
        """One row per item compared with a reference: the figures, score, revenue, reason."""
        columns = [c for c in ITEM_COLUMNS if c in batch.columns]
        items = batch.select(columns).with_row_index("_row")
        declared = ref.unit_values(items, ["_row", "hs_code", "origin_country"]).collect()
        matched = ref.match(declared, self.references_)
        # Prefer the tariff unit over the kg basis when both have a reference.
        chosen = matched.sort("_row", pl.col("basis") == "KG").unique("_row", keep="first")
        scored = ref.score(chosen.drop("hs_code", "origin_country").join(items, on="_row"))
        scored = with_rates(scored, self.tariff_)
        gap = pl.col("customs_value").cast(pl.Float64) * (
            pl.col("ref_median_uv") / pl.col("uv") - 1
        )
        scored = scored.with_columns(
            pl.when(pl.col("direction") == "under")
            .then(gap * pl.col("burden"))
            .otherwise(0.0)
            .fill_null(0.0)
            .alias("revenue_at_stake")
        )
        flagged = scored.filter(pl.col("score") > 0)
        flagged = flagged.select("_row", valuation_reason(settings().national_currency))
        return scored.join(flagged, on="_row", how="left").sort("_row").drop("_row")

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        items = self.assess_items(batch)
        everyone = (
            batch.select("declaration_id")
            .unique(maintain_order=True)
            .join(
                items.select("declaration_id", "score", "reason", "revenue_at_stake"),
                on="declaration_id",
                how="left",
            )
        )
        return per_declaration(
            everyone,
            pl.col("score").fill_null(0.0),
            pl.concat_list(pl.col("reason")),
            pl.col("revenue_at_stake").fill_null(0.0),
        )

    def record(self, conn, batch: pl.DataFrame) -> None:
        """Log each use of a reference that produced a signal."""
        from tamis.audit import now
        from tamis.valuation.database import log_uses

        few = batch.height <= QUICK_ROWS  # a lodgement: its uses as its signal found them
        uses = uses_few(self.plain(), batch.rows(named=True), batch.schema) if few else None
        if uses is None:
            log_uses(conn, self.assess_items(batch).filter(pl.col("score") > 0), now())
        elif uses:
            conn.execute(value_reference_uses.insert(), [u | {"used_at": now()} for u in uses])


def valuation_reason(currency: str) -> pl.Expr:
    """Each compared item's reason: its declared unit value against the reference, the gap,
    the score and, for an under-valuation, the duties and taxes at stake."""
    col = pl.col
    under = col("direction") == "under"
    return (
        pl.when(under)
        .then(
            reason_expr(
                "valuation.under",
                **_declared(currency),
                below=1 - col("uv") / col("ref_median_uv"),
                z=col("z_under"),
                score=col("score"),
                at_stake=col("revenue_at_stake"),
                **_warnings(),
            )
        )
        .otherwise(
            reason_expr(
                "valuation.over",
                **_declared(currency),
                ratio=col("uv") / col("ref_median_uv"),
                z=col("z_over"),
                score=col("score"),
                **_warnings(),
            )
        )
        .alias("reason")
    )


def _declared(currency: str) -> dict[str, pl.Expr]:
    col = pl.col
    history = col("ref_source") == "history"
    reference = reason_struct(
        "valuation.reference",
        median=col("ref_median_uv"),
        currency=currency,
        basis=col("ref_basis"),
        q1=pl.when(col("ref_q3_uv").is_not_null()).then(col("ref_q1_uv")),
        q3=pl.when(col("ref_q1_uv").is_not_null()).then(col("ref_q3_uv")),
        n=col("ref_n"),
        hs=col("ref_hs_code"),
        origin=col("ref_origin"),
        start=col("ref_window_start").dt.strftime("%Y-%m"),
        last=(col("ref_window_end") - pl.duration(days=1)).dt.strftime("%Y-%m"),
        source=pl.when(~history).then(col("ref_source")),
        level=pl.when(history).then(col("ref_level")),
    )
    return {
        "item": col("item_number"),
        "uv": col("uv"),
        "currency": pl.lit(currency),
        "basis": col("basis"),
        "reference": reference,
    }


def _warnings() -> dict[str, pl.Expr]:
    col = pl.col
    return {
        "hs": pl.when(col("widening") > 1).then(col("hs_code")),
        "widening": pl.when(col("widening") > 1).then(col("widening")),
        "few": pl.when(col("ref_n") < 50).then(col("ref_n")),
    }
