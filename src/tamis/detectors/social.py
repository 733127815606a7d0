"""Social media as a detector: a declaration whose importer is linked to a seller
advertising copies of a brand (``tamis.social``), for goods of that brand's HS chapters.

A brand's chapters are those of its Nice classes in the trademark register (``NICE_CHAPTERS``)
and those under which the store's items of the brand were declared. The score grows with
the link's evidence but stays a lead (``CEILING``): routing never sends a declaration red on
it alone (``leads`` in the routing configuration).

Prices say more: the seller's lowest price is set against the brand's band (what its
authorised importers declare a unit at, 10th to 90th percentile) and, item by item, against
the unit value the importer declares — goods sold online at ``RESALE_RATIO`` times or more
their declared value a unit are likely under-valued (``RESALE_BONUS`` on the score). Only
goods counted in units are compared: a price a piece says nothing of a value a kilogram.
"""

from __future__ import annotations

import json
import math
from typing import Self

import polars as pl
from sqlalchemy import Engine, select

from tamis.detectors.base import Detector, ItemRows, StoreContext, signals_for
from tamis.detectors.crosscheck.few import rounded, signals_plain
from tamis.reasons import reason, reason_expr
from tamis.social.tables import social_links, social_sellers

col = pl.col
# Nice class -> HS chapters of the goods it covers
NICE_CHAPTERS: dict[str, tuple[str, ...]] = {
    "3": ("33", "34"), "5": ("30",), "7": ("84", "85"), "9": ("84", "85", "90"),
    "11": ("84", "85", "94"), "12": ("40", "87"), "14": ("71", "91"), "18": ("42",),
    "25": ("61", "62", "64", "65"), "28": ("95",), "30": ("09", "21"),
}  # fmt: skip
CEILING = 0.5
SCALE = 4.0  # link score at which the lead weighs 1 - 1/e of the ceiling
COUNTED = ("U", "NAR", "PCE", "PR", "2U")  # quantity units that count pieces
RESALE_RATIO = 3.0
RESALE_BONUS = 0.15


class SocialDetector(Detector):
    name = "social"
    labels = {"fr": "réseaux sociaux (contrefaçon)", "en": "social media (counterfeits)"}
    needs = "sellers linked to importers (tamis social ingest, then tamis social link)"
    default_weight = 0.6

    def __init__(self, leads: pl.DataFrame):
        # importer_id, chapter, score, reason, price: one per importer and chapter
        self.leads = leads
        self.lead_of = {  # the same, looked up by a lodgement
            (importer, chapter): (score, said, price)
            for importer, chapter, score, said, price in leads.select(
                "importer_id", "chapter", "score", "reason", "price"
            ).iter_rows()
        }

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> SocialDetector | None:
        with engine.connect() as conn:
            if conn.execute(select(social_links.c.seller_id).limit(1)).first() is None:
                return None
        items = context.items
        leads = copy_leads(engine, brand_chapters(engine, items), price_bands(engine, items))
        return None if leads.is_empty() else cls(leads)

    def fit(self, history: pl.DataFrame) -> Self:
        self.plain_ = None
        return self

    def _found(self, items: pl.DataFrame) -> pl.DataFrame:
        value = col("customs_value").cast(pl.Float64)
        counted = col("quantity_unit").is_in(COUNTED) & (col("quantity") > 0) & (value > 0)
        unit_value = pl.when(counted).then(value / col("quantity").cast(pl.Float64))
        matched = items.select(
            "declaration_id", "importer_id", "item_number",
            chapter=col("hs_code").str.slice(0, 2), unit_value=unit_value,
        ).join(self.leads, on=["importer_id", "chapter"], maintain_order="left")  # fmt: skip
        resold = col("price") >= RESALE_RATIO * col("unit_value")
        resale = matched.filter(resold.fill_null(False)).select(
            "declaration_id",
            (col("score") + RESALE_BONUS).clip(0.0, CEILING + RESALE_BONUS).alias("score"),
            reason_expr("social.resale", item=col("item_number"), price=col("price"),
                        unit_value=col("unit_value").round(2),
                        ratio=(col("price") / col("unit_value")).round(1)).alias("reason"),
        )  # fmt: skip
        lead = matched.select("declaration_id", "score", "reason")
        return pl.concat([lead, resale]).with_columns(
            pl.lit(None, pl.Float64).alias("revenue_at_stake")
        )

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        return signals_for(batch, self._found(batch))

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        """``_found`` in plain Python: a lodgement's items looked up in the leads."""
        leads, resales = [], []
        for row in items.rows:
            hs_code = row["hs_code"]
            found = self.lead_of.get((row["importer_id"], hs_code and hs_code[:2]))
            if found is None:
                continue
            score, said, price = found
            leads.append((row["declaration_id"], score, said, None))
            unit_value = _unit_value(row)
            if price is None or unit_value is None or price < RESALE_RATIO * unit_value:
                continue
            resale = reason(
                "social.resale", item=row["item_number"], price=price,
                unit_value=rounded(unit_value, 2), ratio=rounded(price / unit_value, 1),
            )  # fmt: skip
            bonus = min(max(score + RESALE_BONUS, 0.0), CEILING + RESALE_BONUS)
            resales.append((row["declaration_id"], bonus, resale, None))
        return signals_plain(items.rows, leads + resales)


def _unit_value(row: dict) -> float | None:
    """An item's declared value a piece, for goods counted in pieces."""
    value, quantity = row["customs_value"], row["quantity"]
    if row["quantity_unit"] not in COUNTED or value is None or quantity is None:
        return None
    value, quantity = float(value), float(quantity)
    return value / quantity if value > 0 and quantity > 0 else None


def brand_chapters(engine: Engine, items: pl.DataFrame) -> dict[str, set[str]]:
    """Brand (as written, folded) -> HS chapters: its Nice classes' and its items'."""
    from tamis.intel.ingest import read_source, stored_sources

    chapters: dict[str, set[str]] = {}
    if "trademarks" in stored_sources(engine):
        register = read_source(engine, "trademarks").select("brand", "nice_classes").unique()
        for brand, classes in register.iter_rows():
            for nice in (classes or "").split(";"):
                chapters.setdefault(brand.casefold(), set()).update(
                    NICE_CHAPTERS.get(nice.strip(), ())
                )
    if "brand" in items.columns:
        seen = items.select(col("brand").str.to_lowercase(), col("hs_code").str.slice(0, 2))
        for brand, chapter in seen.drop_nulls().unique().iter_rows():
            chapters.setdefault(brand, set()).add(chapter)
    return chapters


def lead_score(link_score: float) -> float:
    return round(CEILING * (1 - math.exp(-link_score / SCALE)), 4)


def price_bands(engine: Engine, items: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """Brand (folded) -> the 10th and 90th percentiles of the unit values its authorised
    importers (the trademark register's distributors) declare, goods counted in units."""
    from tamis.intel.ingest import read_source, stored_sources

    needed = {"brand", "importer_id", "customs_value", "quantity", "quantity_unit"}
    if "trademarks" not in stored_sources(engine) or not needed <= set(items.columns):
        return {}
    register = read_source(engine, "trademarks").select(
        col("brand").str.to_lowercase(), col("distributor_id").alias("importer_id")
    )
    declared = items.filter(col("quantity_unit").is_in(COUNTED) & (col("quantity") > 0)).select(
        col("brand").str.to_lowercase(), "importer_id",
        (col("customs_value").cast(pl.Float64) / col("quantity").cast(pl.Float64)).alias("uv"),
    )  # fmt: skip
    bands = (
        declared.join(register.unique(), on=["brand", "importer_id"])
        .group_by("brand")
        .agg(col("uv").quantile(0.1).alias("low"), col("uv").quantile(0.9).alias("high"))
    )
    return {b: (round(lo, 2), round(hi, 2)) for b, lo, hi in bands.iter_rows()}


def copy_leads(
    engine: Engine, chapters: dict[str, set[str]], bands: dict[str, tuple[float, float]]
) -> pl.DataFrame:
    """importer_id, chapter, score, reason, price: per importer and HS chapter of a brand
    one of its linked sellers advertises copies of, the strongest link's lead."""
    s, k = social_sellers.c, social_links.c
    query = (
        select(k.importer_id, k.seller_id, k.score, k.evidence, s.accounts, s.brands,
               s.low_price, s.copy_posts)
        .join_from(social_links, social_sellers, s.seller_id == k.seller_id)
        .where(s.copy_posts > 0)
    )  # fmt: skip
    with engine.connect() as conn:
        links = conn.execute(query).all()
    best: dict[tuple[str, str], tuple[float, str, float | None]] = {}
    for importer, seller, score, evidence, accounts, brands, low_price, copy_posts in links:
        steps = json.loads(evidence)
        handle = json.loads(accounts)[0]  # "platform:account"
        for brand in json.loads(brands):
            low, high = bands.get(brand.casefold(), (None, None))
            below = low is not None and low_price is not None and low_price < low
            said = reason(
                "social.copies", seller=seller, platform=handle.split(":", 1)[0],
                account=handle.split(":", 1)[-1], brand=brand,
                posts=copy_posts, price=low_price, importer=importer, band_low=below and low,
                band_high=below and high, **_evidence_figures(steps),
            )  # fmt: skip
            for chapter in sorted(chapters.get(brand.casefold(), ())):
                if (importer, chapter) not in best or best[(importer, chapter)][0] < score:
                    best[(importer, chapter)] = (score, said, low_price)
    rows = [(i, c, lead_score(score), said, price)
            for (i, c), (score, said, price) in sorted(best.items())]  # fmt: skip
    schema = {"importer_id": pl.String, "chapter": pl.String, "score": pl.Float64,
              "reason": pl.String, "price": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


def _evidence_figures(steps: list[dict]) -> dict:
    """The strongest step of each kind, as the reason's figures."""
    figures: dict = {}
    for step in sorted(steps, key=lambda s: -s["weight"]):
        kind = step["kind"]
        if kind == "phone" and "phone" not in figures:
            figures |= {"phone": step["value"], "phone_posts": len(step.get("posts", []))}
        elif kind == "photo" and "case" not in figures:
            figures |= {"case": step["value"].removeprefix("case ")}
        elif kind == "name" and "name" not in figures:
            figures["name"] = step["value"]
    return figures
