"""Duties and taxes, the goods' route, and the flat items frame with its ground truth."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import numpy as np
import polars as pl

from tamis.declarations import FIELDS
from tamis.synth.goods import duty_rate_of
from tamis.synth.parties import Importers, Suppliers
from tamis.synth.reference import (
    AGREEMENTS,
    BRAND_NAMES,
    COUNTRY_AGREEMENT,
    COUNTRY_CODES,
    COUNTRY_CURRENCY,
    COUNTRY_CURRENCY_CUM,
    COUNTRY_INDEX,
    COUNTRY_PORT_COUNT,
    COUNTRY_PORTS,
    COURIERS,
    CURRENCIES,
    FRAUD_TYPES,
    GROUND_TRUTH,
    LINE_UNIT,
    LINE_VAT,
    LINES,
    MODES,
    N_DECLARANTS,
    OFFICE_CODES,
    PORTS,
    PROCEDURES,
    PROOFS,
    RATES,
    SECTOR_USE,
    SUFFIXES,
    TRANSIT_HUBS,
    UNITS,
)
from tamis.synth.sampling import (
    categorical_draw,
    money_column,
    text_column,
    uniform_pick,
    weighted_choice,
)


class _Assessment(NamedTuple):  # in hundredths of the national currency
    invoice: np.ndarray
    customs_value: np.ndarray
    duty: np.ndarray
    tax: np.ndarray


def _assess(
    value_mad: np.ndarray, rate: np.ndarray, line: np.ndarray, preference: np.ndarray
) -> _Assessment:
    invoice = np.rint(value_mad / rate * 100)
    customs_value = np.rint(invoice * rate)  # the invoice is taken as CIF
    duty = np.rint(customs_value * duty_rate_of(line, preference) / 100)
    tax = np.rint((customs_value + duty) * LINE_VAT[line] / 100)
    return _Assessment(invoice, customs_value, duty, tax)


def shipping_route(rng: np.random.Generator, sup: Suppliers, decl: dict[str, np.ndarray]) -> None:
    """Export country, loading place and invoice currency, from the (final) supplier."""
    n = len(decl["items"])
    country = sup.country[decl["supplier"]]
    hub = np.array([COUNTRY_INDEX[c] for c in TRANSIT_HUBS])[rng.integers(0, len(TRANSIT_HUBS), n)]
    decl["export"] = np.where(rng.random(n) < 0.04, hub, country)
    decl["loading"] = uniform_pick(rng, COUNTRY_PORTS, COUNTRY_PORT_COUNT, decl["export"])
    decl["currency"] = COUNTRY_CURRENCY[
        country, categorical_draw(rng, COUNTRY_CURRENCY_CUM, country)
    ]


def make_header(
    rng: np.random.Generator,
    imp: Importers,
    sup: Suppliers,
    decl: dict[str, np.ndarray],
    start: date,
) -> pl.DataFrame:
    n = len(decl["items"])
    lodged = np.datetime64(start, "s") + decl["seconds"]
    year = lodged.astype("datetime64[Y]").astype(np.int64) + 1970
    number = pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(7)
    declaration_id = pl.concat_str(
        [pl.lit("D"), pl.Series(year).cast(pl.String), pl.lit("-"), number]
    )
    suspended = np.array(list(PROCEDURES))[decl["procedure"]] != "4000"  # duties guaranteed
    payment = np.where(suspended, 3, weighted_choice(rng, (60, 30, 10), n))
    clearance = np.where(decl["pre_lodged"], 1, np.where(rng.random(n) < 0.09, 2, 0))
    return pl.DataFrame(
        {
            "declaration_id": pl.select(declaration_id).to_series(),
            "lodged_at": pl.Series(lodged.astype("datetime64[us]")),
            "office": text_column(OFFICE_CODES, decl["office"]),
            "procedure": text_column(list(PROCEDURES), decl["procedure"]),
            "declaration_type": pl.repeat("IM", n, eager=True),
            "clearance_type": text_column(["A", "D", "C"], clearance),
            "goods_use": text_column(
                ["OWN", *SECTOR_USE], np.where(rng.random(n) < 0.03, 0, decl["sector"] + 1)
            ),
            "payment_method": text_column(["H", "E", "A", "G"], payment),
            "declarant_id": text_column(
                [f"DCL{i + 1:04d}" for i in range(N_DECLARANTS)], decl["declarant"]
            ),
            "importer_id": text_column(imp.ids, decl["importer"]),
            "importer_name": text_column(imp.name, decl["importer"]),
            "importer_address": text_column(imp.address, decl["importer"]),
            "supplier_id": text_column(sup.ids, decl["supplier"]),
            "supplier_name": text_column(sup.name, decl["supplier"]),
            "supplier_country": text_column(COUNTRY_CODES, sup.country[decl["supplier"]]),
            "courier_id": text_column(COURIERS, decl["courier"]),
            "export_country": text_column(COUNTRY_CODES, decl["export"]),
            "transport_mode": text_column(MODES, decl["mode"]),
            "loading_place": text_column(PORTS, decl["loading"]),
        }
    )


def _description(item: dict[str, np.ndarray]) -> pl.Series:
    """The true goods' description: misclassified goods keep it, betraying the code."""
    words = pl.DataFrame(
        {
            "goods": text_column([ln.description for ln in LINES], item["true_line"]),
            "suffix": text_column(SUFFIXES, item["suffix"]),
            "brand": text_column(BRAND_NAMES, item["mentioned"]).str.to_uppercase(),
        }
    )
    return words.select(
        pl.concat_str(["goods", "suffix", pl.lit(" MARQUE ") + pl.col("brand")], ignore_nulls=True)
    ).to_series()


def items_frame(
    imp: Importers, decl: dict[str, np.ndarray], item: dict[str, np.ndarray], header: pl.DataFrame
) -> pl.DataFrame:
    owner = item["owner"]
    line, origin = item["declared_line"], item["declared_origin"]
    preference = item["declared_preference"]
    rate = RATES[decl["currency"][owner]]
    declared = _assess(item["declared_value"], rate, line, preference)
    true = _assess(item["true_value"], rate, item["true_line"], item["true_preference"])
    fraud = item["kind"] >= 0
    revenue = np.where(fraud, true.duty + true.tax - declared.duty - declared.tax, 0)
    items = pl.DataFrame(
        {
            "item_number": pl.Series(
                np.arange(len(owner)) - item["starts"][owner] + 1, dtype=pl.Int32
            ),
            "hs_code": text_column([ln.hs_code for ln in LINES], line),
            "description": _description(item),
            "brand": text_column(BRAND_NAMES, item["declared_brand"]),
            "origin_country": text_column(COUNTRY_CODES, origin),
            "origin_proof": text_column(
                PROOFS, np.where(preference, COUNTRY_AGREEMENT[origin], -1)
            ),
            "preference_code": text_column(
                AGREEMENTS, np.where(preference, COUNTRY_AGREEMENT[origin], -1)
            ),
            "quantity": item["declared_quantity"],
            "quantity_unit": text_column(UNITS, LINE_UNIT[line]),
            "gross_mass_kg": item["declared_gross"],
            "net_mass_kg": item["declared_net"],
            "invoice_amount": money_column(declared.invoice),
            "invoice_currency": text_column(CURRENCIES, decl["currency"][owner]),
            "customs_value": money_column(declared.customs_value),
            "duty_rate": duty_rate_of(line, preference),
            "vat_rate": LINE_VAT[line],
            "duty_amount": money_column(declared.duty),
            "tax_amount": money_column(declared.tax),
            "fraud": fraud,
            "fraud_type": text_column(FRAUD_TYPES, item["kind"]),
            "revenue_at_stake": money_column(revenue),
            "ring_member": imp.ring[item["importer"]],
        }
    )
    frame = pl.concat([header[owner], items], how="horizontal")
    return frame.select([f.name for f in FIELDS] + list(GROUND_TRUTH))
