"""Social media as a detector: a declaration whose importer is linked to a seller
advertising copies of a brand (``tamis.social``), for goods of that brand's HS chapters.

A brand's chapters are those of its Nice classes in the trademark register (``NICE_CHAPTERS``)
and those under which the store's items of the brand were declared. The score grows with
the link's evidence but stays a lead (``CEILING``): routing never sends a declaration red on
it alone (``leads`` in the routing configuration).
"""

from __future__ import annotations

import json
import math
from typing import Self

import polars as pl
from sqlalchemy import Engine, select

from tamis.detectors.base import Detector, ItemRows, StoreContext, signals_for
from tamis.detectors.crosscheck.few import signals_plain
from tamis.reasons import reason
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


class SocialDetector(Detector):
    name = "social"
    labels = {"fr": "réseaux sociaux (contrefaçon)", "en": "social media (counterfeits)"}
    needs = "sellers linked to importers (tamis social ingest, then tamis social link)"
    default_weight = 0.6

    def __init__(self, leads: pl.DataFrame):
        self.leads = leads  # importer_id, chapter, score, reason: one per importer and chapter

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> SocialDetector | None:
        with engine.connect() as conn:
            if conn.execute(select(social_links.c.seller_id).limit(1)).first() is None:
                return None
        leads = copy_leads(engine, brand_chapters(engine, context.items))
        return None if leads.is_empty() else cls(leads)

    def fit(self, history: pl.DataFrame) -> Self:
        self.plain_ = None
        return self

    def _found(self, items: pl.DataFrame) -> pl.DataFrame:
        return (
            items.select("declaration_id", "importer_id", chapter=col("hs_code").str.slice(0, 2))
            .unique()
            .join(self.leads, on=["importer_id", "chapter"])
            .select("declaration_id", "score", "reason",
                    pl.lit(None, pl.Float64).alias("revenue_at_stake"))
        )  # fmt: skip

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        return signals_for(batch, self._found(batch))

    def plain(self) -> dict[tuple[str, str], list[tuple]]:
        if getattr(self, "plain_", None) is None:
            self.plain_ = {}
            for importer, chapter, score, said in self.leads.iter_rows():
                self.plain_.setdefault((importer, chapter), []).append((score, said))
        return self.plain_

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        leads = self.plain()
        found = [
            (row["declaration_id"], score, said, None)
            for row in items.rows
            for score, said in leads.get((row["importer_id"], (row["hs_code"] or "")[:2]), ())
        ]
        return signals_plain(items.rows, found)


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


def copy_leads(engine: Engine, chapters: dict[str, set[str]]) -> pl.DataFrame:
    """importer_id, chapter, score, reason: per importer and HS chapter of a brand one of
    its linked sellers advertises copies of, the strongest link's lead."""
    s, k = social_sellers.c, social_links.c
    query = (
        select(k.importer_id, k.seller_id, k.score, k.evidence, s.accounts, s.brands,
               s.low_price, s.copy_posts)
        .join_from(social_links, social_sellers, s.seller_id == k.seller_id)
        .where(s.copy_posts > 0)
    )  # fmt: skip
    with engine.connect() as conn:
        links = conn.execute(query).all()
    best: dict[tuple[str, str], tuple[float, str]] = {}
    for importer, seller, score, evidence, accounts, brands, low_price, copy_posts in links:
        steps = json.loads(evidence)
        handle = json.loads(accounts)[0]  # "platform:account"
        for brand in json.loads(brands):
            said = reason(
                "social.copies", seller=seller, platform=handle.split(":", 1)[0],
                account=handle.split(":", 1)[-1], brand=brand,
                posts=copy_posts, price=low_price, importer=importer, **_evidence_figures(steps),
            )  # fmt: skip
            for chapter in sorted(chapters.get(brand.casefold(), ())):
                if (importer, chapter) not in best or best[(importer, chapter)][0] < score:
                    best[(importer, chapter)] = (score, said)
    rows = [(i, c, lead_score(score), said) for (i, c), (score, said) in sorted(best.items())]
    schema = {"importer_id": pl.String, "chapter": pl.String, "score": pl.Float64,
              "reason": pl.String}  # fmt: skip
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
