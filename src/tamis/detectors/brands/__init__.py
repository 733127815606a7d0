"""Brand goods imported by a party the brand's owner has not authorised (counterfeit risk).

The brand is read from the item's brand field or, failing that, found in its description;
the trademark register says who may import it. An unauthorised import is a parallel import
or a counterfeit: the price tells them apart. Its declared unit value is compared with what
authorised importers declare for the same brand, HS code and origin (or any origin: ``fit``
learns their medians) or, failing that, with the median of every item of the HS code from
that origin (or any: a genuine brand is rarely cheaper than the generic goods):

- far below (under ``price_ratio`` of the brand's price, ``generic_ratio`` of the generic
  one): counterfeit risk, score 0.9 (0.8 against the generic price);
- no price to compare with: score 0.6;
- at a genuine price: a parallel import, score 0.3 (reported, below the flag threshold).
"""

from __future__ import annotations

import re
from typing import Self

import polars as pl

from tamis.detectors.base import ItemRows, by_declaration, signals_for
from tamis.detectors.crosscheck import CrossCheck
from tamis.detectors.crosscheck.few import signals_plain
from tamis.reasons import reason_expr
from tamis.settings import settings

col = pl.col
FLAGGED = 0.5


def _unit_value() -> pl.Expr:
    return col("customs_value").cast(pl.Float64) / col("quantity").cast(pl.Float64)


def _standard(text: pl.Expr) -> pl.Expr:
    return text.str.to_uppercase().str.replace_all(r"['’`\-.]", "")


class BrandDetector(CrossCheck):
    source = "trademarks"
    labels = {"fr": "marques (contrefaçon)", "en": "brands (counterfeit)"}
    needs = "the trademark register (tamis intel ingest --source trademarks)"
    attributed = False  # the register names importers by their customs id
    name = "brands"

    def __init__(
        self,
        register: pl.DataFrame,
        price_ratio: float = 0.6,
        generic_ratio: float = 0.8,
        min_reference: int = 3,
    ):
        self.register = register
        self.price_ratio = price_ratio
        self.generic_ratio = generic_ratio
        self.min_reference = min_reference

    def fit(self, history: pl.DataFrame) -> Self:
        register = self.register.with_columns(
            _standard(col("brand")).alias("brand_key"),
            col("valid_from", "valid_until").cast(pl.Datetime("us")),
        )
        self.register_ = register
        self.plain_ = None
        keys = sorted(set(register["brand_key"].to_list()), key=len, reverse=True)
        self.pattern_ = r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b"
        authorised = self._branded(history).filter(col("authorised"))
        generic = history.with_columns(_unit_value().alias("uv"))
        # prices differ by origin: the same goods' price from the same origin where known
        self.references_ = {
            level: self._medians(frame, keys, name)
            for level, frame, keys, name in (
                ("brand_origin", authorised, ["brand_key", "hs_code", "origin_country"], "b1"),
                ("brand", authorised, ["brand_key", "hs_code"], "b2"),
                ("generic_origin", generic, ["hs_code", "origin_country"], "g1"),
                ("generic", generic, ["hs_code"], "g2"),
            )
        }
        return self

    def _medians(self, frame: pl.DataFrame, keys: list[str], name: str) -> pl.DataFrame:
        return (
            frame.group_by(keys)
            .agg(col("uv").median().alias(name), pl.len().alias("n"))
            .filter(col("n") >= self.min_reference)
            .drop("n")
        )

    def _branded(self, items: pl.DataFrame) -> pl.DataFrame:
        """Branded items: brand_key, whether the importer is authorised, unit value."""
        brand = pl.coalesce(
            _standard(col("brand")).str.extract(self.pattern_),
            _standard(col("description")).str.extract(self.pattern_),
        )
        branded = items.with_row_index("_row").with_columns(brand.alias("brand_key"))
        branded = branded.filter(col("brand_key").is_not_null()).with_columns(
            _unit_value().alias("uv")
        )
        grants = self.register_.select(
            "brand_key", col("distributor_id").alias("importer_id"), "valid_from", "valid_until"
        )
        valid = (col("valid_from").is_null() | (col("lodged_at") >= col("valid_from"))) & (
            col("valid_until").is_null() | (col("lodged_at") <= col("valid_until"))
        )
        authorised = (
            branded.join(grants, on=["brand_key", "importer_id"])
            .filter(valid)
            .select("_row")
            .unique()
            .with_columns(pl.lit(True).alias("authorised"))
        )
        owners = self.register_.unique("brand_key").select(
            "brand_key", col("brand").alias("registered_brand"), "owner"
        )
        return (
            branded.join(authorised, on="_row", how="left")
            .join(owners, on="brand_key", how="left")
            .with_columns(col("authorised").fill_null(False))
            .sort("_row")
        )

    def assess_items(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Unauthorised branded items with their score, reason and revenue at stake."""
        burden = (1 + col("duty_rate").fill_null(0) / 100) * (
            1 + col("vat_rate").fill_null(0) / 100
        ) - 1
        branded = self._branded(batch).filter(~col("authorised"))
        for reference in self.references_.values():
            keys = [c for c in reference.columns if c in branded.columns]
            branded = branded.join(reference, on=keys, how="left")
        # The same origin first (prices differ more by origin than by brand), the brand's
        # price before the generic one.
        levels = (  # the median compared with: a reason code saying which
            ("b1", self.price_ratio, 0.9, "brands.median.brand_origin"),
            ("g1", self.generic_ratio, 0.8, "brands.median.generic_origin"),
            ("b2", self.price_ratio, 0.9, "brands.median.brand"),
            ("g2", self.generic_ratio, 0.8, "brands.median.generic"),
        )

        def first(pick) -> pl.Expr:
            chosen = pl.lit(None)
            for level in reversed(levels):
                chosen = pl.when(col(level[0]).is_not_null()).then(pick(level)).otherwise(chosen)
            return chosen

        branded = branded.with_columns(
            first(lambda level: col(level[0])).alias("reference_uv"),
            first(lambda level: pl.lit(level[1])).alias("cheap"),
            first(lambda level: pl.lit(level[2])).alias("counterfeit_score"),
            first(lambda level: pl.lit(level[3])).alias("_basis"),
        ).with_columns((col("uv") / col("reference_uv")).alias("ratio"))
        counterfeit = col("ratio") < col("cheap")
        unauthorised = {
            "item": col("item_number"),
            "brand": col("registered_brand"),
            "hs": col("hs_code"),
            "importer": col("importer_id"),
            "owner": col("owner"),
        }
        percent = (col("ratio") * 100).round(0).cast(pl.Int64)
        basis = pl.struct(col("_basis").alias("code"))
        return branded.with_columns(
            pl.when(counterfeit)
            .then(col("counterfeit_score"))
            .when(col("ratio").is_null())
            .then(0.6)
            .otherwise(0.3)
            .alias("score"),
            pl.when(counterfeit)
            .then(
                reason_expr(
                    "brands.counterfeit",
                    **unauthorised,
                    uv=col("uv").round(2),
                    currency=settings().national_currency,
                    percent=percent,
                    median=basis,
                    reference=col("reference_uv").round(2),
                )
            )
            .when(col("ratio").is_null())
            .then(reason_expr("brands.unpriced", **unauthorised))
            .otherwise(
                reason_expr("brands.parallel", **unauthorised, percent=percent, median=basis)
            )
            .alias("reason"),
            pl.when(counterfeit)
            .then((col("reference_uv") - col("uv")) * col("quantity").cast(pl.Float64) * burden)
            .alias("revenue_at_stake"),
        )

    def findings(self, batch: pl.DataFrame) -> pl.DataFrame:
        return self.assess_items(batch).filter(col("score") >= FLAGGED)

    def plain(self):
        """What the plain path (``brands.few``) reads, built at its first use."""
        if getattr(self, "plain_", None) is None:
            from tamis.detectors.brands.few import PlainBrands

            ratios = {"price_ratio": self.price_ratio, "generic_ratio": self.generic_ratio}
            self.plain_ = PlainBrands(self.pattern_, self.register_, self.references_, ratios)
        return self.plain_

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        """``assess`` of a few items in plain Python (``brands.few``); the batch path where
        plain Python cannot promise the same figures."""
        from tamis.detectors.brands.few import Unsure

        plain = self.plain()
        try:
            found = [f for item in items.rows if (f := plain.found(item)) is not None]
        except Unsure:
            return by_declaration(self.assess(items.frame))
        return signals_plain(items.rows, found)

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        found = self.assess_items(batch).select(
            "declaration_id", "score", "reason", "revenue_at_stake"
        )
        return signals_for(batch, found)
