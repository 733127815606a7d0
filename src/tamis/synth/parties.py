"""The population: suppliers and importers (risky ones, the ring of shells), their trade
lanes and brokers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tamis.synth.reference import (
    AUTHORISED,
    BASE_FRAUD,
    CITIES,
    CLASSIFICATION,
    COUNTERFEIT,
    COUNTRIES,
    COUNTRY_AGREEMENT,
    COUNTRY_CODES,
    COUNTRY_INDEX,
    FRAUD_MIX,
    IMPORTER_FORMS,
    IMPORTER_WORDS,
    LINE_ALIAS,
    LINE_SECTOR,
    LINES,
    MAX_SLOTS,
    N_DECLARANTS,
    N_IMPORTERS,
    N_SUPPLIERS,
    NEW_SHARE,
    ORIGIN,
    RING_FRAUD,
    RING_SIZE,
    RING_VOLUME,
    RISKY_SHARE,
    SECTOR_INDEX,
    SECTOR_LINES,
    SECTOR_POPULARITY,
    SECTORS,
    STREETS,
    SUPPLIER_WORDS,
    cumulative,
    padded,
)
from tamis.synth.sampling import categorical_draw, weighted_choice


@dataclass
class Suppliers:
    name: list[str]
    country: np.ndarray
    origin: np.ndarray  # origin of the goods they sell (traders re-export Chinese goods)
    by_sector: list[np.ndarray]  # supplier indices of each sector, most popular first

    @property
    def ids(self) -> list[str]:
        return [f"SUP{i + 1:06d}" for i in range(len(self.name))]


def _unique_names(
    rng: np.random.Generator, words: tuple[tuple[str, ...], ...], n: int
) -> list[str]:
    """n distinct names, each one word of every tuple (empty words skipped)."""
    sizes = [len(w) for w in words]
    picks = np.unravel_index(rng.choice(np.prod(sizes), n, replace=False), sizes)
    return [
        " ".join(w[k] for w, k in zip(words, combo, strict=True) if w[k])
        for combo in zip(*picks, strict=True)
    ]


def make_suppliers(rng: np.random.Generator) -> Suppliers:
    counts = np.round(N_SUPPLIERS * SECTOR_POPULARITY / SECTOR_POPULARITY.sum()).astype(int)
    sector = np.repeat(np.arange(len(SECTORS)), counts)
    country = np.concatenate(
        [
            np.array([COUNTRY_INDEX[c] for c in s.origins])[
                weighted_choice(rng, list(s.origins.values()), k)
            ]
            for s, k in zip(SECTORS, counts, strict=True)
        ]
    )
    sells_chinese = np.array(["CN" in SECTORS[s].origins for s in sector])
    trader = sells_chinese & (
        rng.random(len(sector)) < np.where(country == COUNTRY_INDEX["AE"], 0.6, 0.05)
    )
    origin = np.where(trader, COUNTRY_INDEX["CN"], country)
    words = _unique_names(rng, SUPPLIER_WORDS, len(sector))
    name = [
        f"{w} {COUNTRIES[COUNTRY_CODES[c]].legal_form}" for w, c in zip(words, country, strict=True)
    ]
    return Suppliers(
        name, country, origin, [np.flatnonzero(sector == s) for s in range(len(SECTORS))]
    )


@dataclass
class Importers:
    name: list[str]
    address: list[str]
    weight: np.ndarray  # relative volume of declarations
    first_day: np.ndarray  # first day of the period it may lodge
    fraud_rate: np.ndarray  # chance that one of its declarations is fraudulent
    modus: np.ndarray  # favourite fraud type of a risky importer, else -1
    ring: np.ndarray
    slot_supplier: np.ndarray  # (importer, lane) -> supplier, -1 pad
    slot_sector: np.ndarray
    slot_cum: np.ndarray  # cumulative share of its declarations per lane
    declarants: np.ndarray  # (importer, 2): main and occasional broker
    scale: np.ndarray  # consignment size
    price: np.ndarray  # price level it negotiates

    @property
    def ids(self) -> list[str]:
        return [f"IMP{i + 1:06d}" for i in range(len(self.name))]


def _addresses(rng: np.random.Generator, n: int) -> list[str]:
    cities = list(CITIES)
    city = weighted_choice(rng, [CITIES[c][0] for c in cities], n)
    street = rng.integers(0, len(STREETS), n)
    number = rng.integers(1, 300, n)
    return [
        f"{k}, {STREETS[s]}, {CITIES[cities[c]][1]} {cities[c]}"
        for k, s, c in zip(number, street, city, strict=True)
    ]


def _supplier_pools(sup: Suppliers) -> tuple[np.ndarray, np.ndarray]:
    """Suppliers of each sector (rows 0..), then those of each sector selling goods of
    non-preferential origin (rows len(SECTORS)..), with Zipf-like cumulative popularity."""
    pools = list(sup.by_sector)
    for members in sup.by_sector:
        fake_able = members[COUNTRY_AGREEMENT[sup.origin[members]] < 0]
        pools.append(fake_able if len(fake_able) else members)
    table, _ = padded(pools)
    return table, cumulative([1.0 / (np.arange(len(pool)) + 3.0) for pool in pools])


def make_importers(rng: np.random.Generator, sup: Suppliers, days: int) -> Importers:
    n = N_IMPORTERS
    authorised = (AUTHORISED >= 0).any(axis=1)
    # Brand distributors are established, sizeable firms: push them up the ranking.
    rank = np.argsort(np.argsort(rng.random(n) * np.where(authorised, 0.15, 1.0)))
    weight = (rank + 6.0) ** -1.1
    ring = np.zeros(n, bool)
    ring[rng.choice(np.flatnonzero(~authorised), RING_SIZE, replace=False)] = True
    risky = np.zeros(n, bool)
    candidates = np.flatnonzero(~authorised & ~ring & (rank >= 30))
    risky[rng.choice(candidates, round(RISKY_SHARE * n), replace=False)] = True
    weight[ring] = weight[~ring].sum() * RING_VOLUME / RING_SIZE

    new = ~authorised & (rng.random(n) < NEW_SHARE)
    first_day = np.where(new, rng.integers(0, max(1, days * 9 // 10), n), 0)
    first_day[ring] = rng.integers(days // 5, days * 3 // 5 + 1, RING_SIZE)
    fraud_rate = np.select([ring, risky], [RING_FRAUD, rng.uniform(0.3, 0.85, n)], BASE_FRAUD)
    modus = np.where(risky, weighted_choice(rng, FRAUD_MIX, n), -1)

    # Sectors of trade: risky firms pick those where their favourite fraud works.
    brandable = np.array([any(LINES[i].brands for i in row if i >= 0) for row in SECTOR_LINES])
    aliased = np.array([(LINE_ALIAS[row[row >= 0]] >= 0).any() for row in SECTOR_LINES])
    sector_p = {
        k: p / p.sum()
        for k, p in (
            (COUNTERFEIT, SECTOR_POPULARITY * brandable),
            (CLASSIFICATION, SECTOR_POPULARITY * aliased),
            (-1, SECTOR_POPULARITY),
        )
    }
    ring_sectors = [SECTOR_INDEX["apparel"], SECTOR_INDEX["footwear"], SECTOR_INDEX["apparel"]]
    lane_sectors = []
    for i in range(n):
        n_sectors = 1 + int(rng.random() < 0.35) + int(rng.random() < 0.1)
        chosen = rng.choice(
            len(SECTORS), n_sectors, replace=False, p=sector_p.get(modus[i], sector_p[-1])
        )
        own = np.unique(LINE_SECTOR[AUTHORISED[i] >= 0])
        chosen = np.concatenate([own, chosen[~np.isin(chosen, own)]])
        wanted = 1 + rng.poisson(1 + 3 * weight[i] / weight.max())  # big firms, more lanes
        lanes = max(len(chosen), min(MAX_SLOTS, wanted))
        lane_sectors.append(ring_sectors if ring[i] else np.resize(chosen, lanes))

    # Lanes: (supplier, sector) pairs that recur; popular suppliers serve many importers.
    slot_sector, lanes = padded(lane_sectors)
    used = slot_sector >= 0
    pools, pool_cum = _supplier_pools(sup)
    rows = (slot_sector + len(SECTORS) * ((modus == ORIGIN) | ring)[:, None])[used]
    slot_supplier = np.full(slot_sector.shape, -1)
    slot_supplier[used] = pools[rows, categorical_draw(rng, pool_cum, rows)]
    slot_supplier[ring] = slot_supplier[np.argmax(ring)]  # the ring shares its suppliers
    share = np.cumsum(rng.standard_exponential(slot_sector.shape) * used, axis=1)
    slot_cum = np.where(used, share / share[np.arange(n), lanes - 1, None], 2.0)
    slot_cum[np.arange(n), lanes - 1] = 1.0

    declarant_cum = cumulative([1.0 / (np.arange(N_DECLARANTS) + 2.0)])
    declarants = categorical_draw(rng, declarant_cum, np.zeros(2 * n, int)).reshape(n, 2)
    declarants[ring] = rng.integers(0, N_DECLARANTS)
    address = _addresses(rng, n + 3 + 5)
    ring_addresses, domiciliations = address[n : n + 3], address[n + 3 :]
    for k, i in enumerate(np.flatnonzero(ring)):
        address[i] = ring_addresses[k % 3]
    # Business centres host many small legitimate firms: shared addresses are not proof.
    for i in rng.choice(np.flatnonzero(~ring & ~authorised), 40, replace=False):
        address[i] = domiciliations[rng.integers(0, len(domiciliations))]

    forms = rng.integers(0, len(IMPORTER_FORMS), n)
    names = _unique_names(rng, IMPORTER_WORDS, n)
    return Importers(
        name=[f"{name} {IMPORTER_FORMS[k]}" for name, k in zip(names, forms, strict=True)],
        address=address[:n],
        weight=weight,
        first_day=first_day,
        fraud_rate=fraud_rate,
        modus=modus,
        ring=ring,
        slot_supplier=slot_supplier,
        slot_sector=slot_sector,
        slot_cum=slot_cum,
        declarants=declarants,
        scale=rng.lognormal(0, 0.4, n) * (weight / np.median(weight)) ** 0.15,
        price=rng.lognormal(0, 0.12, n),
    )
