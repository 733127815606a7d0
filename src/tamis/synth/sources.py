"""Synthetic cross-source data, consistent with a synthetic year of declarations.

Built by ``tamis.synth.generate`` from the same population (importers, suppliers, goods):

- **manifests** (bills of lading): one per declaration with the true gross mass and the
  goods' description, plus bills of goods never declared;
- **payments** abroad reported by the banks: the price truly paid for each declaration's
  goods (in instalments, sometimes in another currency), plus payments for goods never
  declared;
- the **trademark register**: each brand, its owner, Nice classes and authorised importers;
- **tax returns**: per company and quarter, purchases from imports and turnover.

Each party is spelt as the source's clerk typed it (legal form dropped, abbreviations,
typos, addresses written out differently): one spelling per company and channel (carrier,
bank, tax office), as a real system keeps it. Manifests carry no company id, tax returns
the tax administration's own taxpayer number, and a fifth of transfer orders lack the
payer's id: linking them to importers is entity resolution's work. The ring of shell
importers shares two phones and pays one account abroad. The true importer of every
record is in a ``*_entity`` column, the planted discrepancy in ``discrepancy``; both are
ground truth, never read by Tamis.

Planted discrepancies, labelled where they are material:

- manifests: ``weight`` (quantity fraud: the bill keeps the true mass), ``description``
  (the bill names goods of a heading the declaration does not declare: misclassification),
  ``undeclared`` (no declaration ever cleared the bill);
- payments: ``under_invoicing`` (paid at least ``PAYMENT_MATERIALITY`` times the customs
  value: under-valuation, understated quantities, counterfeits declared far below their
  price), ``undeclared`` (paid abroad for goods that were never declared: the ring of
  shell importers and a few risky firms);
- tax returns: ``purchases_above_customs`` (the company books the true cost of goods it
  under-declared at customs), ``imports_not_reported`` (shells declare little or nothing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from tamis.synth.parties import Importers, Suppliers
from tamis.synth.reference import (
    AUTHORISED_DISTRIBUTORS,
    CARRIERS,
    COUNTERFEIT,
    COUNTRY_CODES,
    COURIERS,
    CURRENCIES,
    LINE_TYPICAL_KG,
    LINES,
    MODES,
    PORTS,
    QUANTITY,
    RATES,
    SECTOR_BULK,
    UNDECLARED_MANIFESTS,
    VESSELS,
    importer_index,
    padded,
)
from tamis.synth.sampling import money_column, text_column, uniform_pick, weighted_choice

PAYMENT_MATERIALITY = 1.3  # paid / customs value from which under-invoicing is planted
TAX_MATERIALITY = 1.25  # booked / customs cost from which a tax-return gap is planted
UNREFERENCED_PAYMENTS = 0.03  # share of honest payments whose bank left out the declaration
PAYER_ID_MISSING = 0.2  # share of transfer orders on which the payer's id was not captured
GRACE_DAYS = 45  # goods may wait this long in temporary storage, and payments for them
BANKS: tuple[tuple[str, str], ...] = (
    ("ATTIJARIWAFA BANK", "007"), ("BANQUE POPULAIRE", "190"), ("BANK OF AFRICA", "011"),
    ("SOCIETE GENERALE MAROC", "022"), ("CIH BANK", "230"), ("CREDIT DU MAROC", "021"),
)  # fmt: skip
NICE_CLASSES: dict[str, str] = {  # sector -> Nice class of its brands
    "footwear": "25", "apparel": "25", "electronics": "9", "appliances": "7", "vehicles": "12",
    "pharma": "5", "cosmetics": "3", "food": "30", "toys": "28", "furniture": "11",
    "luxury": "18",
}  # fmt: skip

_LEGAL_FORM = re.compile(r" (SARL AU|SARL|SA)$")
_ABBREVIATIONS = (
    ("INTERNATIONAL", "INTL"), ("DISTRIBUTION", "DISTRIB"), ("IMPORT EXPORT", "IMP-EXP"),
    ("COMMERCE", "CIAL"), ("INDUSTRIES", "IND."), ("EQUIPEMENT", "EQUIP."),
    ("FOURNITURES", "FOURN."), ("SERVICES", "SCES"), ("APPROVISIONNEMENT", "APPRO"),
)  # fmt: skip
_STREET_WORDS = (("BD ", "BOULEVARD "), ("AV ", "AVENUE "), ("QUARTIER ", "QU. "))


def _typo(text: str, u: float) -> str:
    """One letter dropped, as a hurried clerk does."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    k = letters[int(u * len(letters))]
    return text[:k] + text[k + 1 :]


def _name_variant(name: str, kind: int, u: float) -> str:
    if kind == 1:
        return _LEGAL_FORM.sub("", name)
    if kind == 2:
        return "STE " + name
    if kind == 3:
        return name.title()
    if kind == 4:
        return _typo(name, u)
    if kind == 5:
        for long, short in _ABBREVIATIONS:
            if long in name:
                return name.replace(long, short)
        return _LEGAL_FORM.sub("", name)
    return name


def _address_variant(address: str, kind: int, u: float) -> str:
    if kind == 1:
        for short, long in _STREET_WORDS:
            address = address.replace(short, long)
        return address
    if kind == 2:
        return "N° " + address.lower()
    if kind == 3:
        return re.sub(r", \d{5} ", ", ", address)
    if kind == 4:
        return _typo(address, u)
    return address


NAME_MIX = (60, 10, 8, 8, 8, 6)  # as typed in the register, no legal form, STE, case, typo, abbr.
ADDRESS_MIX = (55, 15, 10, 10, 10)  # as registered, written out, lower case, no postcode, typo


def spellings(
    rng: np.random.Generator,
    values: Sequence[str],
    entity: np.ndarray,
    channel: np.ndarray,
    variant,
    mix: Sequence[float],
) -> pl.Series:
    """values[entity] as each channel spells it: one spelling per (entity, channel)."""
    pairs, inverse = np.unique(np.stack([entity, channel]), axis=1, return_inverse=True)
    kinds = weighted_choice(rng, mix, pairs.shape[1])
    u = rng.random(pairs.shape[1])
    spelt = [
        variant(values[e], int(k), float(x)) for e, k, x in zip(pairs[0], kinds, u, strict=True)
    ]
    return pl.Series(np.array(spelt, dtype=object)[inverse.ravel()], dtype=pl.String)


@dataclass(frozen=True)
class World:
    """What the declarations were made from: the sources are drawn from the same world."""

    imp: Importers
    sup: Suppliers
    decl: dict[str, np.ndarray]
    item: dict[str, np.ndarray]
    items: pl.DataFrame
    header: pl.DataFrame
    start: date
    days: int

    @property
    def n(self) -> int:
        return len(self.decl["items"])

    def per_declaration(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.item["starts"])

    def money(self, column: str) -> np.ndarray:
        return self.per_declaration(self.items[column].cast(pl.Float64).to_numpy())

    def paid(self) -> np.ndarray:
        """What each declaration's goods truly cost, in national currency (a counterfeit
        costs the fake's price, not the genuine brand's)."""
        item = self.item
        cost = np.where(item["kind"] == COUNTERFEIT, item["generic"], item["true_value"])
        return self.per_declaration(cost)

    def day(self) -> np.ndarray:
        return self.decl["seconds"] // 86_400

    def dates(self, days: np.ndarray) -> pl.Series:
        return pl.Series(np.datetime64(self.start, "D") + days)


# --- manifests -----------------------------------------------------------------------------

_CARRIER_NAMES = tuple(name for mode in MODES for name, _ in CARRIERS[mode])
_CARRIER_CODES = tuple(code for mode in MODES for _, code in CARRIERS[mode])
_MODE_CARRIERS, _MODE_CARRIER_COUNT = padded(
    [[_CARRIER_NAMES.index(name) for name, _ in CARRIERS[mode]] for mode in MODES]
)


def _heading_gap(w: World) -> np.ndarray:
    """Declarations whose bill names goods of a heading none of their items declares."""
    item = w.item
    true_heading = np.array([int(ln.hs_code[:4]) for ln in LINES])
    first = true_heading[item["true_line"][item["starts"]]]
    declared = true_heading[item["declared_line"]]
    covered = np.zeros(w.n, bool)
    np.logical_or.at(covered, item["owner"], declared == first[item["owner"]])
    return ~covered


def manifests(rng: np.random.Generator, w: World) -> pl.DataFrame:
    """One bill of lading per declaration with the true gross mass, plus undeclared ones."""
    imp, decl, item, n, days = w.imp, w.decl, w.item, w.n, w.days
    extra = max(1, round(UNDECLARED_MANIFESTS * n))
    stray_line = rng.integers(0, len(LINES), extra)
    mode = np.concatenate([decl["mode"], np.zeros(extra, int)])
    gross = np.concatenate(
        [
            w.per_declaration(item["true_gross"]) * rng.uniform(0.99, 1.01, n),
            LINE_TYPICAL_KG[stray_line] * rng.lognormal(0, 0.6, extra),
        ]
    )
    bulk = np.concatenate([SECTOR_BULK[decl["sector"]], np.zeros(extra, bool)])
    packages = np.where(
        bulk, 1, np.maximum(1, np.rint(gross / rng.lognormal(np.log(25), 0.5, n + extra)))
    )
    lodged_day = w.day()
    arrival = np.concatenate(
        [
            np.where(
                decl["pre_lodged"],
                lodged_day + rng.integers(1, 5, n),
                lodged_day - rng.geometric(0.4, n) + 1,
            ),
            rng.integers(0, max(1, days - GRACE_DAYS), extra),  # overdue by the period's end
        ]
    )
    carrier = uniform_pick(rng, _MODE_CARRIERS, _MODE_CARRIER_COUNT, mode)
    courier = np.concatenate([decl["courier"], np.full(extra, -1)])
    consignee = np.concatenate([decl["importer"], weighted_choice(rng, imp.weight, extra)])
    voyage = pl.Series(rng.integers(1, 999, n + extra)).cast(pl.String).str.zfill(3)
    flight = pl.Series(rng.integers(100, 9999, n + extra)).cast(pl.String)
    codes = text_column(_CARRIER_CODES, carrier)
    vessel_or_flight = pl.select(
        pl.when(pl.Series(mode) == 0)
        .then(
            pl.concat_str(
                [
                    text_column(VESSELS, rng.integers(0, len(VESSELS), n + extra)),
                    pl.lit(" "),
                    voyage,
                    pl.lit("N"),
                ]
            )
        )
        .when(pl.Series(mode) == 1)
        .then(pl.concat_str([pl.lit("TRL "), flight, pl.lit("-"), voyage]))
        .otherwise(codes + flight)
    ).to_series()
    bill_number = codes + pl.Series(rng.permutation(n + extra) + 1).cast(pl.String).str.zfill(9)
    description = pl.concat(
        [
            w.items["description"].gather(item["starts"]),
            text_column([ln.description for ln in LINES], stray_line),
        ]
    )
    channel = np.where(courier >= 0, len(_CARRIER_NAMES) + courier, carrier)
    weight_gap = np.zeros(n, bool)
    weight_gap[item["owner"][item["kind"] == QUANTITY]] = True
    discrepancy = np.concatenate(
        [np.select([weight_gap, _heading_gap(w)], [0, 1], -1), np.full(extra, 2)]
    )
    frame = pl.DataFrame(
        {
            "bill_number": bill_number,
            "declaration_id": pl.concat(
                [w.header["declaration_id"], pl.repeat(None, extra, dtype=pl.String, eager=True)]
            ),
            "carrier": pl.Series(np.array(_CARRIER_NAMES + COURIERS)[channel]),
            "vessel_or_flight": vessel_or_flight,
            "consignee_name": spellings(rng, imp.name, consignee, channel, _name_variant, NAME_MIX),
            "consignee_address": spellings(
                rng, imp.address, consignee, channel, _address_variant, ADDRESS_MIX
            ),
            "packages": pl.Series(packages, dtype=pl.Int32),
            "gross_mass_kg": np.round(gross, 2),
            "goods_description": description,
            "loading_place": pl.concat(
                [
                    w.header["loading_place"],
                    text_column(PORTS, rng.integers(0, len(PORTS), extra)),
                ]
            ),
            "arrival_date": w.dates(arrival),
            "consignee_entity": text_column(imp.ids, consignee),
            "discrepancy": text_column(("weight", "description", "undeclared"), discrepancy),
        }
    )
    return frame.sort("arrival_date", "bill_number")


# --- payments abroad -------------------------------------------------------------------------


def _digits(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    return pl.Series(
        ["".join(map(str, row)) for row in rng.integers(0, 10, (n, width))], dtype=pl.String
    )


def _accounts(rng: np.random.Generator, w: World) -> tuple[np.ndarray, pl.Series, pl.Series]:
    """Each importer's banks (1 or 2: columns) and account per (importer, bank); suppliers'
    accounts abroad."""
    n_imp = len(w.imp.name)
    banks = np.stack([rng.integers(0, len(BANKS), n_imp)] * 2, axis=1)
    second = rng.random(n_imp) < 0.3
    banks[second, 1] = (banks[second, 0] + rng.integers(1, len(BANKS), second.sum())) % len(BANKS)
    codes = np.array([code for _, code in BANKS])
    ribs = pl.Series(np.repeat(codes[None, :], n_imp, axis=0).ravel()) + _digits(
        rng, n_imp * len(BANKS), 21
    )
    countries = text_column(COUNTRY_CODES, w.sup.country)
    iban = countries + _digits(rng, len(w.sup.name), 20)
    return banks, ribs, iban


def payments(rng: np.random.Generator, w: World) -> pl.DataFrame:
    imp, sup, decl, n = w.imp, w.sup, w.decl, w.n
    banks, ribs, iban = _accounts(rng, w)
    paid, declared = w.paid(), w.money("customs_value")
    under = paid >= PAYMENT_MATERIALITY * declared

    # Honest and under-invoiced goods: paid around lodgement, some in two instalments.
    value_day = w.day() + rng.integers(-30, 61, n)
    split = rng.random(n) < 0.12
    owner = np.concatenate([np.arange(n), np.flatnonzero(split)])
    share = np.where(split, 0.6, 1.0)
    share = np.concatenate([share, np.full(split.sum(), 0.4)])
    day = np.concatenate([value_day, value_day[split] + rng.integers(20, 60, split.sum())])
    keep = day < w.days  # later instalments fall after the period: not yet paid
    owner, share, day = owner[keep], share[keep], day[keep]
    importer, supplier = decl["importer"][owner], decl["supplier"][owner]
    amount_mad = paid[owner] * share * rng.uniform(0.985, 1.015, len(owner))  # rate, fees
    currency = decl["currency"][owner]
    currency = np.where(
        (rng.random(len(owner)) < 0.08) & (currency != CURRENCIES.index("USD")),
        CURRENCIES.index("USD"),
        currency,
    )
    reference = w.header["declaration_id"].gather(owner)
    reference = reference.scatter(
        np.flatnonzero(rng.random(len(owner)) < UNREFERENCED_PAYMENTS), None
    )
    label = np.where(under[owner], 0, -1)

    # Paid abroad for goods never declared: the ring, every member, and a few risky firms.
    ring = np.flatnonzero(imp.ring)
    risky = np.flatnonzero(imp.modus >= 0)
    others = rng.choice(risky, max(1, len(risky) // 20), replace=False)
    payers = np.concatenate([np.repeat(ring, rng.integers(3, 7, len(ring))), np.repeat(others, 2)])
    extra = len(payers)
    lo = np.minimum(imp.first_day[payers], w.days - GRACE_DAYS - 1)
    extra_day = lo + (rng.random(extra) * (w.days - GRACE_DAYS - lo)).astype(int)
    lane = imp.slot_supplier[payers, 0]
    extra_amount = rng.lognormal(np.log(250_000), 0.6, extra)

    n_all = len(owner) + extra
    importer = np.concatenate([importer, payers])
    bank = banks[importer, (rng.random(n_all) < 0.3).astype(int)]
    beneficiary = np.concatenate([supplier, lane])
    currency = np.concatenate([currency, np.full(extra, CURRENCIES.index("USD"))])
    amount_mad = np.concatenate([amount_mad, extra_amount])
    # Ring money goes to one account abroad, whoever the invoice names.
    offshore = "AE" + "".join(map(str, rng.integers(0, 10, 21)))
    to_ring_account = np.concatenate([np.zeros(len(owner), bool), imp.ring[payers]])
    beneficiary_account = pl.select(
        pl.when(pl.Series(to_ring_account))
        .then(pl.lit(offshore))
        .otherwise(iban.gather(beneficiary))
    ).to_series()
    missing = rng.random(n_all) < PAYER_ID_MISSING
    ids = text_column(imp.ids, importer)
    frame = pl.DataFrame(
        {
            "payment_id": pl.Series(rng.permutation(n_all) + 1).cast(pl.String).str.zfill(8),
            "value_date": w.dates(np.concatenate([day, extra_day])),
            "payer_id": ids.clone().scatter(np.flatnonzero(missing), None),
            "payer_name": spellings(rng, imp.name, importer, bank, _name_variant, NAME_MIX),
            "payer_account": ribs.gather(importer * len(BANKS) + bank),
            "bank": text_column([b for b, _ in BANKS], bank),
            "amount": money_column(np.rint(amount_mad / RATES[currency] * 100)),
            "currency": text_column(CURRENCIES, currency),
            "amount_national": money_column(np.rint(amount_mad * 100)),
            "beneficiary_name": text_column(sup.name, beneficiary),
            "beneficiary_country": pl.select(
                pl.when(pl.Series(to_ring_account))
                .then(pl.lit("AE"))
                .otherwise(text_column(COUNTRY_CODES, sup.country[beneficiary]))
            ).to_series(),
            "beneficiary_account": beneficiary_account,
            "declaration_reference": pl.concat(
                [reference, pl.repeat(None, extra, dtype=pl.String, eager=True)]
            ),
            "payer_entity": ids,
            "discrepancy": text_column(
                ("under_invoicing", "undeclared"), np.concatenate([label, np.ones(extra, int)])
            ),
        }
    )
    return frame.with_columns(pl.lit("PAY").add(pl.col("payment_id")).alias("payment_id")).sort(
        "value_date", "payment_id"
    )


# --- trademark register ----------------------------------------------------------------------


def trademarks(w: World) -> pl.DataFrame:
    """One row per brand and authorised importer (the register's recorded distributors)."""
    rows = []
    for number, (brand, importers) in enumerate(AUTHORISED_DISTRIBUTORS.items(), start=1):
        sectors = dict.fromkeys(ln.sector for ln in LINES if brand in ln.brands)
        classes = ";".join(sorted({NICE_CLASSES[sector] for sector in sectors}, key=int))
        for importer in importers:
            k = importer_index(importer)
            rows.append(
                {
                    "registration_number": f"MA-TM-{number:05d}",
                    "brand": brand,
                    "owner": f"{brand.upper()} IP HOLDING",
                    "nice_classes": classes,
                    "distributor_id": importer,
                    "distributor_name": w.imp.name[k],
                    "valid_from": date(2015, 1, 1),
                    "valid_until": date(2034, 12, 31),
                    "distributor_entity": importer,
                }
            )
    return pl.DataFrame(rows)


# --- tax returns -------------------------------------------------------------------------------


def tax_returns(rng: np.random.Generator, w: World) -> pl.DataFrame:
    """Per company and quarter of imports: purchases from imports (customs value + duty as
    booked) and turnover, under the tax administration's own taxpayer number."""
    imp, decl = w.imp, w.decl
    n_imp = len(imp.name)
    lodged = np.datetime64(w.start, "D") + w.day()
    quarter = (lodged.astype("datetime64[M]").astype(np.int64) // 3) * 3
    duty = w.money("duty_amount")
    frame = (
        pl.DataFrame(
            {
                "importer": decl["importer"],
                "quarter": quarter,
                "cost": w.money("customs_value") + duty,
                "paid": w.paid() + duty,
            }
        )
        .group_by("importer", "quarter")
        .agg(pl.col("cost").sum(), pl.col("paid").sum())
    )
    frame = frame.sort("importer", "quarter")
    m = frame.height
    importer = frame["importer"].to_numpy()
    cost, paid = frame["cost"].to_numpy(), frame["paid"].to_numpy()
    books_truth = rng.random(m) < 0.8
    booked = np.where(books_truth, paid, cost) * rng.uniform(0.97, 1.03, m)
    hides = imp.ring[importer] | (rng.random(m) < 0.02)
    booked = np.where(hides, cost * rng.uniform(0.05, 0.4, m), booked)
    label = np.select([hides, booked >= TAX_MATERIALITY * cost], [1, 0], -1)
    filed = rng.random(m) >= 0.04

    tax_number = pl.Series(rng.permutation(n_imp) + 10_000_000).cast(pl.String)
    phone = pl.Series(rng.integers(520_000_000, 539_999_999, n_imp)).cast(pl.String)
    ring = np.flatnonzero(imp.ring)
    shared = rng.integers(520_000_000, 539_999_999, 2).astype(str)
    phone = phone.scatter(ring, shared[np.arange(len(ring)) % 2])  # the ring's two phones
    office = np.zeros(m, int)  # one tax office register: one spelling per company
    returns = pl.DataFrame(
        {
            "tax_number": "IF" + tax_number.gather(importer),
            "period_start": pl.Series(
                frame["quarter"].to_numpy().astype("datetime64[M]").astype("datetime64[D]")
            ),
            "company_name": spellings(rng, imp.name, importer, office, _name_variant, NAME_MIX),
            "company_address": spellings(
                rng, imp.address, importer, office, _address_variant, ADDRESS_MIX
            ),
            "phone": "0" + phone.gather(importer),
            "import_purchases": money_column(np.rint(booked * 100)),
            "turnover": money_column(np.rint(booked * rng.uniform(1.15, 1.6, m) * 100)),
            "company_entity": text_column(imp.ids, importer),
            "discrepancy": text_column(("purchases_above_customs", "imports_not_reported"), label),
        }
    )
    return returns.filter(pl.Series(filed)).sort("period_start", "tax_number")


# --- all of them -------------------------------------------------------------------------------


def sources(w: World, seed: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng([seed, 8])
    return {
        "manifests": manifests(rng, w),
        "payments": payments(rng, w),
        "trademarks": trademarks(w),
        "tax_returns": tax_returns(rng, w),
    }
