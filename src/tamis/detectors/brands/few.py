"""The brand detector on a few items (one lodged declaration), in plain Python.

What ``BrandDetector.fit`` learnt goes into dicts once, at first use: the register's grants
by brand and importer, each brand's registered name and owner, the reference medians by
their keys. An item's brand is found by the same pattern (Python's ``re`` on ASCII text,
Polars' own on any other, whose case mapping and word boundaries might differ), its price
compared as ``assess_items`` compares it. A test holds the plain and the batch paths
together.
"""

from __future__ import annotations

import math
import re

import polars as pl

from tamis.detectors.crosscheck.few import rounded
from tamis.reasons import reason
from tamis.settings import settings

# the medians compared with, first found first: (level, below this share: counterfeit,
# counterfeit score, the reason code saying which)
LEVELS = (
    ("b1", "price_ratio", 0.9, "brands.median.brand_origin"),
    ("g1", "generic_ratio", 0.8, "brands.median.generic_origin"),
    ("b2", "price_ratio", 0.9, "brands.median.brand"),
    ("g2", "generic_ratio", 0.8, "brands.median.generic"),
)
KEYS = {
    "b1": ("brand_key", "hs_code", "origin_country"),
    "b2": ("brand_key", "hs_code"),
    "g1": ("hs_code", "origin_country"),
    "g2": ("hs_code",),
}
UNSTANDARD = re.compile(r"['’`\-.]")


class Unsure(Exception):
    """Plain Python cannot promise the batch path's figures for these items."""


class PlainBrands:
    def __init__(
        self,
        pattern: str,
        register: pl.DataFrame,
        references: dict[str, pl.DataFrame],
        ratios: dict[str, float],
    ) -> None:
        self.pattern, self.regex = pattern, re.compile(pattern)
        self.grants: dict[tuple, list[tuple]] = {}
        for key, importer, since, until in register.select(
            "brand_key", "distributor_id", "valid_from", "valid_until"
        ).iter_rows():
            if key is not None and importer is not None:  # a join matches no null
                self.grants.setdefault((key, importer), []).append((since, until))
        # the register's name and owner of each brand; None where its rows disagree (the
        # batch path takes any of them)
        self.owners: dict[str, tuple | None] = {}
        for key, brand, owner in register.select("brand_key", "brand", "owner").iter_rows():
            known = self.owners.setdefault(key, (brand, owner))
            if known != (brand, owner):
                self.owners[key] = None
        self.medians: dict[str, dict[tuple, float | None]] = {}
        for frame in references.values():  # each names its median b1, b2, g1 or g2
            (level,) = (c for c in frame.columns if c in KEYS)
            rows = frame.select(*KEYS[level], level).iter_rows()
            self.medians[level] = {row[:-1]: row[-1] for row in rows}
        self.ratios = ratios

    def brand_key(self, item: dict) -> str | None:
        """``coalesce`` of the brand found in the brand field, then in the description."""
        for text in (item["brand"], item["description"]):
            if text is None:
                continue
            if text.isascii():
                found = self.regex.search(UNSTANDARD.sub("", text.upper()))
                found = found and found.group(1)
            else:
                standard = pl.Series([text]).str.to_uppercase().str.replace_all(r"['’`\-.]", "")
                found = standard.str.extract(self.pattern)[0]
            if found is not None:
                return found
        return None

    def authorised(self, key: str, item: dict) -> bool:
        lodged = item["lodged_at"]
        for since, until in self.grants.get((key, item["importer_id"]), ()):
            if lodged is None:
                if since is None and until is None:
                    return True
            elif (since is None or lodged >= since) and (until is None or lodged <= until):
                return True
        return False

    def found(self, item: dict) -> tuple | None:
        """(declaration_id, score, reason, revenue at stake) of an unauthorised branded
        item, None for any other; raises ``Unsure``."""
        key = self.brand_key(item)
        if key is None or self.authorised(key, item):
            return None
        named = self.owners.get(key)
        if named is None:
            raise Unsure(key)
        value, quantity = item["customs_value"], item["quantity"]
        uv = None
        if value is not None and quantity is not None:
            if quantity == 0:
                raise Unsure("no quantity")
            uv = float(value) / float(quantity)
        figures = {"brand_key": key, "hs_code": item["hs_code"]}
        figures["origin_country"] = item["origin_country"]
        chosen = None
        for level, cheap, score, basis in LEVELS:
            where = tuple(figures[k] for k in KEYS[level])
            median = None if None in where else self.medians[level].get(where)
            if median is not None:
                chosen = (median, self.ratios[cheap], score, basis)
                break
        unauthorised = {
            "item": item["item_number"],
            "brand": named[0],
            "hs": item["hs_code"],
            "importer": item["importer_id"],
            "owner": named[1],
        }
        ratio = None if chosen is None or uv is None else uv / chosen[0]
        if ratio is not None and not math.isfinite(ratio):
            raise Unsure("ratio")
        if ratio is None:
            return item["declaration_id"], 0.6, reason("brands.unpriced", **unauthorised), None
        reference, cheap, score, basis = chosen
        percent = rounded(ratio * 100)
        if ratio >= cheap:
            said = reason(
                "brands.parallel", **unauthorised, percent=percent, median={"code": basis}
            )
            return item["declaration_id"], 0.3, said, None
        said = reason(
            "brands.counterfeit",
            **unauthorised,
            uv=rounded(uv, 2),
            currency=settings().national_currency,
            percent=percent,
            median={"code": basis},
            reference=rounded(reference, 2),
        )
        duty, vat = item["duty_rate"] or 0, item["vat_rate"] or 0
        burden = (1 + duty / 100) * (1 + vat / 100) - 1
        return item["declaration_id"], score, said, (reference - uv) * float(quantity) * burden
