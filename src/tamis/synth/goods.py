"""Declarations and their items: dates, lanes, goods, masses, prices and origins."""

from __future__ import annotations

from datetime import date

import numpy as np

from tamis.synth.parties import Importers, Suppliers
from tamis.synth.reference import (
    AUTHORISED,
    BRAND_PREMIUMS,
    COUNTRY_AGREEMENT,
    COUNTRY_PRICE,
    COUNTRY_ROAD,
    COURIERS,
    EXCHANGE_RATES,
    LINE_BRAND_COUNT,
    LINE_BRANDS,
    LINE_KG_PER_UNIT,
    LINE_MFN,
    LINE_PREFERENTIAL,
    LINE_TYPICAL_KG,
    LINE_UNIT,
    LINE_USD_PER_KG,
    LINE_VAT,
    LUNAR_YEAR,
    MODE_CAP_KG,
    MODE_SCALE,
    OFFICE_CUM,
    PROCEDURES,
    RAMADAN_1446,
    SECTOR_AIR,
    SECTOR_BULK,
    SECTOR_LINE_CUM,
    SECTOR_LINES,
    SECTOR_USE,
    SUFFIXES,
    UNITS,
)
from tamis.synth.sampling import categorical_draw, uniform_pick, weighted_choice


def _season(rng: np.random.Generator, start: date, days: int) -> np.ndarray:
    """Cumulative share of the period's declarations lodged by the end of each day."""
    day = np.datetime64(start, "D") + np.arange(days)
    weekday = (day.astype(np.int64) + 3) % 7  # 0 is Monday: 1970-01-01 was a Thursday
    month = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    lunar = (day - RAMADAN_1446).astype(np.int64) % LUNAR_YEAR
    weight = np.select([weekday == 6, weekday == 5], [0.05, 0.35], 1.0)
    weight *= np.select([lunar > LUNAR_YEAR - 35, lunar < 29.5], [1.35, 0.85], 1.0)
    weight *= np.select([month == 8, (month >= 5) & (month <= 7)], [0.6, 1.15], 1.0)
    weight *= rng.lognormal(0, 0.1, days)
    return np.cumsum(weight) / weight.sum()


def make_declarations(
    rng: np.random.Generator, imp: Importers, sup: Suppliers, n: int, start: date, days: int
) -> dict[str, np.ndarray]:
    """One entry per declaration, in lodgement order."""
    season = _season(rng, start, days)
    before = np.concatenate([[0.0], season[:-1]])  # share lodged before each day
    importer = weighted_choice(rng, imp.weight * (1 - before[imp.first_day]), n)
    floor = before[imp.first_day[importer]]
    day = np.searchsorted(season, floor + rng.random(n) * (1 - floor), side="right")
    hour = 7.5 + 11 * rng.beta(2.2, 3.0, n)
    seconds = np.minimum(day, days - 1) * 86_400 + (hour * 3600).astype(np.int64)
    order = np.argsort(seconds, kind="stable")
    importer, seconds = importer[order], seconds[order]

    lane = categorical_draw(rng, imp.slot_cum, importer)
    sector = imp.slot_sector[importer, lane]
    supplier = imp.slot_supplier[importer, lane]
    air = rng.random(n) < SECTOR_AIR[sector]
    road = ~air & ~SECTOR_BULK[sector] & (rng.random(n) < COUNTRY_ROAD[sup.country[supplier]])
    mode = np.select([air, road], [2, 1], 0)
    procedure = weighted_choice(rng, list(PROCEDURES.values()), n)
    inward_processing = (SECTOR_USE[sector] == "IND") & (rng.random(n) < 0.1)
    return {
        "seconds": seconds,
        "importer": importer,
        "supplier": supplier,
        "sector": sector,
        "mode": mode,
        "courier": np.where(air & (rng.random(n) < 0.45), rng.integers(0, len(COURIERS), n), -1),
        "office": categorical_draw(rng, OFFICE_CUM, mode),
        "procedure": np.where(inward_processing, list(PROCEDURES).index("5100"), procedure),
        "declarant": imp.declarants[importer, (rng.random(n) < 0.15).astype(int)],
        "items": 1 + weighted_choice(rng, (55, 25, 10, 6, 4), n),
        "pre_lodged": rng.random(n) < 0.14,  # lodged before the goods arrive
    }


def quantity_of(line: np.ndarray, net_kg: np.ndarray) -> np.ndarray:
    """Tariff quantity in the line's unit for a net mass."""
    per_unit = net_kg / LINE_KG_PER_UNIT[line]
    unit = LINE_UNIT[line]
    return np.select(
        [unit == UNITS.index("U"), unit == UNITS.index("L")],
        [np.maximum(1.0, np.rint(per_unit)), np.round(per_unit, 1)],
        net_kg,
    )


def duty_rate_of(line: np.ndarray, preference: np.ndarray) -> np.ndarray:
    return np.where(preference, LINE_PREFERENTIAL[line], LINE_MFN[line])


def burden(line: np.ndarray, preference: np.ndarray) -> np.ndarray:
    """Duties and taxes per unit of customs value."""
    return (1 + duty_rate_of(line, preference) / 100) * (1 + LINE_VAT[line] / 100)


def make_items(
    rng: np.random.Generator, imp: Importers, sup: Suppliers, decl: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The true goods of each item; the declared copies (``declared_*``) start equal."""
    owner = np.repeat(np.arange(len(decl["items"])), decl["items"])
    m = len(owner)
    importer = decl["importer"][owner]
    line = SECTOR_LINES[
        decl["sector"][owner], categorical_draw(rng, SECTOR_LINE_CUM, decl["sector"][owner])
    ]
    origin = sup.origin[decl["supplier"][owner]]
    claims = rng.random(len(decl["items"])) < 0.85
    preference = (COUNTRY_AGREEMENT[origin] >= 0) & claims[owner]

    authorised = AUTHORISED[importer, line]
    parallel = uniform_pick(rng, LINE_BRANDS, LINE_BRAND_COUNT, line)  # -1 on unbranded lines
    brand = np.where(
        (authorised >= 0) & (rng.random(m) < 0.85),
        authorised,
        np.where(rng.random(m) < 0.025, parallel, -1),
    )

    mode = decl["mode"][owner]
    courier = decl["courier"][owner] >= 0
    target = (
        LINE_TYPICAL_KG[line]
        * imp.scale[importer]
        * np.asarray(MODE_SCALE)[mode]
        * np.where(courier, 0.1, 1.0)
        * rng.lognormal(0, 0.6, m)
    )
    target = np.clip(target, 0.2, np.asarray(MODE_CAP_KG)[mode])
    pieces = np.maximum(1.0, np.rint(target / LINE_KG_PER_UNIT[line]))
    counted = LINE_UNIT[line] == UNITS.index("U")
    noise = rng.uniform(0.96, 1.04, m)
    net = np.round(np.where(counted, pieces * LINE_KG_PER_UNIT[line] * noise, target), 2)
    quantity = np.where(counted, pieces, quantity_of(line, net))
    gross = np.round(net * rng.uniform(1.03, 1.2, m), 2)

    usd_per_kg = (
        LINE_USD_PER_KG[line]
        * COUNTRY_PRICE[origin]
        * imp.price[importer]
        * rng.lognormal(0, 0.25, m)
    )
    generic = np.maximum(net * usd_per_kg * EXCHANGE_RATES["USD"], 300.0)  # MAD, unbranded
    value = generic * np.where(brand >= 0, BRAND_PREMIUMS[np.maximum(brand, 0)], 1.0)
    brand_mentioned = (brand >= 0) & (rng.random(m) < 0.4)
    declared = {
        "line": line,
        "origin": origin,
        "preference": preference,
        "brand": brand,
        "net": net,
        "gross": gross,
        "quantity": quantity,
        "value": value,
    }
    return {
        "owner": owner,
        "starts": np.concatenate([[0], np.cumsum(decl["items"])[:-1]]),
        "importer": importer,
        "generic": generic,
        "mentioned": np.where(brand_mentioned, brand, -1),  # brand written in the description
        "suffix": rng.integers(0, len(SUFFIXES), m),
        "kind": np.full(m, -1),
        **{f"true_{k}": v for k, v in declared.items()},
        **{f"declared_{k}": v.copy() for k, v in declared.items()},
    }
