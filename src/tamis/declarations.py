"""The canonical goods declaration: one place that names every field.

A declaration is a header (who, where, when, how) and its items (what, how much, what
value). In files and frames Tamis works on the *flat* form: one row per item, the header
fields repeated on each row. Names follow the customs domain; the WCO Data Model element
each field stands for is given in ``wco`` so a national mapping can be written from it.

Money is kept as Decimal in frames built from files and as integer hundredths
(``*_minor`` columns) in storage: never a float in the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    CODE = "code"  # upper-cased, stripped text code
    INTEGER = "integer"
    DECIMAL = "decimal"  # quantities, masses, rates
    SIGNED = "signed"  # a decimal that may be negative: longitude, latitude
    MONEY = "money"  # stored as integer hundredths
    DATETIME = "datetime"
    COUNTRY = "country"  # ISO 3166-1 alpha-2
    CURRENCY = "currency"  # ISO 4217 alpha-3
    HS_CODE = "hs_code"  # 6 to 10 digits
    BOOLEAN = "boolean"


DECIMAL_LIMIT = 1e12  # no quantity, mass or rate of a real declaration comes near


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    wco: str
    required: bool = False
    level: str = "item"  # "declaration" (header) or "item"
    choices: tuple[str, ...] = ()  # the only values a code may take, when it is closed
    maximum: float | None = None  # beyond it a number is refused as implausible

    @property
    def is_header(self) -> bool:
        return self.level == "declaration"

    @property
    def bound(self) -> float | None:
        """The largest plausible magnitude of a number: the field's own, else a trillion."""
        if self.kind not in (Kind.DECIMAL, Kind.SIGNED):
            return None
        return DECIMAL_LIMIT if self.maximum is None else self.maximum


def record_field(name: str, kind: Kind, meaning: str, required: bool = False) -> Field:
    """A field of a source other than declarations: one record per row."""
    return Field(name, kind, meaning, required, level="record")


def _h(name: str, kind: Kind, wco: str, required: bool = False, choices=()) -> Field:
    return Field(name, kind, wco, required, "declaration", tuple(choices))


def _i(name: str, kind: Kind, wco: str, required: bool = False, maximum=None) -> Field:
    return Field(name, kind, wco, required, "item", maximum=maximum)


DECLARATION_FIELDS: tuple[Field, ...] = (
    _h("declaration_id", Kind.CODE, "D014 Declaration/ID (LRN or customs reference)", True),
    _h("lodged_at", Kind.DATETIME, "D011 Declaration/IssueDateTime (acceptance)", True),
    _h("office", Kind.CODE, "D005 Declaration/DeclarationOffice/ID", True),
    _h("procedure", Kind.CODE, "G017 GoodsItem/GovernmentProcedure/CurrentCode (regime)"),
    _h("declaration_type", Kind.CODE, "D013 Declaration/TypeCode (import type)"),
    _h("clearance_type", Kind.CODE, "D002 additional declaration type (clearance process)"),
    _h("goods_use", Kind.CODE, "national: intended use of the goods"),
    _h("payment_method", Kind.CODE, "D030 Payment/MethodCode"),
    _h("declarant_id", Kind.CODE, "R031 Declarant/ID"),
    _h("importer_id", Kind.CODE, "R042 Importer/ID (tax identification number)", True),
    _h("importer_name", Kind.TEXT, "R041 Importer/Name"),
    _h("importer_address", Kind.TEXT, "R040 Importer/Address"),
    _h("supplier_id", Kind.CODE, "R033 Exporter/ID (seller, consignor)"),
    _h("supplier_name", Kind.TEXT, "R032 Exporter/Name"),
    _h("supplier_country", Kind.COUNTRY, "R035 Exporter/Address/CountryCode"),
    _h("courier_id", Kind.CODE, "R011 Carrier/ID (express courier)"),
    _h("export_country", Kind.COUNTRY, "R034 ExportCountry/ID (country of departure)"),
    _h("transport_mode", Kind.CODE, "T006 BorderTransportMeans/ModeCode"),
    _h("loading_place", Kind.CODE, "L067 LoadingLocation/ID (port or place of loading)"),
)

ITEM_FIELDS: tuple[Field, ...] = (
    _i("item_number", Kind.INTEGER, "G006 GoodsItem/SequenceNumeric", True),
    _i("hs_code", Kind.HS_CODE, "G017 Commodity/Classification/ID (6 to 10 digits)", True),
    _i("description", Kind.TEXT, "G014 Commodity/Description"),
    _i("brand", Kind.TEXT, "national: Commodity/Brand (trademark)"),
    _i("origin_country", Kind.COUNTRY, "G010 Origin/CountryCode", True),
    _i("origin_proof", Kind.CODE, "national: origin certificate indicator"),
    _i("preference_code", Kind.CODE, "G018 DutyTaxFee/TariffPreference (tax type)"),
    _i("quantity", Kind.DECIMAL, "G023 GoodsMeasure/TariffQuantity", maximum=1e9),
    _i("quantity_unit", Kind.CODE, "G024 GoodsMeasure/TariffQuantity unitCode"),
    _i("gross_mass_kg", Kind.DECIMAL, "G040 GoodsMeasure/GrossMassMeasure (kg)", maximum=1e9),
    _i("net_mass_kg", Kind.DECIMAL, "G041 GoodsMeasure/NetNetWeightMeasure (kg)", maximum=1e9),
    _i("invoice_amount", Kind.MONEY, "G046 CustomsValuation/ItemChargeAmount (invoice)"),
    _i("invoice_currency", Kind.CURRENCY, "G047 ItemChargeAmount currencyID"),
    _i("customs_value", Kind.MONEY, "G045 CustomsValueAmount (national currency)", True),
    _i("duty_rate", Kind.DECIMAL, "G057 DutyTaxFee/Rate (customs duty, %)", maximum=1000),
    _i("vat_rate", Kind.DECIMAL, "G057 DutyTaxFee/Rate (VAT and other taxes, %)", maximum=100),
    _i("duty_amount", Kind.MONEY, "G063 DutyTaxFee/Payment/PaymentAmount (duty)"),
    _i("tax_amount", Kind.MONEY, "G063 DutyTaxFee/Payment/PaymentAmount (VAT, taxes)"),
)

FIELDS: tuple[Field, ...] = DECLARATION_FIELDS + ITEM_FIELDS
FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
HEADER_NAMES: tuple[str, ...] = tuple(f.name for f in DECLARATION_FIELDS)
ITEM_NAMES: tuple[str, ...] = tuple(f.name for f in ITEM_FIELDS)
MONEY_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind is Kind.MONEY)


def storage_name(name: str) -> str:
    """Column name in the store: money goes to integer hundredths."""
    return f"{name}_minor" if name in MONEY_NAMES else name


def column_name(field: Field) -> str:
    """A field's column in the store, whatever record it belongs to."""
    return f"{field.name}_minor" if field.kind is Kind.MONEY else field.name


class InspectionResult(StrEnum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"


class FraudType(StrEnum):
    VALUATION = "valuation"
    CLASSIFICATION = "classification"
    ORIGIN = "origin"
    COUNTERFEIT = "counterfeit"
    QUANTITY = "quantity"
    PROHIBITED = "prohibited"
    OTHER = "other"


OUTCOME_FIELDS: tuple[Field, ...] = (
    _h("declaration_id", Kind.CODE, "D014 Declaration/ID", True),
    _i("item_number", Kind.INTEGER, "G006 GoodsItem/SequenceNumeric (empty: whole declaration)"),
    _h("inspected_at", Kind.DATETIME, "date of the control", True),
    _h("inspector", Kind.TEXT, "officer who recorded the result"),
    _h("result", Kind.CODE, "inspection result", True, choices=InspectionResult),
    _h("fraud_type", Kind.CODE, "kind of fraud found", choices=FraudType),
    _h("revenue_recovered", Kind.MONEY, "duties and taxes recovered (national currency)"),
    _h("fraud_notice", Kind.CODE, "fraud notice (PV / contentieux) reference"),
)
