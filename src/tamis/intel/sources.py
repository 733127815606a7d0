"""Canonical schemas of the sources a targeting centre crosses with declarations.

Each source is read like declarations: a mapping profile (``record: <source>`` in its YAML)
names the column feeding each field, values are converted and checked, and what is
invalid is quarantined with its reason. Money is integer hundredths in storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from tamis.declarations import Field, Kind
from tamis.declarations import record_field as _f


@dataclass(frozen=True)
class Source:
    name: str  # also the profile's ``record`` and the table's name
    title: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # what identifies a record in the source system
    profile: str  # the shipped mapping profile of Tamis' own format

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


MANIFESTS = Source(
    "manifests",
    "cargo manifests (bills of lading) from the port community system",
    (
        _f("bill_number", Kind.CODE, "T010 TransportContractDocument/ID (bill of lading)", True),
        _f("declaration_id", Kind.CODE, "the declaration that cleared the bill, if any"),
        _f("carrier", Kind.TEXT, "R011 Carrier/Name"),
        _f("vessel_or_flight", Kind.TEXT, "T005 BorderTransportMeans/ID and voyage"),
        _f("consignee_name", Kind.TEXT, "R021 Consignee/Name", True),
        _f("consignee_address", Kind.TEXT, "R020 Consignee/Address"),
        _f("packages", Kind.INTEGER, "G028 Packaging/QuantityQuantity (packages)"),
        _f("gross_mass_kg", Kind.DECIMAL, "G040 GoodsMeasure/GrossMassMeasure (kg)", True),
        _f("goods_description", Kind.TEXT, "G014 Commodity/Description (as manifested)"),
        _f("loading_place", Kind.CODE, "L067 LoadingLocation/ID"),
        _f("arrival_date", Kind.DATETIME, "T022 arrival date of the means of transport", True),
    ),
    ("bill_number",),
    "manifests",
)

PAYMENTS = Source(
    "payments",
    "foreign-exchange payments abroad reported by banks or the exchange office",
    (
        _f("payment_id", Kind.CODE, "the bank's transfer reference", True),
        _f("value_date", Kind.DATETIME, "value date of the transfer", True),
        _f("payer_id", Kind.CODE, "payer's common company identifier (as customs knows it)"),
        _f("payer_name", Kind.TEXT, "payer's name as the bank holds it", True),
        _f("payer_account", Kind.CODE, "payer's account (RIB)"),
        _f("bank", Kind.TEXT, "reporting bank"),
        _f("amount", Kind.MONEY, "amount transferred, in the transfer currency", True),
        _f("currency", Kind.CURRENCY, "transfer currency", True),
        _f("amount_national", Kind.MONEY, "counter-value in national currency", True),
        _f("beneficiary_name", Kind.TEXT, "beneficiary abroad (the seller)"),
        _f("beneficiary_country", Kind.COUNTRY, "beneficiary's country"),
        _f("beneficiary_account", Kind.CODE, "beneficiary's account (IBAN)"),
        _f("declaration_reference", Kind.CODE, "customs declaration the transfer settles"),
    ),
    ("payment_id",),
    "payments",
)

TRADEMARKS = Source(
    "trademarks",
    "trademark register with each brand's authorised importers",
    (
        _f("registration_number", Kind.CODE, "trademark registration number", True),
        _f("brand", Kind.TEXT, "the mark as registered", True),
        _f("owner", Kind.TEXT, "right holder"),
        _f("nice_classes", Kind.TEXT, "Nice classes, separated by ';'"),
        _f("distributor_id", Kind.CODE, "an authorised importer's identifier", True),
        _f("distributor_name", Kind.TEXT, "an authorised importer's name"),
        _f("valid_from", Kind.DATETIME, "authorisation starts"),
        _f("valid_until", Kind.DATETIME, "authorisation ends"),
    ),
    ("registration_number", "distributor_id"),
    "trademarks",
)

TAX_RETURNS = Source(
    "tax_returns",
    "tax returns: purchases from imports and turnover per company and period",
    (
        _f("tax_number", Kind.CODE, "taxpayer number of the tax administration", True),
        _f("period_start", Kind.DATETIME, "first day of the period (quarter)", True),
        _f("company_name", Kind.TEXT, "company name as the tax register holds it", True),
        _f("company_address", Kind.TEXT, "registered address"),
        _f("phone", Kind.CODE, "telephone"),
        _f("import_purchases", Kind.MONEY, "purchases from imports, national currency", True),
        _f("turnover", Kind.MONEY, "turnover, national currency"),
    ),
    ("tax_number", "period_start"),
    "tax_returns",
)

SOURCES: dict[str, Source] = {s.name: s for s in (MANIFESTS, PAYMENTS, TRADEMARKS, TAX_RETURNS)}


def source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"no source {name!r}: expected one of {', '.join(SOURCES)}")
    return SOURCES[name]
