"""Watchlists: named lists of HS codes, origins, importers or keywords with a reason and a
validity (e.g. "COVID-19 medical and protective goods").

A declaration is a hit when one of its items is among the listed goods (an HS prefix, or a
keyword found case-insensitively in the description or brand) and, when the list names
them, comes from a listed origin and a listed importer: ``hs_prefixes: [3004, 6307]`` with
``origins: [CN]`` means medical goods from China. Hits are recorded and open a case; a list with a
``route_channel`` also sends its hits to at least that channel.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

import polars as pl
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import Connection, Engine, select, update

from tamis import audit
from tamis.ingest.checks import COUNTRIES
from tamis.reasons import reason, render
from tamis.store.engine import transaction
from tamis.store.load import bulk_insert
from tamis.store.read import read_items
from tamis.store.tables import (
    declarations,
    inspection_outcomes,
    watchlist_hits,
    watchlists,
)

LISTS = ("hs_prefixes", "origins", "importers", "keywords")


class WatchlistIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=3)
    hs_prefixes: list[str] = Field(default_factory=list)
    origins: list[str] = Field(default_factory=list)
    importers: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    route_channel: Literal["yellow", "orange", "red"] | None = None
    active: bool = True

    @field_validator("hs_prefixes")
    @classmethod
    def _hs(cls, values: list[str]) -> list[str]:
        for value in values:
            if not (value.isdigit() and 2 <= len(value) <= 10):
                raise ValueError(f"{value!r} is not an HS code or prefix of 2 to 10 digits")
        return values

    @field_validator("origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        upper = [v.upper() for v in values]
        for value in upper:
            if value not in COUNTRIES:
                raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code")
        return upper

    @field_validator("importers", "keywords")
    @classmethod
    def _not_blank(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("an empty entry matches nothing: remove it")
        return [v.strip() for v in values]

    @model_validator(mode="after")
    def _something_to_match(self) -> WatchlistIn:
        if not any(getattr(self, kind) for kind in LISTS):
            raise ValueError(f"a watchlist needs at least one of {', '.join(LISTS)}")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to: before valid_from")
        return self


class Watchlist(WatchlistIn):
    watchlist_id: int
    created_by: str
    created_at: datetime


def _row_values(watchlist: WatchlistIn) -> dict:
    values = watchlist.model_dump()
    for kind in LISTS:
        values[kind] = json.dumps(values[kind], ensure_ascii=False)
    values["active"] = int(values["active"])
    return values


def _from_row(row) -> Watchlist:
    values = dict(row._mapping)
    for kind in LISTS:
        values[kind] = json.loads(values[kind])
    return Watchlist(**values)


def create(engine: Engine, watchlist: WatchlistIn, actor: str) -> int:
    values = _row_values(watchlist) | {"created_by": actor, "created_at": audit.now()}
    with engine.begin() as conn:
        if conn.execute(
            select(watchlists.c.watchlist_id).where(watchlists.c.name == watchlist.name)
        ).first():
            raise ValueError(f"name: a watchlist {watchlist.name!r} exists already")
        watchlist_id = conn.execute(watchlists.insert().values(**values)).inserted_primary_key[0]
        audit.record(
            conn, actor, "watchlist.create", "watchlist", watchlist_id, None, watchlist.model_dump()
        )
    return watchlist_id


def change(engine: Engine, watchlist_id: int, watchlist: WatchlistIn, actor: str) -> None:
    with engine.begin() as conn:
        before = get(conn, watchlist_id)
        conn.execute(
            update(watchlists)
            .where(watchlists.c.watchlist_id == watchlist_id)
            .values(**_row_values(watchlist))
        )
        audit.record(
            conn,
            actor,
            "watchlist.change",
            "watchlist",
            watchlist_id,
            WatchlistIn(**before.model_dump()).model_dump(),
            watchlist.model_dump(),
        )


def get(bind: Engine | Connection, watchlist_id: int) -> Watchlist:
    query = select(watchlists).where(watchlists.c.watchlist_id == watchlist_id)
    with transaction(bind) as conn:
        row = conn.execute(query).first()
    if row is None:
        raise LookupError(f"no watchlist {watchlist_id}")
    return _from_row(row)


EVERY_LIST = select(watchlists).order_by(watchlists.c.name)
ACTIVE_LISTS = EVERY_LIST.where(watchlists.c.active == 1)  # asked at every lodgement


def all_watchlists(bind: Engine | Connection, active_only: bool = False) -> list[Watchlist]:
    with transaction(bind) as conn:
        return [_from_row(row) for row in conn.execute(ACTIVE_LISTS if active_only else EVERY_LIST)]


def _item_match(watchlist: Watchlist, columns: set[str]) -> pl.Expr:
    """True for the items the watchlist matches (before validity)."""
    goods: list[pl.Expr] = []
    if watchlist.hs_prefixes:
        goods.extend(pl.col("hs_code").str.starts_with(p) for p in watchlist.hs_prefixes)
    if watchlist.keywords:
        text = pl.concat_str(
            [pl.col(c).fill_null("") for c in ("description", "brand") if c in columns],
            separator=" ",
        ).str.to_lowercase()
        goods.append(text.str.contains_any([k.lower() for k in watchlist.keywords]))
    parts = [pl.any_horizontal(goods)] if goods else []
    if watchlist.origins:
        parts.append(pl.col("origin_country").is_in(watchlist.origins))
    if watchlist.importers:
        parts.append(pl.col("importer_id").is_in(watchlist.importers))
    return pl.all_horizontal(parts).fill_null(False)


def _in_force(watchlist: Watchlist) -> pl.Expr:
    lodged = pl.col("lodged_at")
    expr = pl.lit(True)
    if watchlist.valid_from:
        expr = expr & (lodged >= watchlist.valid_from)
    if watchlist.valid_to:
        expr = expr & (lodged <= watchlist.valid_to)
    return expr


def hit_reason(watchlist: Watchlist) -> str:
    """The reason a hit of the watchlist gives (tamis.reasons): the list, why it watches and
    what it lists (five of each kind at most), each kind a reason whose ``next`` is the
    following kind. ``quoted`` is the name as the English wording quotes it."""
    criteria = None
    for kind in reversed([k for k in LISTS if getattr(watchlist, k)]):
        listed = {"code": f"watchlist.{kind}", "values": getattr(watchlist, kind)[:5]}
        criteria = listed if criteria is None else listed | {"next": criteria}
    return reason(
        "watchlist.hit",
        watchlist=watchlist.watchlist_id,
        name=watchlist.name,
        quoted=repr(watchlist.name),
        why=watchlist.reason,
        criteria=criteria,
    )


def match(batch: pl.DataFrame, lists: list[Watchlist]) -> pl.DataFrame:
    """One row per (declaration, watchlist) hit: declaration_id, watchlist_id,
    route_channel, reason (a code, ``hit_reason``) and matched (that reason in English
    words: what a stored hit and the case it opens say)."""
    columns, items = set(batch.columns), batch.lazy()
    found = [
        items.filter(_item_match(w, columns) & _in_force(w))
        .select("declaration_id")
        .unique(maintain_order=True)
        .with_columns(
            pl.lit(w.watchlist_id).alias("watchlist_id"),
            pl.lit(w.route_channel, pl.String).alias("route_channel"),
            pl.lit(said, pl.String).alias("reason"),
            pl.lit(render(said, "en"), pl.String).alias("matched"),
        )
        for w in lists
        for said in [hit_reason(w)]
    ]
    return pl.concat(found).collect() if found else pl.DataFrame(schema=HIT_SCHEMA)  # one query


HIT_SCHEMA = {
    "declaration_id": pl.String,
    "watchlist_id": pl.Int64,
    "route_channel": pl.String,
    "reason": pl.String,
    "matched": pl.String,
}
FEW = 64  # items: up to this, they are matched in plain Python (``match_rows``)


def match_rows(rows: list[dict], lists: list[Watchlist]) -> list[dict] | None:
    """``match`` for a few items as Python values: the same hits as dicts, or None where
    plain Python cannot promise Polars' meaning (text that is not ASCII, whose lower case
    Polars takes by Unicode's rules; a validity window not comparable with a lodgement)."""
    found = []
    try:
        for watchlist in lists:
            hit, seen = None, set()
            for row in rows:
                matches = _row_matches(watchlist, row)
                if matches is None:
                    return None
                if (
                    not matches
                    or not _row_in_force(watchlist, row)
                    or row["declaration_id"] in seen
                ):
                    continue
                if hit is None:  # a list's reason is the same for each of its hits
                    said = hit_reason(watchlist)
                    hit = {"watchlist_id": watchlist.watchlist_id,
                           "route_channel": watchlist.route_channel,
                           "reason": said, "matched": render(said, "en")}  # fmt: skip
                seen.add(row["declaration_id"])
                found.append({"declaration_id": row["declaration_id"], **hit})
    except TypeError:  # a window of another kind of date than the lodgement's
        return None
    return found


def _row_matches(watchlist: Watchlist, row: dict) -> bool | None:
    goods = []
    if watchlist.hs_prefixes:
        hs = row.get("hs_code")
        goods += [hs is not None and str(hs).startswith(p) for p in watchlist.hs_prefixes]
    if watchlist.keywords:
        text = " ".join(row.get(c) or "" for c in ("description", "brand") if c in row)
        if not text.isascii():
            return None
        text = text.lower()
        goods.append(any(k.lower() in text for k in watchlist.keywords))
    parts = [any(goods)] if goods else []
    if watchlist.origins:
        parts.append(row.get("origin_country") in watchlist.origins)
    if watchlist.importers:
        parts.append(row.get("importer_id") in watchlist.importers)
    return all(parts)


def _row_in_force(watchlist: Watchlist, row: dict) -> bool:
    lodged = row.get("lodged_at")
    if watchlist.valid_from and (lodged is None or lodged < watchlist.valid_from):
        return False
    return not (watchlist.valid_to and (lodged is None or lodged > watchlist.valid_to))


def _matched(batch: pl.DataFrame, lists: list[Watchlist]) -> pl.DataFrame:
    """``match``, in plain Python for a few items (a lodgement)."""
    if batch.height <= FEW and (hits := match_rows(batch.rows(named=True), lists)) is not None:
        return pl.DataFrame(hits, schema=HIT_SCHEMA)
    return match(batch, lists)


def _store_new(conn: Connection, hits: pl.DataFrame) -> int:
    """Store the hits not stored yet; how many were new."""
    stored = pl.DataFrame(
        conn.execute(
            select(watchlist_hits.c.declaration_id, watchlist_hits.c.watchlist_id).where(
                watchlist_hits.c.watchlist_id.in_(hits["watchlist_id"].unique().to_list())
            )
        ).all(),
        schema={"declaration_id": pl.String, "watchlist_id": pl.Int64},
        orient="row",
    )
    new = hits.join(stored, on=["declaration_id", "watchlist_id"], how="anti")
    if new.height:
        hit_at = pl.lit(audit.now()).alias("hit_at")
        columns = new.select("watchlist_id", "declaration_id", "matched", hit_at)
        bulk_insert(conn, watchlist_hits.name, columns)
    return new.height


def record_hits(
    conn: Connection, batch: pl.DataFrame, lists: list[Watchlist] | None = None
) -> pl.DataFrame:
    """Match the batch against the active watchlists (``lists`` when the caller has read
    them) and store the new hits; the hits."""
    lists = all_watchlists(conn, active_only=True) if lists is None else lists
    hits = _matched(batch, lists) if lists else pl.DataFrame()
    if hits.height:
        _store_new(conn, hits)
    return hits


def run(engine: Engine, watchlist_id: int, actor: str) -> int:
    """Look for the watchlist's hits among every stored declaration (e.g. a new list over the
    past months); the number of new hits. Cases are not opened for past declarations."""
    watchlist = get(engine, watchlist_id)
    history = read_items(engine, watchlist.valid_from, watchlist.valid_to)
    hits = match(history, [watchlist])
    with engine.begin() as conn:
        new = _store_new(conn, hits) if hits.height else 0
        audit.record(
            conn, actor, "watchlist.run", "watchlist", watchlist_id, None, {"new_hits": new}
        )
    return new


def report(engine: Engine, watchlist_id: int) -> dict:
    """Hits of a watchlist per month, and what inspections of them found."""
    watchlist = get(engine, watchlist_id)
    hits = (
        select(
            watchlist_hits.c.declaration_id,
            declarations.c.lodged_at,
            declarations.c.office,
        )
        .join(declarations, declarations.c.declaration_id == watchlist_hits.c.declaration_id)
        .where(watchlist_hits.c.watchlist_id == watchlist_id)
    )
    with engine.connect() as conn:
        hit_rows = pl.DataFrame(
            conn.execute(hits).all(),
            schema={
                "declaration_id": pl.String,
                "lodged_at": pl.Datetime("us"),
                "office": pl.String,
            },
            orient="row",
        )
        outcomes = pl.DataFrame(
            conn.execute(
                select(
                    inspection_outcomes.c.declaration_id,
                    inspection_outcomes.c.result,
                    inspection_outcomes.c.revenue_recovered_minor,
                ).where(
                    inspection_outcomes.c.declaration_id.in_(
                        select(watchlist_hits.c.declaration_id).where(
                            watchlist_hits.c.watchlist_id == watchlist_id
                        )
                    )
                )
            ).all(),
            schema={
                "declaration_id": pl.String,
                "result": pl.String,
                "revenue_recovered_minor": pl.Int64,
            },
            orient="row",
        )
    per_declaration = outcomes.group_by("declaration_id").agg(
        (pl.col("result") == "non_compliant").any().alias("non_compliant"),
        pl.col("revenue_recovered_minor").sum(),
    )
    joined = hit_rows.join(per_declaration, on="declaration_id", how="left")
    by_month = (
        joined.group_by(pl.col("lodged_at").dt.strftime("%Y-%m").alias("month"))
        .agg(
            pl.len().alias("hits"),
            pl.col("non_compliant").is_not_null().sum().alias("inspected"),
            pl.col("non_compliant").fill_null(False).sum().alias("non_compliant"),
            (pl.col("revenue_recovered_minor").sum() / 100).alias("revenue_recovered"),
        )
        .sort("month")
    )
    inspected = int(by_month["inspected"].sum()) if by_month.height else 0
    found = int(by_month["non_compliant"].sum()) if by_month.height else 0
    return {
        "watchlist": watchlist.model_dump(mode="json"),
        "hits": joined.height,
        "inspected": inspected,
        "non_compliant": found,
        "hit_rate": round(found / inspected, 3) if inspected else None,
        "revenue_recovered": float(by_month["revenue_recovered"].sum()) if by_month.height else 0.0,
        "by_month": by_month.to_dicts(),
        "by_office": dict(joined.group_by("office").len().sort("len", descending=True).iter_rows()),
    }
