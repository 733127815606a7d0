"""Cross-checks: what customs was told against what other systems saw.

- ``ManifestDetector``: the bill of lading's gross mass and goods description against the
  declaration that cleared it; bills never cleared by any declaration, and the consignee's
  declarations of their goods.
- ``PaymentDetector``: money paid abroad against the customs value (under-invoicing), and
  payments for goods never declared.
- ``TaxReturnDetector``: purchases from imports booked in tax returns against the customs
  value plus duty of the same company and quarter.

(Brand goods against the trademark register: ``tamis.detectors.brands``.)

Each keeps its source in ``__init__`` and learns from the declarations' history in ``fit``;
``findings()`` lists the discrepancies at the source's own level (a bill, a payment, a
return) and ``assess(batch)`` signals the declarations they touch. Records of a source that
carry no customs identifier reach an importer through ``importer_id``, set by entity
resolution (``tamis.intel.resolve.attribute``).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace
from typing import Self

import numpy as np
import polars as pl
from sqlalchemy import Engine

from tamis.detectors.base import Detector, ItemRows, StoreContext, by_declaration, signals_for
from tamis.detectors.crosscheck import few
from tamis.intel.parties import name_key
from tamis.reasons import reason_expr
from tamis.settings import settings

col = pl.col
GRACE_DAYS = 45  # temporary storage limit, and the time a payment may precede its goods
ENTITY_SCHEMA = pl.DataFrame(schema={"importer_id": pl.String, "entity_id": pl.String})


def declared_totals(history: pl.DataFrame) -> pl.DataFrame:
    """Per declaration: importer, lodgement, customs value, gross mass, duty and taxes, the
    headings declared and the burden (duties and taxes per unit of customs value)."""
    value = col("customs_value").cast(pl.Float64)
    burden = (1 + col("duty_rate").fill_null(0) / 100) * (1 + col("vat_rate").fill_null(0) / 100)
    return history.group_by("declaration_id").agg(
        col("importer_id").first(),
        col("lodged_at").first(),
        value.sum().alias("customs_value"),
        col("gross_mass_kg").sum().alias("declared_gross_kg"),
        (col("duty_amount").cast(pl.Float64).fill_null(0)).sum().alias("duty"),
        col("hs_code").str.slice(0, 4).unique().alias("headings"),
        ((burden - 1) * value).sum().truediv(value.sum()).fill_nan(0.0).alias("burden"),
    )


def importer_signals(batch: pl.DataFrame, per_importer: pl.DataFrame, score: float):
    """Findings about importers (importer_id, reason) as signals on each of their
    declarations in the batch."""
    return (
        batch.select("declaration_id", "importer_id")
        .unique()
        .join(per_importer.drop_nulls("importer_id"), on="importer_id")
        .select(
            "declaration_id",
            pl.lit(score).alias("score"),
            "reason",
            pl.lit(None, pl.Float64).alias("revenue_at_stake"),
        )
    )


def by_importer(per_importer: pl.DataFrame) -> dict[str, list[str]]:
    """Findings about importers (importer_id, reason) as a dict: each importer's reasons."""
    found: dict[str, list[str]] = {}
    for importer, said in (
        per_importer.drop_nulls("importer_id").select("importer_id", "reason").iter_rows()
    ):
        found.setdefault(importer, []).append(said)
    return found


def importer_found(items: ItemRows, by_importer: dict, score: float) -> list[tuple]:
    """``importer_signals`` of a few items as found rows (declaration_id, score, reason,
    revenue at stake)."""
    pairs = dict.fromkeys((r["declaration_id"], r["importer_id"]) for r in items.rows)
    return [(d, score, r, None) for d, i in pairs for r in by_importer.get(i, ())]


def _latest(dates: pl.Series):
    return dates.cast(pl.Datetime("us")).max()


def stored_source(engine: Engine, name: str) -> pl.DataFrame | None:
    """A stored source (manifests, payments, ...), or None when the store has none."""
    from tamis.intel.ingest import read_source

    frame = read_source(engine, name)
    return None if frame.is_empty() else frame


def attributed_source(engine: Engine, name: str) -> pl.DataFrame | None:
    """A stored source with each record's importer (``importer_id``), or None if empty."""
    from tamis.intel.resolve import attribute

    frame = stored_source(engine, name)
    return None if frame is None else attribute(engine, name, frame)


class CrossCheck(Detector):
    """What every cross-check shares: built from the store when it holds the source."""

    source: str  # the source checked (tamis.intel.sources)
    attributed = True  # its records need their importer (entity resolution)

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext, **params):
        """Fitted on the store's declarations, or None without the source."""
        frame = (attributed_source if cls.attributed else stored_source)(engine, cls.source)
        if frame is None:
            return None
        return cls(frame, **context.params_of(cls.name), **params).fit(context.items)


# --- manifests ------------------------------------------------------------------------------


class DescriptionHeadings:
    """The HS heading that goods descriptions name, learnt from declared items (naive Bayes
    on word TF-IDF: misdeclared items are too few to teach it their false codes)."""

    def fit(self, descriptions: pl.Series, hs_codes: pl.Series) -> Self:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.naive_bayes import MultinomialNB

        known = pl.DataFrame({"d": descriptions, "h": hs_codes.str.slice(0, 4)}).drop_nulls()
        self.vectorizer_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        self.model_ = MultinomialNB(alpha=0.01).fit(
            self.vectorizer_.fit_transform(known["d"].to_list()), known["h"].to_list()
        )
        return self

    def predict(self, descriptions: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """The most likely heading of each description and its probability."""
        p = self.model_.predict_proba(self.vectorizer_.transform(descriptions.fill_null("")))
        best = p.argmax(axis=1)
        return self.model_.classes_[best], p[np.arange(len(best)), best]


class ManifestDetector(CrossCheck):
    source = "manifests"
    name = "manifest"
    labels = {"fr": "manifestes", "en": "manifests"}
    needs = "manifests (tamis intel ingest --source manifests)"

    def __init__(
        self,
        manifests: pl.DataFrame,
        weight_tolerance: float = 0.1,
        min_heading_probability: float = 0.8,
        grace_days: int = GRACE_DAYS,
    ) -> None:
        self.manifests = manifests
        self.weight_tolerance = weight_tolerance
        self.min_heading_probability = min_heading_probability
        self.grace_days = grace_days

    def fit(self, history: pl.DataFrame) -> Self:
        try:
            self.headings_ = DescriptionHeadings().fit(history["description"], history["hs_code"])
        except ValueError:  # too few described items to learn from: no description check
            self.headings_ = None
        self.declared_ = set(history["declaration_id"].unique().to_list())
        self.plain_ = None
        self.as_of_ = max(history["lodged_at"].max(), _latest(self.manifests["arrival_date"]))
        named = self.named(self.undeclared().drop_nulls("importer_id"))
        self.overdue_ = named.filter(col("heading_p") >= self.min_heading_probability).select(
            "importer_id",
            "heading",
            col("arrival_date").cast(pl.Date).alias("arrival"),
            "bill_number",
        )
        return self

    def named(self, bills: pl.DataFrame) -> pl.DataFrame:
        """``bills`` with the heading their goods description names and its probability
        (``heading``, ``heading_p``: null and 0 when no heading was learnt)."""
        if self.headings_ is None or bills.is_empty():
            return bills.with_columns(
                pl.lit(None, pl.String).alias("heading"), pl.lit(0.0).alias("heading_p")
            )
        heading, p = self.headings_.predict(bills["goods_description"])
        return bills.with_columns(
            pl.Series("heading", heading, pl.String), pl.Series("heading_p", p, pl.Float64)
        )

    def gaps(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Bills cleared by the batch's declarations whose mass or goods disagree."""
        bills = self.manifests.filter(
            col("declaration_id").is_in(batch["declaration_id"].unique().implode())
        )
        if bills.is_empty():
            return pl.DataFrame(
                schema={"declaration_id": pl.String, "bill_number": pl.String, "kind": pl.String,
                        "score": pl.Float64, "reason": pl.String, "revenue_at_stake": pl.Float64}
            )  # fmt: skip
        bills = self.named(bills).join(declared_totals(batch), on="declaration_id")
        gap = (col("gross_mass_kg") - col("declared_gross_kg")).abs() / pl.max_horizontal(
            "gross_mass_kg", "declared_gross_kg"
        )
        weight = bills.filter(gap > self.weight_tolerance).select(
            "declaration_id",
            "bill_number",
            pl.lit("weight").alias("kind"),
            (0.5 + gap).clip(0, 1).alias("score"),
            reason_expr(
                "manifest.mass",
                bill=col("bill_number"),
                manifest_kg=col("gross_mass_kg").round(0).cast(pl.Int64),
                declared_kg=col("declared_gross_kg").round(0).cast(pl.Int64),
                apart=(gap * 100).round(0).cast(pl.Int64),
            ).alias("reason"),
            (
                (col("gross_mass_kg") / col("declared_gross_kg") - 1).clip(0, None)
                * col("customs_value")
                * col("burden")
            ).alias("revenue_at_stake"),
        )
        goods = bills.filter(
            (col("heading_p") >= self.min_heading_probability)
            & ~col("headings").list.contains(col("heading"))
        ).select(
            "declaration_id",
            "bill_number",
            pl.lit("description").alias("kind"),
            pl.lit(0.8).alias("score"),
            reason_expr(
                "manifest.goods",
                bill=col("bill_number"),
                description=col("goods_description"),
                heading=col("heading"),
                declared=col("headings").list.sort(),
            ).alias("reason"),
            pl.lit(None, pl.Float64).alias("revenue_at_stake"),
        )
        return pl.concat([weight, goods])

    def undeclared(self) -> pl.DataFrame:
        """Bills that no stored declaration cleared, overdue in temporary storage."""
        due = self.as_of_ - timedelta(days=self.grace_days)
        return self.manifests.filter(
            (col("declaration_id").is_null() | ~col("declaration_id").is_in(list(self.declared_)))
            & (col("arrival_date").cast(pl.Datetime("us")) <= due)
        ).with_columns(pl.lit("undeclared").alias("kind"))

    def findings(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Every discrepancy: gaps of the batch's bills and every overdue undeclared bill."""
        undeclared = self.undeclared().select(
            pl.lit(None, pl.String).alias("declaration_id"),
            "bill_number",
            "kind",
            reason_expr(
                "manifest.undeclared",
                bill=col("bill_number"),
                consignee=col("consignee_name"),
                kg=col("gross_mass_kg").round(0).cast(pl.Int64),
                description=col("goods_description"),
                arrived=col("arrival_date").dt.date(),
            ).alias("reason"),
        )
        return pl.concat([self.gaps(batch).select(undeclared.columns), undeclared])

    def uncleared(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Declarations of the batch (declaration_id, score, reason, revenue_at_stake) that
        may declare the goods of overdue bills never cleared: lodged by the bill's consignee
        with an item under the heading its goods description names, from the bill's arrival
        until ``grace_days`` after it fell due (arrival + 2 × ``grace_days``), the time its
        goods could still come to be declared."""
        window = pl.duration(days=2 * self.grace_days)
        lodged = declared_totals(batch).explode("headings").rename({"headings": "heading"})
        return (
            lodged.join(self.overdue_, on=["importer_id", "heading"])
            .filter(col("lodged_at").dt.date().is_between("arrival", col("arrival") + window))
            .group_by("declaration_id")
            .agg(
                reason_expr(
                    "manifest.uncleared",
                    n=pl.len(),
                    bills=col("bill_number").sort().head(3).implode(),
                    heading=col("heading").unique().sort().implode(),
                ).alias("reason")
            )
            .select(
                "declaration_id",
                pl.lit(0.6).alias("score"),
                "reason",
                pl.lit(None, pl.Float64).alias("revenue_at_stake"),
            )
        )

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        found = self.gaps(batch).drop("bill_number", "kind")
        return signals_for(batch, pl.concat([found, self.uncleared(batch)]))

    def plain(self) -> SimpleNamespace:
        """What the plain path reads, built at its first use: each declaration's bills
        (bill number, gross mass, goods description, heading named and its probability)
        and each importer's overdue bills never cleared (heading, arrival, bill number)."""
        if getattr(self, "plain_", None) is None:
            bills = self.named(self.manifests.filter(col("declaration_id").is_not_null()))
            columns = ["bill_number", "gross_mass_kg", "goods_description", "heading", "heading_p"]
            by_declaration: dict[str, list[tuple]] = {}
            for declaration_id, *bill in bills.select("declaration_id", *columns).iter_rows():
                by_declaration.setdefault(declaration_id, []).append(tuple(bill))
            uncleared: dict[str, list[tuple]] = {}
            for importer_id, *bill in self.overdue_.iter_rows():
                uncleared.setdefault(importer_id, []).append(tuple(bill))
            self.plain_ = SimpleNamespace(bills=by_declaration, uncleared=uncleared)
        return self.plain_

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        """``assess`` of a few declarations in plain Python (``crosscheck.few``): the gaps
        of the bills each clears, then whether it may declare its importer's uncleared bills."""
        plain, found = self.plain(), []
        window = timedelta(days=2 * self.grace_days)
        for declaration_id, total in few.declared_totals(items.rows).items():
            bills = plain.bills.get(declaration_id)
            gaps = few.manifest_gaps(
                bills, total, self.weight_tolerance, self.min_heading_probability
            ) if bills else []  # fmt: skip
            if gaps is None:
                return by_declaration(self.assess(items.frame))
            gaps += few.manifest_uncleared(
                plain.uncleared.get(total["importer_id"], []), total, window
            )
            found += [(declaration_id, *gap) for gap in gaps]
        return few.signals_plain(items.rows, found)


# --- payments abroad ----------------------------------------------------------------------------


def _allocate(candidates: pl.DataFrame, under_invoiced: float, near_days: int) -> dict[int, str]:
    """payment -> declaration: best-fitting pairs first (the payment nearest the unpaid
    amount, then the nearest in time), a payment going to a declaration whose remaining
    unpaid amount covers it; then a payment left over to the nearest declaration of its
    payer and seller that is not settled in full, or that is already paid
    ``under_invoiced`` times its customs value or more and lodged within ``near_days`` of
    the payment: an under-invoiced declaration is paid more than declared, sometimes in
    several payments one of which lacks the reference."""
    chosen: dict[int, str] = {}
    remaining = dict(candidates.select("declaration_id", "unpaid").unique().iter_rows())
    value = dict(candidates.select("declaration_id", "customs_value").unique().iter_rows())
    gap = (1 - col("amount_national") / col("unpaid")).abs().fill_nan(None)
    pairs = candidates.sort(gap, col("_days").abs(), nulls_last=True)
    for p, declaration, amount in pairs.select(
        "_p", "declaration_id", "amount_national"
    ).iter_rows():
        if p not in chosen and amount <= 1.03 * remaining[declaration]:
            chosen[p] = declaration
            remaining[declaration] -= amount
    by_time = candidates.sort(col("_days").abs())
    for p, declaration, amount, days in by_time.select(
        "_p", "declaration_id", "amount_national", "_days"
    ).iter_rows():
        unpaid, declared = remaining[declaration], value[declaration]
        over_paid = declared - unpaid >= under_invoiced * declared and abs(days) <= near_days
        if p not in chosen and (unpaid > 0.03 * declared or over_paid):
            chosen[p] = declaration
            remaining[declaration] -= amount
    return chosen


class PaymentDetector(CrossCheck):
    source = "payments"
    name = "payments"
    labels = {"fr": "paiements à l'étranger", "en": "payments abroad"}
    needs = "payments (tamis intel ingest --source payments)"

    def __init__(
        self,
        payments: pl.DataFrame,
        entities: pl.DataFrame | None = None,
        ratio_tolerance: float = 1.15,
        grace_days: int = GRACE_DAYS,
        window_days: tuple[int, int] = (-60, 120),
        near_days: int = 15,
    ) -> None:
        self.payments = payments  # with importer_id (the payer, resolved)
        self.entities = entities  # importer_id -> entity_id (tamis.intel.resolve)
        self.ratio_tolerance = ratio_tolerance
        self.grace_days = grace_days
        self.window_days = window_days
        self.near_days = near_days

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext, **params):
        from tamis.intel.resolve import importer_entities

        return super().from_store(engine, context, entities=importer_entities(engine), **params)

    def fit(self, history: pl.DataFrame) -> Self:
        """Payments matched to the declarations they pay for: by reference, else by payer
        (resolved entity: one company may hold several customs identifiers) and seller
        (standard name) in the window (``_settle``)."""
        self.totals_ = self._payer(
            declared_totals(history).join(
                history.group_by("declaration_id").agg(
                    name_key(col("supplier_name").first()).alias("seller")
                ),
                on="declaration_id",
            )
        )
        payments = self._payer(self.payments).with_columns(
            col("amount_national").cast(pl.Float64),
            name_key(col("beneficiary_name")).alias("seller"),
        )
        known = set(self.totals_["declaration_id"].to_list())
        referenced = payments.filter(col("declaration_reference").is_in(list(known)))
        self.known_accounts_ = (
            referenced.select(pl.struct("seller", "beneficiary_account").alias("s"))
            .unique()
            .to_series()
        )
        paid = referenced.group_by(declaration_id="declaration_reference").agg(
            col("amount_national").sum().alias("paid")
        )
        self.settled_ = self._settle(
            payments.filter(
                ~col("declaration_reference").is_in(list(known))
                | col("declaration_reference").is_null()
            ),
            paid,
        )
        self.paid_ = (
            pl.concat(
                [paid, self.settled_.select("declaration_id", col("amount_national").alias("paid"))]
            )
            .group_by("declaration_id")
            .agg(col("paid").sum())
        )
        self.as_of_ = max(history["lodged_at"].max(), _latest(self.payments["value_date"]))
        self.plain_ = None
        return self

    def _payer(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` plus ``payer``: the entity of its importer_id, else the importer_id."""
        entities = self.entities if self.entities is not None else ENTITY_SCHEMA
        return frame.join(entities, on="importer_id", how="left").with_columns(
            pl.coalesce("entity_id", "importer_id").alias("payer")
        )

    def _settle(self, loose: pl.DataFrame, paid: pl.DataFrame) -> pl.DataFrame:
        """Payments that name no stored declaration (the bank left out the reference), each
        matched (``_allocate``) to a declaration of the same payer and seller in the
        window, when paid on an account the seller is known to be paid on: a payment to
        another account (money sent abroad under a seller's name) settles nothing.
        Unmatched payments keep a null declaration_id."""
        unpaid = self.totals_.join(paid, on="declaration_id", how="left").with_columns(
            (col("customs_value") - col("paid").fill_null(0)).alias("unpaid"),
        )
        lo, hi = self.window_days
        known = self.known_accounts_
        seller_account = pl.struct("seller", "beneficiary_account")
        candidates = (
            loose.with_row_index("_p")
            .filter(
                seller_account.is_in(known.implode())
                | ~col("seller").is_in(known.struct.field("seller").implode())
            )
            .join(
                unpaid.select(
                    "declaration_id", "payer", "seller", "lodged_at", "customs_value", "unpaid"
                ),
                on=["payer", "seller"],
            )
            .with_columns(((col("value_date") - col("lodged_at")).dt.total_days()).alias("_days"))
            .filter(col("_days").is_between(lo, hi))
        )
        chosen = _allocate(candidates, self.ratio_tolerance, self.near_days)
        settled = pl.DataFrame(
            list(chosen.items()),
            schema={"_p": pl.UInt32, "declaration_id": pl.String},
            orient="row",
        )
        return loose.with_row_index("_p").join(settled, on="_p", how="left").drop("_p")

    def under_invoiced(self, batch: pl.DataFrame) -> pl.DataFrame:
        totals = self.totals_.filter(
            col("declaration_id").is_in(batch["declaration_id"].unique().implode())
        )
        ratio = col("paid") / col("customs_value")
        return (
            totals.join(self.paid_, on="declaration_id")
            .filter((col("customs_value") > 0) & (ratio >= self.ratio_tolerance))
            .select(
                "declaration_id",
                (0.4 + (ratio - 1) / 2).clip(0, 1).alias("score"),
                reason_expr(
                    "payments.over",
                    paid=col("paid").round(0).cast(pl.Int64),
                    currency=settings().national_currency,
                    declared=col("customs_value").round(0).cast(pl.Int64),
                    ratio=ratio.round(2),
                ).alias("reason"),
                ((col("paid") - col("customs_value")) * col("burden")).alias("revenue_at_stake"),
            )
        )

    def undeclared(self) -> pl.DataFrame:
        """Payments that settle no declaration, older than the grace period."""
        due = self.as_of_ - timedelta(days=self.grace_days)
        return self.settled_.filter(
            col("declaration_id").is_null() & (col("value_date").cast(pl.Datetime("us")) <= due)
        )

    def findings(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Under-invoiced declarations of the batch and every payment settling none."""
        under = self.under_invoiced(batch).select(
            "declaration_id",
            pl.lit(None, pl.String).alias("payment_id"),
            pl.lit("under_invoicing").alias("kind"),
            "reason",
        )
        undeclared = self.undeclared().select(
            "declaration_id",
            "payment_id",
            pl.lit("undeclared").alias("kind"),
            reason_expr(
                "payments.undeclared",
                payer=pl.coalesce("importer_id", "payer_name"),
                amount=col("amount_national").cast(pl.Float64).round(0).cast(pl.Int64),
                currency=settings().national_currency,
                beneficiary=col("beneficiary_name"),
                country=col("beneficiary_country"),
                account=col("beneficiary_account"),
                paid_on=col("value_date").dt.date(),
            ).alias("reason"),
        )
        return pl.concat([under, undeclared])

    def unsettled(self) -> pl.DataFrame:
        """Per importer (importer_id, reason): its payments settling no declaration."""
        return (
            self.undeclared()
            .group_by("importer_id")
            .agg(
                reason_expr(
                    "payments.unsettled",
                    amount=col("amount_national").cast(pl.Float64).sum().round(0).cast(pl.Int64),
                    currency=settings().national_currency,
                    transfers=pl.len(),
                ).alias("reason")
            )
        )

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        mine = importer_signals(batch, self.unsettled(), 0.7)
        return signals_for(batch, pl.concat([self.under_invoiced(batch), mine]))

    def plain(self) -> SimpleNamespace:
        """What the plain path reads, built at its first use: the stored declarations paid
        more than declared and each importer's unsettled payments, said as the batch path
        says them (only a stored declaration is matched to payments, in ``fit``)."""
        if getattr(self, "plain_", None) is None:
            under: dict[str, list[tuple]] = {}
            for declaration_id, *found in self.under_invoiced(self.totals_).iter_rows():
                under.setdefault(declaration_id, []).append(tuple(found))
            self.plain_ = SimpleNamespace(
                under=under,
                unsettled=by_importer(self.unsettled()),
                currency=settings().national_currency,
            )
        return self.plain_

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        """``assess`` of a few declarations, looked up: the under-invoicing found of a
        stored one, its importer's unsettled payments."""
        plain = self.plain()
        ids = dict.fromkeys(r["declaration_id"] for r in items.rows)
        found = [(d, *f) for d in ids for f in plain.under.get(d, ())]
        found += importer_found(items, plain.unsettled, 0.7)
        if found and plain.currency != settings().national_currency:  # the reasons name it
            self.plain_ = None
            return self.assess_rows(items)
        return few.signals_plain(items.rows, found)


# --- tax returns ------------------------------------------------------------------------------


class TaxReturnDetector(CrossCheck):
    source = "tax_returns"
    name = "tax"
    labels = {"fr": "déclarations fiscales", "en": "tax returns"}
    needs = "tax returns (tamis intel ingest --source tax_returns)"

    def __init__(self, returns: pl.DataFrame, above: float = 1.25, below: float = 0.6) -> None:
        self.returns = returns  # with importer_id (the company, resolved)
        self.above = above
        self.below = below

    def fit(self, history: pl.DataFrame) -> Self:
        self.plain_ = None
        totals = declared_totals(history).with_columns(
            col("lodged_at").dt.truncate("1q").alias("period_start")
        )
        cost = totals.group_by("importer_id", "period_start").agg(
            (col("customs_value") + col("duty")).sum().alias("customs_cost"),
            (col("burden") * col("customs_value"))
            .sum()
            .truediv(col("customs_value").sum())
            .alias("burden"),
        )
        ratio = col("booked") / col("customs_cost")
        self.gaps_ = (
            self.returns.with_columns(
                col("import_purchases").cast(pl.Float64).alias("booked"),
                col("period_start").cast(pl.Datetime("us")),
            )
            .join(cost, on=["importer_id", "period_start"])
            .with_columns(ratio.alias("ratio"))
            .filter((col("ratio") >= self.above) | (col("ratio") <= self.below))
            .with_columns(
                pl.when(col("ratio") >= self.above)
                .then(pl.lit("purchases_above_customs"))
                .otherwise(pl.lit("imports_not_reported"))
                .alias("kind")
            )
        )
        figures = {
            "tax_number": col("tax_number"),
            "quarter": col("period_start").dt.date(),
            "booked": col("booked").round(0).cast(pl.Int64),
            "currency": settings().national_currency,
            "customs": col("customs_cost").round(0).cast(pl.Int64),
        }
        self.gaps_ = self.gaps_.with_columns(
            pl.when(col("kind") == "purchases_above_customs")
            .then(reason_expr("tax.above", **figures))
            .otherwise(reason_expr("tax.below", **figures))
            .alias("reason")
        )
        return self

    def findings(self, batch: pl.DataFrame | None = None) -> pl.DataFrame:
        """Every return whose purchases from imports disagree with customs (any batch)."""
        return self.gaps_.select(
            "tax_number", "period_start", "importer_id", "kind", "ratio", "reason"
        )

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        above = col("kind") == "purchases_above_customs"
        quarter = batch.select(
            "declaration_id",
            "importer_id",
            col("lodged_at").dt.truncate("1q").alias("period_start"),
        ).unique()
        # one quarter's gap is spread over its declarations, not counted once per declaration
        found = quarter.join(self.gaps_, on=["importer_id", "period_start"])
        found = found.with_columns(pl.len().over("tax_number", "period_start").alias("n")).select(
            "declaration_id",
            pl.when(above).then((col("ratio") - 1).clip(0.5, 1)).otherwise(0.6).alias("score"),
            "reason",
            pl.when(above)
            .then((col("booked") - col("customs_cost")) * col("burden") / col("n"))
            .alias("revenue_at_stake"),
        )
        return signals_for(batch, found)

    def plain(self) -> dict[tuple, list[tuple]]:
        """Each gap by importer and quarter, built at its first use: (tax number, score,
        reason, revenue at stake before it is spread over the quarter's declarations)."""
        if getattr(self, "plain_", None) is None:
            above = col("kind") == "purchases_above_customs"
            found = self.gaps_.select(
                "importer_id",
                "period_start",
                "tax_number",
                pl.when(above).then((col("ratio") - 1).clip(0.5, 1)).otherwise(0.6),
                "reason",
                pl.when(above).then((col("booked") - col("customs_cost")) * col("burden")),
            )
            self.plain_ = {}
            for importer, quarter, *gap in found.iter_rows():
                self.plain_.setdefault((importer, quarter), []).append(tuple(gap))
        return self.plain_

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        """``assess`` of a few declarations, looked up by importer and quarter."""
        gaps, found = self.plain(), []
        for declaration_id, importer, start in dict.fromkeys(
            (r["declaration_id"], r["importer_id"], few.quarter(r["lodged_at"])) for r in items.rows
        ):
            found += [(declaration_id, start, gap) for gap in gaps.get((importer, start), ())]
        # one quarter's gap is spread over its declarations, not counted once per declaration
        n = Counter((gap[0], start) for _, start, gap in found)
        return few.signals_plain(
            items.rows,
            [
                (d, score, said, None if at_stake is None else at_stake / n[tax_number, start])
                for d, start, (tax_number, score, said, at_stake) in found
            ],
        )
