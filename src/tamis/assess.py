"""Assessment: run every detector on a batch, route it, record each decision.

The same ``Assessor`` scores one declaration lodged through the API and a file of a
million in batch: a batch of one is still a batch.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import Engine, bindparam, func, join, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tamis import audit, rulesets
from tamis.cases import cases
from tamis.channels import RANK
from tamis.detectors import registry
from tamis.detectors.base import Detector, ItemRows, StoreContext
from tamis.ingest.checks.few import check
from tamis.ingest.pipeline import declaration_batches
from tamis.ingest.profiles import Profile, load_profile
from tamis.ingest.readers import source_format
from tamis.learn import combiner
from tamis.reasons import render_all
from tamis.route import Capacity, RoutingConfig, route
from tamis.route.capacity import CONTROLLED, priority
from tamis.route.few import DaySoFar, route_few
from tamis.scoreboard import update as scoreboard
from tamis.store.engine import transaction
from tamis.store.load import bulk_insert
from tamis.store.tables import (
    audit_trail,
    capacity_locks,
    channel_changes,
    decisions,
    declarations,
    lodged_with,
    lodged_within,
)


@dataclass
class Assessor:
    detectors: list[Detector]
    routing: RoutingConfig
    rule_set_version: int | None = None
    model_version: str | None = None

    def __post_init__(self) -> None:
        """Routing weighs a detector its configuration names not by its default weight;
        the configuration recorded with each decision says every weight used."""
        self.defaulted_weights = {
            d.name: d.default_weight for d in self.detectors if d.name not in self.routing.weights
        }
        if self.defaulted_weights:
            weights = self.defaulted_weights | self.routing.weights
            self.routing = self.routing.model_copy(update={"weights": weights})

    def assess(self, batch: pl.DataFrame, draws: np.ndarray | None = None) -> pl.DataFrame:
        header = batch.unique("declaration_id", keep="first", maintain_order=True)
        signals = {d.name: d.assess(batch) for d in self.detectors}
        return route(header, signals, self.routing, draws).with_columns(
            pl.lit(self.rule_set_version, pl.Int64).alias("rule_set_version"),
            pl.lit(self.model_version, pl.String).alias("model_version"),
        )

    def assess_rows(
        self,
        items: ItemRows,
        draws: np.ndarray | None = None,
        earlier: dict[tuple[str, date], DaySoFar] | None = None,
    ) -> list[dict]:
        """``assess`` for a few declarations (one lodged), in plain Python wherever a
        detector can: the same decisions as dicts. ``earlier``: what capacity has already
        counted of each office's day (``day_so_far``)."""
        return self.route_rows(items, self.signals_rows(items), draws, earlier)

    def signals_rows(self, items: ItemRows) -> dict[str, dict[str, dict]]:
        """Each detector's signals of a few declarations, by detector and declaration id."""
        return {d.name: d.assess_rows(items) for d in self.detectors}

    def route_rows(
        self,
        items: ItemRows,
        signals: dict[str, dict[str, dict]],
        draws: np.ndarray | None = None,
        earlier: dict[tuple[str, date], DaySoFar] | None = None,
    ) -> list[dict]:
        """The decisions ``signals_rows``' signals route to (``assess_rows``)."""
        versions = {"rule_set_version": self.rule_set_version, "model_version": self.model_version}
        routed = route_few(items.headers(), signals, self.routing, draws, earlier)
        return [row | versions for row in routed]

    def ready_for_lodgement(self) -> Assessor:
        """Build now what each detector's plain path builds at its first use (a manifest
        check predicts the heading of every stored bill), so no lodgement waits for it."""
        for detector in self.detectors:
            detector.plain()
        return self

    def record_detectors(
        self, conn, batch: pl.DataFrame, decided: pl.DataFrame | list[dict]
    ) -> dict[str, pl.DataFrame | None]:
        """What each detector keeps of the assessment of ``batch``, in the caller's
        transaction, given the items of the declarations it gave a reason for in
        ``decided`` (a frame, or the dicts of ``assess_rows``): by detector name, what it
        recorded (watchlist hits, ...)."""
        recorders = [d for d in self.detectors if type(d).record is not Detector.record]
        if isinstance(decided, list):
            signals = [(r["declaration_id"], json.loads(r["signals"])) for r in decided]
        kept = {}
        for detector in recorders:
            if isinstance(decided, list):
                said = [i for i, s in signals if (s.get(detector.name) or {}).get("reasons")]
            else:
                first = pl.col("signals").str.json_path_match(f"$.{detector.name}.reasons[0]")
                said = decided.filter(first.is_not_null())["declaration_id"].to_list()
            if len(said) == len(decided):  # all of them (a lodgement's one): no query
                items = batch
            elif len(said) == 0:
                items = batch.clear()
            else:
                items = batch.filter(pl.col("declaration_id").is_in(said))
            kept[detector.name] = detector.record(conn, items)
        return kept


# On PostgreSQL an office's day reads the day's month of each table only
_LATER = decisions.alias("later")
_LATEST = (
    select(func.max(_LATER.c.decision_id))
    .where(lodged_with(_LATER, declarations))
    .scalar_subquery()
)
_AT_OFFICE = (
    join(declarations, decisions, lodged_with(decisions, declarations)),
    declarations.c.office == bindparam("office"),
    *lodged_within(
        bindparam("start"), bindparam("end"), declarations.c.lodged_at, decisions.c.lodged_at
    ),
    decisions.c.decision_id == _LATEST,
)
DAY_SO_FAR = (
    select(decisions.c.channel, func.count())
    .select_from(_AT_OFFICE[0])
    .where(*_AT_OFFICE[1:])
    .group_by(decisions.c.channel)
)
PAST_DAYS = 28  # what a day is forecast from
PAST = (  # every decision, not only each declaration's latest: a forecast, and faster
    select(declarations.c.lodged_at, decisions.c.score, decisions.c.revenue_at_stake_minor)
    .select_from(_AT_OFFICE[0])
    .where(*_AT_OFFICE[1:-1])
)


def office_days(header: list[dict], capacity: Capacity) -> list[tuple[str | None, date]]:
    """Each (office, first day of the budget period) of ``header``, in a fixed order."""
    found = {(h["office"], capacity.period_of(h["lodged_at"].date())) for h in header}
    return sorted(found, key=str)


def day_so_far(conn, header: list[dict], capacity: Capacity) -> dict[tuple, DaySoFar]:
    """What each office's day in ``header`` already holds, from the stored decisions (each
    declaration's latest), and what its past days say of it (``past_days``), for capacity at
    lodgement; nothing when nothing is capped. Read in the transaction that records the
    decisions, after ``lock_office_days``: two lodgements never spend the same place."""
    if not capacity.capped:
        return {}
    counted = {}
    for office, day in office_days(header, capacity):
        start, days = datetime.combine(day, time()), timedelta(days=capacity.period_days(day))
        used = dict(conn.execute(
            DAY_SO_FAR, {"office": office, "start": start, "end": start + days}
        ).all())  # fmt: skip
        expected, bars = past_days(conn, capacity, office, day)
        counted[(office, day)] = DaySoFar(sum(used.values()), used, expected, bars)
    return counted


def lock_office_days(conn, header: list[dict], capacity: Capacity) -> None:
    """Hold each office's day of ``header`` until ``conn``'s transaction ends, so that one
    lodgement at a time counts and spends its capacity (a row lock on PostgreSQL; SQLite has
    one writer at a time). In a fixed order: two lodgements never wait on each other."""
    if not capacity.capped:
        return
    for office, day in office_days(header, capacity):
        key = {"office": office or "", "day": day}
        conn.execute(_LOCKABLE[conn.dialect.name], key)
        conn.execute(
            update(capacity_locks)
            .where(capacity_locks.c.office == key["office"], capacity_locks.c.day == day)
            .values(taken=capacity_locks.c.taken + 1)
        )


_LOCKABLE = {
    "postgresql": postgresql.insert(capacity_locks).values(taken=0).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(capacity_locks).values(taken=0).on_conflict_do_nothing(),
}


_PAST_DAYS: dict[tuple, tuple[int, dict]] = {}  # (engine, capacity, office, day): forecast
_PAST_DAYS_KEPT = 1024
_past_days_lock = threading.Lock()


def past_days(conn, capacity: Capacity, office: str | None, day: date):
    """An office's budget period (a day or a week) starting ``day`` forecast from its last
    ``PAST_DAYS`` days: the declarations it will hold (at the daily rate of the past periods
    that had any) and, per capped channel, the priority (``capacity.priority``) that the channel's
    budget held on them (its share of the highest, counted from the red). Past days do not
    change: worked out once per office and period, read through ``conn`` (a lodgement
    holding the write lock must not wait for a second connection)."""
    key = (conn.engine, capacity.model_dump_json(), office, day)
    if (known := _PAST_DAYS.get(key)) is not None:
        return known
    start = datetime.combine(day, time())
    past = conn.execute(
        PAST, {"office": office, "start": start - timedelta(days=PAST_DAYS), "end": start}
    ).all()
    forecast = _forecast(capacity, office, day, past)
    with _past_days_lock:
        if len(_PAST_DAYS) >= _PAST_DAYS_KEPT:
            _PAST_DAYS.pop(next(iter(_PAST_DAYS)))
        _PAST_DAYS[key] = forecast
    return forecast


def _forecast(capacity: Capacity, office: str | None, day: date, past: list):
    """(the declarations the period starting ``day`` will hold, at the rate of the past
    periods that had any; each capped channel's bar)."""
    if not past:
        return 0, {}
    periods = Counter(capacity.period_of(lodged.date()) for lodged, _, _ in past)
    per_day = len(past) / sum(capacity.period_days(p) for p in periods)
    expected = round(per_day * capacity.period_days(day))
    scores = np.array([score for _, score, _ in past], dtype=float)
    revenues = np.array([max(minor or 0, 0) / 100 for _, _, minor in past], dtype=float)
    priorities = priority(capacity.rank_by, scores, revenues)
    bars, share = {}, 0.0
    for channel in CONTROLLED:
        channel_share = capacity.expected_share(office, channel, day, expected)
        if channel_share is None:
            continue
        share += channel_share
        bars[channel] = float(np.quantile(priorities, max(0.0, 1 - share)))
    return expected, bars


# audited changes to what detectors read from the store beside rules and model: the lists a
# lodgement is checked against (watchlists, offenders, sellers linked to importers)
LIST_CHANGES = ("watchlist.create", "watchlist.change", "offence.open", "social.link")


def in_force(engine: Engine) -> tuple[int | None, int | None, int | None]:
    """What an assessor is built on that another process may change (the command line, a
    second server): the latest rule set's version, the active model's, and the newest
    audited change of a list."""
    from tamis.learn.registry import active_version

    newest = select(func.max(audit_trail.c.entry_id)).where(audit_trail.c.action.in_(LIST_CHANGES))
    with engine.connect() as conn:
        lists = conn.execute(newest).scalar()
    return rulesets.ensure_rule_set(engine), active_version(engine), lists


def assessor_from_store(engine: Engine, routing: RoutingConfig | None = None) -> Assessor:
    """Every registered detector the store holds what it needs for, under the active rule
    set and model."""
    routing = combiner.routing_in_force(engine, routing)
    context = store_context(engine, routing)
    detectors = registry.from_store(engine, context)
    model = next((d for d in detectors if d.name == "model"), None)
    return Assessor(detectors, routing, context.rule_set_version, model and str(model.version))


def store_context(engine: Engine, routing: RoutingConfig) -> StoreContext:
    """What detectors built from the store share: the active rule set (the starter rules
    on first use) and the detectors' parameters from ``routing``."""
    version = rulesets.ensure_rule_set(engine)
    return StoreContext(
        engine,
        params={
            "model": {"rank_by": routing.model.rank_by, "explore": routing.model.explore},
            "rules": {"cut": list(routing.combiner.rules_cut)} if routing.combiner else {},
        },
        rule_set=rulesets.get(engine, version),
        rule_set_version=version,
    )


def lodged_at(batch: pl.DataFrame) -> pl.DataFrame:
    """Each declaration's lodgement, stored with its decision (the partition key)."""
    return batch.select("declaration_id", "lodged_at").unique("declaration_id", keep="first")


def record(
    engine_or_conn,
    decided: pl.DataFrame,
    mode: str,
    assessor: Assessor,
    batch: pl.DataFrame,
) -> None:
    """Store every decision of the assessed ``batch`` with what is needed to explain it later
    exactly as made, and what its detectors keep of it (watchlist hits, value references
    used). Red and orange decisions and watchlist hits open cases."""
    rows = decided.select(
        "declaration_id",
        pl.lit(audit.now()).alias("decided_at"),
        pl.lit(mode).alias("mode"),
        "channel",
        "score",
        pl.struct(r=pl.col("reasons"))  # a JSON list, encoded column-wise
        .struct.json_encode()
        .str.strip_prefix('{"r":')
        .str.strip_suffix("}")
        .alias("reasons"),
        "signals",
        (pl.col("revenue_at_stake") * 100).round(0).cast(pl.Int64).alias("revenue_at_stake_minor"),
        "forced_channel",
        "random_draw",
        "random_rate",
        pl.col("random_selected").cast(pl.Int32),
        pl.col("capacity_held").cast(pl.Int32),
        "rule_set_version",
        "model_version",
        pl.lit(assessor.routing.model_dump_json()).alias("routing"),
        "selection_chance",
        pl.lit(assessor.routing.combination).alias("combiner"),
    ).join(lodged_at(batch), on="declaration_id", how="left", maintain_order="left")
    with transaction(engine_or_conn) as conn:
        bulk_insert(conn, decisions.name, rows)
        hits = assessor.record_detectors(conn, batch, decided).get("watchlist")
        offices = batch.select("declaration_id", "office").unique("declaration_id")
        cases.open_for_decisions(conn, decided, offices, hits)
        scoreboard.changed(conn, rows["declaration_id"])


def record_rows(
    conn, decided: list[dict], mode: str, assessor: Assessor, items: ItemRows, kept: dict
):
    """``record`` for a few decisions (a lodgement) made by ``assess_rows``, given what
    ``record_detectors`` kept of them: each stored decision as ``latest_decision`` reads it
    back."""
    now, routing_json = audit.now(), assessor.routing.model_dump_json()
    headers = {h["declaration_id"]: h for h in items.headers()}
    stored = []
    for row in decided:
        revenue = row["revenue_at_stake"]
        values = {
            "declaration_id": row["declaration_id"],
            "decided_at": now,
            "mode": mode,
            "channel": row["channel"],
            "score": row["score"],
            "reasons": json.dumps(row["reasons"], ensure_ascii=False, separators=(",", ":")),
            "signals": row["signals"],
            "revenue_at_stake_minor": None if revenue is None else round(revenue * 100),
            "forced_channel": row["forced_channel"],
            "random_draw": row["random_draw"],
            "random_rate": row["random_rate"],
            "random_selected": int(row["random_selected"]),
            "capacity_held": int(row["capacity_held"]),
            "rule_set_version": row["rule_set_version"],
            "model_version": row["model_version"],
            "routing": routing_json,
            "selection_chance": row["selection_chance"],
            "combiner": assessor.routing.combination,
            "lodged_at": headers[row["declaration_id"]]["lodged_at"],
        }
        decision_id = conn.execute(decisions.insert(), values).inserted_primary_key[0]
        stored.append(_decision(values | {"decision_id": decision_id}))
    hits = kept.get("watchlist")
    offices = {i: h["office"] for i, h in headers.items()}
    cases.open_for_rows(conn, decided, offices, hits)
    scoreboard.changed(conn, [row["declaration_id"] for row in decided])
    return stored


def latest_decision(engine: Engine, declaration_id: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(decisions)
            .where(decisions.c.declaration_id == declaration_id)
            .order_by(decisions.c.decision_id.desc())
            .limit(1)
        ).first()
    return None if row is None else _decision(dict(row._mapping))


def _decision(decision: dict) -> dict:
    """A stored decision row as read back: JSON parsed, flags as booleans, money in units."""
    decision["reasons"] = json.loads(decision["reasons"])
    decision["signals"] = json.loads(decision["signals"])
    decision["routing"] = json.loads(decision["routing"])
    decision["random_selected"] = bool(decision["random_selected"])
    decision["capacity_held"] = bool(decision["capacity_held"])
    minor = decision.pop("revenue_at_stake_minor")
    decision["revenue_at_stake"] = None if minor is None else minor / 100
    return decision


def current_channel(engine: Engine, decision: dict) -> str:
    """The decision's channel, or the last channel an officer changed it to."""
    with engine.connect() as conn:
        changed = conn.execute(
            select(channel_changes.c.to_channel)
            .where(channel_changes.c.decision_id == decision["decision_id"])
            .order_by(channel_changes.c.change_id.desc())
            .limit(1)
        ).scalar()
    return changed or decision["channel"]


@dataclass
class BatchSummary:
    received: int = 0
    assessed: int = 0
    rejected: int = 0
    channels: dict[str, int] = field(default_factory=dict)

    def count_channels(self, decided: pl.DataFrame) -> None:
        counts = decided.group_by("channel").len() if decided.height else pl.DataFrame()
        self.channels = dict(counts.iter_rows()) if counts.height else {}


Draws = Callable[[pl.Series], np.ndarray]  # declaration ids -> their random draws


def assessed_batches(
    path: Path,
    profile: Profile | str,
    assessor: Assessor,
    summary: BatchSummary,
    batch_rows: int | None = None,
    draws: Draws | None = None,
    progress=None,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """Each batch of a file checked and assessed: (its accepted items, their decisions),
    counted in ``summary`` (invalid records as rejected, not scored). ``draws``: the random
    draws of a batch's declarations, else fresh secure ones."""
    profile = profile if isinstance(profile, Profile) else load_profile(profile)
    for frame, batch in declaration_batches(
        path, profile, source_format(path, profile.format), batch_rows
    ):
        checked = check(frame, profile)
        summary.received += frame.height + len(batch.malformed)
        summary.rejected += checked.rejected.height + len(batch.malformed)
        accepted = checked.accepted
        if accepted.height:
            ids = accepted["declaration_id"].unique(maintain_order=True)
            decided = assessor.assess(accepted, None if draws is None else draws(ids))
            summary.assessed += decided.height
            yield accepted, decided
        if progress:
            progress(summary.received, None)


def assess_file(
    path: Path,
    profile: Profile | str,
    assessor: Assessor,
    out: Path,
    engine: Engine | None = None,
    batch_rows: int | None = None,
    progress=None,
    draws: Draws | None = None,
) -> BatchSummary:
    """Score a whole file in batches, write one row per declaration to ``out``; with an
    engine, record every decision."""
    summary, parts = BatchSummary(), []
    for accepted, decided in assessed_batches(
        path, profile, assessor, summary, batch_rows, draws, progress
    ):
        if engine is not None:
            record(engine, decided, "batch", assessor, accepted)
        parts.append(decided.drop("signals"))
    result = pl.concat(parts) if parts else pl.DataFrame()
    summary.count_channels(result)
    write_decisions(result, out)
    return summary


def write_decisions(frame: pl.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        frame.write_parquet(out)
    elif out.suffix == ".jsonl":
        frame.write_ndjson(out)
    elif out.suffix == ".csv":
        said = pl.col("reasons").map_elements(
            lambda reasons: " | ".join(render_all(reasons)), return_dtype=pl.String
        )  # in words: a CSV is read by people
        frame.with_columns(said).write_csv(out)
    else:
        raise ValueError(f"--out {out}: expected a .parquet, .jsonl or .csv file name")


def channel_mix(decided: pl.DataFrame, truth: pl.DataFrame | None = None) -> pl.DataFrame:
    """Declarations per channel, their share and, given ground truth (declaration_id, fraud,
    revenue_at_stake per item), the frauds found and the hit rate per channel."""
    mix = decided.group_by("channel").agg(pl.len().alias("declarations"))
    if truth is not None:
        per_declaration = truth.group_by("declaration_id").agg(
            pl.col("fraud").any(),
            pl.col("revenue_at_stake").cast(pl.Float64).sum().alias("planted_revenue"),
        )
        found = decided.join(per_declaration, on="declaration_id", how="left")
        mix = found.group_by("channel").agg(
            pl.len().alias("declarations"),
            pl.col("fraud").sum().alias("frauds"),
            pl.col("fraud").mean().round(3).alias("hit_rate"),
            pl.col("planted_revenue").filter(pl.col("fraud")).sum().round(0).cast(pl.Int64),
        )
    return mix.with_columns(
        (pl.col("declarations") / pl.col("declarations").sum()).round(3).alias("share")
    ).sort(pl.col("channel").replace_strict(RANK, default=9))
