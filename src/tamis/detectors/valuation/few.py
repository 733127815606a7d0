"""The valuation detector on a few items (one lodged declaration), in plain Python.

Polars pays a fixed cost per query whatever the number of rows: the columnar path
(``ValuationDetector.assess``) runs some 75 queries for one declaration, where the same
comparison item by item is a few dictionary look-ups and a little arithmetic. This gives
the signals the columnar path gives (a test holds them together): the same reference
(``reference.match``'s fallback order, analyst references first), the same score
(``reference.score``), revenue at stake (``tariff.with_rates``) and reasons as data.

The look-ups are built once per set of references and tariff (``PlainValuation``). A
declaration with a figure whose Polars meaning plain Python cannot promise (NaN or
infinite numbers, a reference without a positive median or with n ≤ 0) is left to Polars,
as are items of a schema with unusual types.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import polars as pl

from tamis.detectors.base import by_declaration
from tamis.reasons import reason
from tamis.regions import REGION_OF
from tamis.valuation.reference import (
    ANALYST_SPREAD,
    CATCH_ALL_WIDENING,
    HS_LEVELS,
    ORIGIN_SCOPES,
    RAMP,
    SMALL_N,
    SPREAD_FLOOR,
    level_of,
)
from tamis.valuation.tariff import RATES

NEEDED = (
    "declaration_id",
    "item_number",
    "hs_code",
    "origin_country",
    "quantity",
    "quantity_unit",
    "net_mass_kg",
    "customs_value",
)
OPTIONAL = ("duty_rate", "vat_rate", "preference_code")
NUMBERS = ("quantity", "net_mass_kg", "customs_value", "duty_rate", "vat_rate")
TEXTS = ("hs_code", "origin_country", "quantity_unit", "preference_code")
REFERENCE_COLUMNS = (
    "reference_id",
    "source",
    "level",
    "hs_code",
    "origin",
    "basis",
    "window_start",
    "window_end",
    "n",
    "median_uv",
    "q1_uv",
    "q3_uv",
    "lower_spread_log",
    "upper_spread_log",
    "catch_all",
)
CACHED_REFERENCES = 10_000


class Unsure(Exception):
    """A figure whose Polars meaning plain Python cannot promise: leave it to Polars."""


def plain_schema(schema: pl.Schema) -> bool:
    """Whether items of ``schema`` can be compared in plain Python."""
    if any(c not in schema for c in NEEDED):
        return False
    for column in (*NUMBERS, *TEXTS, "item_number"):
        dtype = schema.get(column)
        if dtype is None or dtype == pl.Null:
            continue
        if column in TEXTS and dtype != pl.String:
            return False
        if column in NUMBERS and not (dtype.is_numeric() and not isinstance(dtype, pl.Float16)):
            return False
        if column == "item_number" and not (dtype.is_integer() or dtype == pl.String):
            return False
    return True


def _number(value) -> float | None:
    """A value as Polars casts it to Float64, or Unsure for NaN and infinities (Polars
    orders NaN above every number, Python compares it false)."""
    if value is None:
        return None
    if isinstance(value, Decimal | int):
        value = float(value)
    if not isinstance(value, float) or not math.isfinite(value):
        raise Unsure
    return value


def is_catch_all(code: str | None) -> bool:
    """``reference.is_catch_all`` for one code."""
    return code is not None and any(code[i : i + 2] in ("90", "99") for i in (4, 6, 8))


def _ramp(z: float) -> float:
    low, high = RAMP
    return min(max((z - low) / (high - low), 0.0), 1.0)


class PlainValuation:
    """References and tariff as look-ups: each reference's row by (analyst or history,
    level, HS prefix, origin key, basis), the newest of duplicates as ``reference.match``
    keeps it, and the tariff's rates by prefix length, longest first."""

    def __init__(self, refs: pl.DataFrame, tariff: pl.DataFrame) -> None:
        self.refs = refs.select(REFERENCE_COLUMNS)
        self.cached: dict[int, dict] = {}
        self.levels = [
            (analyst, digits, scope, level_of(digits, scope))
            for analyst in (True, False)
            for digits in HS_LEVELS
            for scope in ORIGIN_SCOPES
        ]
        keyed = (
            refs.select("source", "level", "hs_code", "origin", "basis", "built_at")
            .with_row_index("_i")
            .drop_nulls(["source", "level", "hs_code", "origin", "basis"])
            .sort("built_at", maintain_order=True)
        )
        self.index: dict[tuple, int] = {}
        for i, source, level, hs, origin, basis, _ in keyed.iter_rows():
            self.index[(source != "history", level, hs, origin, basis)] = i
        present = {key[:2] for key in self.index}
        self.levels = [lv for lv in self.levels if (lv[0], lv[3]) in present]
        self.tariff = self._tariff(tariff)

    @staticmethod
    def _tariff(tariff: pl.DataFrame) -> list[tuple[int, dict]] | None:
        """The rates by prefix, per prefix length (longest first); None when the tariff is
        not as ``load_tariff`` gives it (a prefix twice, a rate not a finite number)."""
        if tariff.schema.get("hs_prefix") != pl.String:
            return None
        table = tariff.select("hs_prefix", *(pl.col(r).cast(pl.Float64) for r in RATES))
        table = table.drop_nulls("hs_prefix")
        if table["hs_prefix"].is_duplicated().any():
            return None
        by_length: dict[int, dict] = {}
        for prefix, *rates in table.iter_rows():
            if any(r is not None and not math.isfinite(r) for r in rates):
                return None
            by_length.setdefault(len(prefix), {})[prefix] = rates
        return sorted(by_length.items(), reverse=True)

    def reference(self, i: int) -> dict:
        row = self.cached.get(i)
        if row is None:
            if len(self.cached) >= CACHED_REFERENCES:
                self.cached.clear()
            row = self.cached[i] = self.refs.row(i, named=True)
        return row

    def match(self, hs: str | None, origin: str | None, basis: str) -> dict | None:
        """``reference.match`` for one item and basis: the reference that applies, if any."""
        if hs is None:
            return None
        region = REGION_OF.get(origin) if origin is not None else None
        keys = {"origin": origin, "region": region, "all": "*"}
        for analyst, digits, scope, level in self.levels:
            key = keys[scope]
            if key is not None and len(hs) >= digits:
                i = self.index.get((analyst, level, hs[:digits], key, basis))
                if i is not None:
                    return self.reference(i)
        return None

    def rates(self, hs: str) -> list[float | None]:
        """duty_pct, vat_pct, other_pct of the longest prefixes of ``hs`` (each rate from
        the longest prefix that has it, as ``with_rates`` coalesces them)."""
        found: list[float | None] = [None] * len(RATES)
        for length, prefixes in self.tariff:
            rates = prefixes.get(hs[:length]) if len(hs) >= length else None
            if rates is not None:
                found = [f if f is not None else r for f, r in zip(found, rates, strict=True)]
        return found


def compare(plain: PlainValuation, item: dict, currency: str) -> dict | None:
    """The compared item's score, revenue at stake and reason (None when below every
    threshold), or None when no reference applies (``ValuationDetector.assess_items``)."""
    value = _number(item["customs_value"])
    mass, quantity = _number(item["net_mass_kg"]), _number(item["quantity"])
    unit, hs = item["quantity_unit"], item["hs_code"]
    bases = []
    if value is not None and value > 0:
        if unit is not None and unit != "KG" and quantity is not None and quantity > 0:
            bases.append((unit, value / quantity))  # the tariff unit is preferred
        if mass is not None and mass > 0:
            bases.append(("KG", value / mass))
    for basis, uv in bases:
        ref = plain.match(hs, item["origin_country"], basis)
        if ref is not None:
            return _score(plain, item, ref, basis, uv, value, currency)
    return None


def _score(plain, item, ref, basis, uv, value, currency) -> dict:
    """``reference.score``, ``tariff.with_rates`` and ``valuation_reason`` for one item."""
    median = ref["median_uv"]
    floats = (ref["lower_spread_log"], ref["upper_spread_log"], ref["q1_uv"], ref["q3_uv"])
    if not (math.isfinite(uv) and uv > 0 and median is not None and math.isfinite(median)):
        raise Unsure
    if median <= 0 or any(f is not None and not math.isfinite(f) for f in floats):
        raise Unsure
    if ref["n"] is not None and ref["n"] <= 0:
        raise Unsure
    hs, n = item["hs_code"], None if ref["n"] is None else float(ref["n"])
    widening = CATCH_ALL_WIDENING if is_catch_all(hs) or ref["catch_all"] == 1 else 1.0
    sampling = math.sqrt(1 + (math.pi / 2) / n) if n is not None else 1.0
    gap = math.log(uv) - math.log(median)
    lower, upper = (ANALYST_SPREAD if s is None else s for s in floats[:2])
    lower, upper = max(lower, SPREAD_FLOOR), max(upper, SPREAD_FLOOR)
    z_under = -gap / (lower * widening * sampling)
    z_over = gap / (upper * widening * sampling)
    confidence = n / (n + SMALL_N) if n is not None else 1.0
    score_under, score_over = _ramp(z_under) * confidence, _ramp(z_over) * confidence
    score = max(score_under, score_over)
    direction = "under" if score_under > 0 else "over" if score_over > 0 else None
    at_stake = 0.0
    if direction == "under":
        burden = _burden(plain, item)
        if burden is not None:
            at_stake = value * (median / uv - 1) * burden
    compared = {"score": score, "revenue_at_stake": at_stake, "reason": None, "use": None}
    if score > 0 and ref["reference_id"] is not None:  # as ``database.log_uses`` keeps it
        compared["use"] = {
            "declaration_id": item["declaration_id"],
            "item_number": item["item_number"],
            "reference_id": ref["reference_id"],
            "basis": basis,
            "declared_uv": uv,
            "score": score,
            "direction": direction,
        }
    if score > 0:
        warn = widening > 1
        figures = {
            "item": item["item_number"],
            "uv": uv,
            "currency": currency,
            "basis": basis,
            "reference": _reference(ref, currency),
        }
        if direction == "under":
            figures |= {"below": 1 - uv / median, "z": z_under, "score": score}
            figures["at_stake"] = at_stake
        else:
            figures |= {"ratio": uv / median, "z": z_over, "score": score}
        figures |= {
            "hs": hs if warn else None,
            "widening": widening if warn else None,
            "few": ref["n"] if ref["n"] is not None and ref["n"] < 50 else None,
        }
        compared["reason"] = reason(f"valuation.{direction}", **figures)
    return compared


def _burden(plain: PlainValuation, item: dict) -> float | None:
    """Duties and taxes per unit of value, as ``tariff.with_rates`` gives them."""
    duty, vat, other = plain.rates(item["hs_code"])
    declared_duty, declared_vat = _number(item.get("duty_rate")), _number(item.get("vat_rate"))
    duty = duty if duty is not None else declared_duty
    preferential = item.get("preference_code") is not None
    if preferential and declared_duty is not None and duty is not None and declared_duty < duty:
        duty = declared_duty
    vat = vat if vat is not None else declared_vat
    other = other if other is not None else 0.0
    if duty is None or vat is None:
        return None
    return (1 + (duty + other) / 100) * (1 + vat / 100) - 1


def _reference(ref: dict, currency: str) -> dict:
    """The ``valuation.reference`` figures of ``valuation._declared``."""
    history = ref["source"] == "history"
    start, end = ref["window_start"], ref["window_end"]
    return {
        "code": "valuation.reference",
        "median": ref["median_uv"],
        "currency": currency,
        "basis": ref["basis"],
        "q1": ref["q1_uv"] if ref["q3_uv"] is not None else None,
        "q3": ref["q3_uv"] if ref["q1_uv"] is not None else None,
        "n": ref["n"],
        "hs": ref["hs_code"],
        "origin": ref["origin"],
        "start": None if start is None else start.strftime("%Y-%m"),
        "last": None if end is None else (end - timedelta(days=1)).strftime("%Y-%m"),
        "source": None if history else ref["source"],
        "level": ref["level"] if history else None,
    }


def signals_few(
    plain: PlainValuation | None,
    rows: list[dict],
    schema: pl.Schema,
    currency: str,
    columnar: Callable[[pl.DataFrame], pl.DataFrame],
) -> dict[str, dict]:
    """The signal of each declaration of a few items (dicts of ``schema``'s columns), by
    declaration id; ``columnar`` assesses those left to Polars."""
    if plain is None or plain.tariff is None or not plain_schema(schema):
        return by_declaration(columnar(pl.DataFrame(rows, schema=schema, orient="row")))
    signals: dict[str, dict] = {}
    unsure: set = set()
    for item in rows:
        declaration = item["declaration_id"]
        signal = signals.setdefault(
            declaration,
            {
                "declaration_id": declaration,
                "score": 0.0,
                "reasons": [],
                "revenue_at_stake": 0.0,
                "forced_channel": None,
            },
        )
        if declaration in unsure:
            continue
        try:
            compared = compare(plain, item, currency)
        except Unsure:
            unsure.add(declaration)
            continue
        if compared is None:
            continue
        signal["score"] = max(signal["score"], min(max(compared["score"], 0.0), 1.0))
        signal["revenue_at_stake"] += compared["revenue_at_stake"]
        if compared["reason"] is not None and compared["reason"] not in signal["reasons"]:
            signal["reasons"].append(compared["reason"])
    if unsure:
        left = [row for row in rows if row["declaration_id"] in unsure]
        signals |= by_declaration(columnar(pl.DataFrame(left, schema=schema, orient="row")))
    return signals


def uses_few(plain: PlainValuation | None, rows: list[dict], schema: pl.Schema) -> list | None:
    """The uses of a reference that flagged an item of ``rows`` (``database.log_uses``), or
    None where the plain path cannot promise the columnar one's."""
    if plain is None or plain.tariff is None or not plain_schema(schema):
        return None
    uses = []
    try:
        for item in rows:
            compared = compare(plain, item, "")  # the reason is not kept here
            if compared is not None and compared["use"] is not None:
                uses.append(compared["use"])
    except Unsure:
        return None
    return uses
