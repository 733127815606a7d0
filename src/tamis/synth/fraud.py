"""Planted fraud: undervaluation, misclassification, false origin, counterfeits and
understated quantities, each labelled with the revenue at stake."""

from __future__ import annotations

import numpy as np

from tamis.synth.goods import burden, quantity_of
from tamis.synth.parties import Importers, Suppliers
from tamis.synth.reference import (
    AUTHORISED,
    BRAND_PREMIUMS,
    CLASSIFICATION,
    COUNTERFEIT,
    COUNTRY_AGREEMENT,
    COUNTRY_INDEX,
    FRAUD_MIX,
    FRAUD_SPREAD,
    LINE_ALIAS,
    LINE_BRAND_COUNT,
    LINE_BRANDS,
    LINE_MFN,
    LINE_PREFERENTIAL,
    LINE_UNIT,
    ORIGIN,
    ORIGIN_COVERS,
    QUANTITY,
    RING_MIX,
    UNITS,
    VALUATION,
)
from tamis.synth.sampling import categorical_draw, weighted_choice


def _choose(
    rng: np.random.Generator,
    item: dict[str, np.ndarray],
    candidates: np.ndarray,
    spread: np.ndarray,
) -> np.ndarray:
    """One random candidate item per declaration, plus each other one with chance spread."""
    key = np.where(candidates, rng.random(len(candidates)), -1.0)
    best = np.maximum.reduceat(key, item["starts"])[item["owner"]]
    return candidates & ((key == best) | (rng.random(len(candidates)) < spread))


def _other_brand(rng: np.random.Generator, line: np.ndarray, importer: np.ndarray) -> np.ndarray:
    """A brand of the line that the importer is not authorised for, or -1 if none."""
    own = AUTHORISED[importer, line]
    choices = LINE_BRAND_COUNT[line] - (own >= 0)
    k = (rng.random(len(line)) * choices).astype(np.int64)
    k += (own >= 0) & (k >= np.argmax(LINE_BRANDS[line] == own[:, None], axis=1))
    return np.where(choices > 0, LINE_BRANDS[line, np.minimum(k, LINE_BRANDS.shape[1] - 1)], -1)


def _eligible(item: dict[str, np.ndarray]) -> np.ndarray:
    """(fraud type, item) -> can this item carry that fraud with duties or taxes evaded."""
    line, preference = item["true_line"], item["true_preference"]
    alias = np.maximum(LINE_ALIAS[line], 0)
    everything = np.ones(len(line), bool)
    return np.stack(
        [
            everything,
            (LINE_ALIAS[line] >= 0) & (burden(alias, preference) < burden(line, preference)),
            (COUNTRY_AGREEMENT[item["true_origin"]] < 0)
            & (LINE_MFN[line] > LINE_PREFERENTIAL[line]),
            LINE_BRAND_COUNT[line] > (AUTHORISED[item["importer"], line] >= 0),
            everything,
        ]
    )


def plant_fraud(
    rng: np.random.Generator,
    imp: Importers,
    sup: Suppliers,
    decl: dict[str, np.ndarray],
    item: dict[str, np.ndarray],
) -> None:
    n, owner = len(decl["items"]), item["owner"]
    importer = decl["importer"]
    eligible = _eligible(item)
    fits = np.logical_or.reduceat(eligible, item["starts"], axis=1).T  # (declaration, type)
    # Each fraudulent declaration gets a type its goods can carry (valuation always can).
    mix = np.where(imp.ring[importer, None], RING_MIX, FRAUD_MIX) * fits
    kind = categorical_draw(
        rng, np.cumsum(mix, axis=1) / mix.sum(axis=1, keepdims=True), np.arange(n)
    )
    modus = imp.modus[importer]
    favourite = (modus >= 0) & fits[np.arange(n), modus] & (rng.random(n) < 0.7)
    kind = np.where(favourite, modus, kind)
    kind = np.where(rng.random(n) < imp.fraud_rate[importer], kind, -1)

    item_kind = kind[owner]
    candidates = (item_kind >= 0) & eligible[np.maximum(item_kind, 0), np.arange(len(owner))]
    spread = np.asarray(FRAUD_SPREAD)[np.maximum(item_kind, 0)]
    item["kind"] = np.where(_choose(rng, item, candidates, spread), item_kind, -1)

    _undervalue(rng, item, item["kind"] == VALUATION)
    _misclassify(item, item["kind"] == CLASSIFICATION)
    _fake_origin(rng, sup, decl, item, item["kind"] == ORIGIN)
    _counterfeit(rng, item, item["kind"] == COUNTERFEIT)
    _understate(rng, decl, item, item["kind"] == QUANTITY)


def _undervalue(rng: np.random.Generator, item: dict[str, np.ndarray], mask: np.ndarray) -> None:
    item["declared_value"][mask] /= rng.uniform(2.5, 10.0, mask.sum())


def _misclassify(item: dict[str, np.ndarray], mask: np.ndarray) -> None:
    line = item["true_line"][mask]
    alias = LINE_ALIAS[line]
    item["declared_line"][mask] = alias
    item["declared_quantity"][mask] = np.where(
        LINE_UNIT[alias] == LINE_UNIT[line],
        item["true_quantity"][mask],
        quantity_of(alias, item["true_net"][mask]),
    )


def _fake_origin(
    rng: np.random.Generator,
    sup: Suppliers,
    decl: dict[str, np.ndarray],
    item: dict[str, np.ndarray],
    mask: np.ndarray,
) -> None:
    n = len(decl["items"])
    cover = np.array([COUNTRY_INDEX[c] for c in ORIGIN_COVERS])[
        weighted_choice(rng, list(ORIGIN_COVERS.values()), n)
    ]
    item["declared_origin"][mask] = cover[item["owner"][mask]]
    item["declared_preference"][mask] = True
    # A quarter hide the route too: invoiced and shipped by a firm of the cover country.
    faked = np.zeros(n, bool)
    faked[item["owner"][mask]] = True
    laundered = faked & (rng.random(n) < 0.25)
    for country in np.unique(cover[laundered]):
        firms = np.flatnonzero(sup.country == country)
        here = laundered & (cover == country)
        decl["supplier"][here] = firms[rng.integers(0, len(firms), here.sum())]


def _counterfeit(rng: np.random.Generator, item: dict[str, np.ndarray], mask: np.ndarray) -> None:
    brand = _other_brand(rng, item["true_line"][mask], item["importer"][mask])
    generic = item["generic"][mask]
    item["true_brand"][mask] = brand
    item["true_value"][mask] = generic * BRAND_PREMIUMS[brand]  # what genuine goods would be worth
    item["declared_value"][mask] = generic * rng.uniform(0.25, 0.6, mask.sum())
    in_field = rng.random(mask.sum()) < 0.6
    item["declared_brand"][mask] = np.where(in_field, brand, -1)
    mentioned = ~in_field | (rng.random(mask.sum()) < 0.3)
    item["mentioned"][mask] = np.where(mentioned, brand, -1)


def _understate(
    rng: np.random.Generator,
    decl: dict[str, np.ndarray],
    item: dict[str, np.ndarray],
    mask: np.ndarray,
) -> None:
    keep = (1 - rng.uniform(0.3, 0.7, len(decl["items"])))[item["owner"][mask]]
    line = item["true_line"][mask]
    net = np.maximum(np.round(item["true_net"][mask] * keep, 2), 0.01)
    item["declared_net"][mask] = net
    item["declared_gross"][mask] = np.maximum(np.round(item["true_gross"][mask] * keep, 2), 0.01)
    item["declared_quantity"][mask] = np.where(
        LINE_UNIT[line] == UNITS.index("U"),
        np.maximum(1.0, np.rint(item["true_quantity"][mask] * keep)),
        quantity_of(line, net),
    )
    item["declared_value"][mask] *= keep
