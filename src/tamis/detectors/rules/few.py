"""The rules detector on a few items (one lodged declaration), in plain Python.

Polars pays a fixed cost per expression and per query whatever the number of rows: on one
declaration, 200 rules' expressions cost far more than testing the rules item by item. This
gives the signals the columnar path gives (a test holds them together): the same hits, the
same score, the same reasons word for word. A criterion or a figure whose exact Polars
meaning plain Python cannot promise (see ``Criterion.test``) is still left to Polars.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from tamis.channels import CHANNELS, RANK
from tamis.detectors.base import SIGNAL_SCHEMA
from tamis.reasons import reason as plain_reason

if TYPE_CHECKING:
    from tamis.detectors.rules import Rule, RulesDetector

DERIVED_TYPES = {
    "importer_age_days": pl.Int64,
    "unit_value_per_kg": pl.Float64,
    "shipped_from_third_country": pl.Int64,
}


def with_derived(detector: RulesDetector, items: list[dict]) -> None:
    """Add the derived fields (``DERIVED_TYPES``) to each item, as
    ``RulesDetector._with_derived`` computes them."""
    first_seen = detector.first_seen_by_importer()
    in_batch: dict = {}
    for item in items:
        if item["lodged_at"] is not None:
            known = in_batch.get(item["importer_id"])
            in_batch[item["importer_id"]] = min(known or item["lodged_at"], item["lodged_at"])
    for item in items:
        known = [first_seen.get(item["importer_id"]), in_batch.get(item["importer_id"])]
        seen = min((s for s in known if s is not None), default=None)
        lodged = item["lodged_at"]
        item["importer_age_days"] = None if seen is None or lodged is None else (lodged - seen).days
        mass, value = item["net_mass_kg"], item["customs_value"]
        positive = mass is not None and mass > 0 and value is not None
        item["unit_value_per_kg"] = float(value) / mass if positive else None
        shipped, origin = item.get("export_country"), item.get("origin_country")
        known = shipped is not None and origin is not None
        item["shipped_from_third_country"] = int(shipped != origin) if known else None


def _text(value, dtype: pl.DataType) -> str | None:
    """A value as Polars casts it to text, or None when unsure."""
    if value is None:
        return "∅"
    if isinstance(value, str | Decimal) or (dtype.is_integer() and isinstance(value, int)):
        return str(value)
    if isinstance(value, float):
        text = repr(value)  # shortest round-trip digits, as Polars, but for exponents
        return None if "e" in text or "n" in text else text
    if isinstance(value, datetime) and dtype == pl.Datetime("us") and value.tzinfo is None:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return None


def reason(rule: Rule, item: dict, schema: pl.Schema) -> str:
    fields = rule.fields
    texts = [_text(item[f], schema[f]) for f in fields]
    if any(t is None for t in texts):
        frame = pl.DataFrame([{f: item[f] for f in fields}], schema={f: schema[f] for f in fields})
        return frame.select(rule.reason())[0, 0]
    values = dict(zip(fields, texts, strict=True))
    return plain_reason("rules.hit", rule=rule.id, description=rule.description, values=values)


def assess_few(detector: RulesDetector, batch: pl.DataFrame) -> pl.DataFrame:
    """``RulesDetector.assess`` for a few items."""
    signals = signals_few(detector, batch.rows(named=True), batch.schema)
    return pl.DataFrame(list(signals.values()), schema=SIGNAL_SCHEMA)


class PlainRules:
    """Rules in plain Python for items of one schema: each rule's test (None: Polars only),
    and a shortlist of the rules an item may hit. A rule that needs all its criteria and has
    a prefix criterion can only hit items whose field starts with one of its prefixes, so an
    item is tested against a few of 200 rules, not all of them."""

    def __init__(self, rules: list[Rule], schema: pl.Schema) -> None:
        self.schema = pl.Schema({**schema, **DERIVED_TYPES})
        self.tests = [r.test(self.schema) for r in rules]
        self.always: list[int] = []
        self.by_prefix: dict[str, dict[str, list[int]]] = {}  # field → prefix → rules
        for j, (rule, test) in enumerate(zip(rules, self.tests, strict=True)):
            key = [c for c in rule.criteria if c.prefix is not None] if rule.match == "all" else []
            if test is None:
                continue
            if not key:
                self.always.append(j)
            for prefix in set(key[0].prefix) if key else ():
                self.by_prefix.setdefault(key[0].field, {}).setdefault(prefix, []).append(j)
        self.lengths = {f: sorted({len(p) for p in ps}) for f, ps in self.by_prefix.items()}

    def hits(self, item: dict) -> set[int]:
        """The rules (by index) whose plain test ``item`` passes."""
        shortlist = set(self.always)
        for field, prefixes in self.by_prefix.items():
            value = item[field]
            if value is not None:
                for n in self.lengths[field]:
                    if len(value) >= n:
                        shortlist.update(prefixes.get(value[:n], ()))
        return {j for j in shortlist if self.tests[j](item)}


def signals_few(detector: RulesDetector, items: list[dict], schema: pl.Schema) -> dict[str, dict]:
    """The signal of each declaration of a few ``items`` (dicts of ``schema``'s columns; they
    get the derived fields), by declaration id."""
    with_derived(detector, items)
    plain = detector.plain_for(schema)
    rules, tests, schema = detector.active, plain.tests, plain.schema
    hits = np.zeros((len(items), len(rules)), dtype=bool)
    for i, item in enumerate(items):
        hits[i, list(plain.hits(item))] = True
    if exact := [j for j, test in enumerate(tests) if test is None]:
        derived = pl.DataFrame(items, schema=schema, orient="row")
        hits[:, exact] = derived.select(
            [rules[j].expr().alias(rules[j].id) for j in exact]
        ).to_numpy()
    scores, forced = detector.score_and_forced(hits, *np.nonzero(hits))
    signals: dict[str, dict] = {}
    for item, row, score, rank in zip(items, hits, scores, forced, strict=True):
        signal = signals.setdefault(
            item["declaration_id"],
            {
                "declaration_id": item["declaration_id"],
                "score": 0.0,
                "reasons": [],
                "revenue_at_stake": None,
                "forced_channel": None,
            },
        )
        signal["score"] = max(signal["score"], min(max(float(score), 0.0), 1.0))
        said = signal["reasons"]
        said += [
            r for j in np.flatnonzero(row) if (r := reason(rules[j], item, schema)) not in said
        ]
        channel = CHANNELS[rank] if rank >= 0 else None
        if channel and RANK[channel] > RANK.get(signal["forced_channel"], -1):
            signal["forced_channel"] = channel
    return signals
