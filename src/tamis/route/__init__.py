"""Selectivity: combine detectors' signals into one risk score and a control channel.

Score = 1 − Π_d (1 − w_d · s_d): each detector d's score s_d, weighted by w_d in [0, 1]
(config ``weights``, default 1), counts as independent evidence; the result stays in [0, 1].
The channel is the highest of:

1. the score's channel under ``thresholds`` (minimum score for blue, yellow, orange, red);
2. any channel forced by a detector (a risk profile with ``channel:``) — forced wins;
3. the random-selection channel, when the declaration's random draw falls under the rate
   for its office and procedure. Draws come from the operating system's secure source, so
   a trader cannot predict them from the declaration; each draw is recorded.

Capacity (``capacity``, ``tamis.route.capacity``) then keeps each office's day within what
it can control: the imposed channels (forced, random) first, then the highest-ranked
declarations (by score, or by expected revenue = score × revenue at stake) up to each
channel's budget, the costliest first; one held back below its score's channel says so.
Forced and random channels are never held back.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field

from tamis.channels import CHANNELS, RANK
from tamis.draws import secure_draws
from tamis.learn.exploration import Exploration
from tamis.learn.ranking import RankBy
from tamis.reasons import reason_expr
from tamis.route.capacity import (
    CONTROLLED,
    INSPECTED,
    Capacity,
    allowed,
    pick_chance,
    places_left,
    priority,
)
from tamis.route.combiner import Combiner, Learning

DEFAULT_CONFIG = Path(__file__).parent.parent / "profiles" / "routing.yaml"


class RandomRate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    office: str | None = None
    procedure: str | None = None
    rate: float = Field(ge=0, le=1)


class RandomSelection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float = Field(default=0.02, ge=0, le=1)
    channel: Literal["blue", "yellow", "orange", "red"] = "red"
    rates: list[RandomRate] = []  # per office and/or procedure; the most specific wins


class ModelRanking(BaseModel):
    """How the model detector scores: by P(fraud), expected revenue or both
    (``tamis.learn.ranking``), and how it explores."""

    model_config = ConfigDict(extra="forbid")
    rank_by: RankBy = "probability"
    explore: Exploration = Exploration()


class RoutingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weights: dict[str, float] = {}
    thresholds: dict[Literal["blue", "yellow", "orange", "red"], float] = {
        "blue": 0.2,
        "yellow": 0.35,
        "orange": 0.55,
        "red": 0.75,
    }
    random: RandomSelection = RandomSelection()
    capacity: Capacity = Capacity()
    model: ModelRanking = ModelRanking()
    # "learnt": the store's active learnt combination when it has one, else the weights
    combine: Literal["learnt", "weights"] = "learnt"
    combiner: Combiner | None = None  # the learnt combination in use (set from the store)
    learn: Learning = Learning()
    # detectors whose findings are leads: alone, they raise a declaration at most this far
    leads: dict[str, Literal["blue", "yellow", "orange", "red"]] = {"social": "orange"}

    def weight(self, detector: str) -> float:
        return self.weights.get(detector, 1.0)

    def lead_cap(self, names: tuple[str, ...] | list[str]) -> str | None:
        """The highest channel a declaration that only lead detectors score may get."""
        caps = [self.leads[n] for n in names if n in self.leads]
        return max(caps, key=RANK.__getitem__) if caps else None

    @property
    def floors(self) -> dict[str, float]:
        """The minimum score per channel: ``thresholds``, or under a learnt combination
        (whose score is a P(fraud)) its own."""
        return self.thresholds if self.combiner is None else self.learn.thresholds

    @property
    def combination(self) -> str:
        """What a decision records of how its detectors were combined."""
        return "weights" if self.combiner is None else self.combiner.name


def load_routing(path: str | None = None) -> RoutingConfig:
    """From ``path``, else TAMIS_ROUTING_CONFIG, else the shipped defaults."""
    return _routing_from(path or os.environ.get("TAMIS_ROUTING_CONFIG") or str(DEFAULT_CONFIG))


@lru_cache
def _routing_from(path: str) -> RoutingConfig:
    with open(path, encoding="utf-8") as handle:
        return RoutingConfig.model_validate(yaml.safe_load(handle) or {})


def _random_rate(config: RandomSelection) -> pl.Expr:
    rate = pl.lit(config.rate)
    specific = sorted(
        config.rates, key=lambda r: (r.office is not None) + (r.procedure is not None)
    )
    for r in specific:  # later (more specific) entries override earlier ones
        match = pl.lit(True)
        if r.office is not None:
            match = match & (pl.col("office") == r.office)
        if r.procedure is not None:
            match = match & (pl.col("procedure") == r.procedure)
        rate = pl.when(match.fill_null(False)).then(pl.lit(r.rate)).otherwise(rate)
    return rate


def _score_channel(thresholds: dict[str, float], score: str = "score") -> pl.Expr:
    channel = pl.lit("green")
    for name in CHANNELS[1:]:
        if name in thresholds:
            channel = (
                pl.when(pl.col(score) >= thresholds[name]).then(pl.lit(name)).otherwise(channel)
            )
    return channel


def _lead_capped(config: RoutingConfig, names: tuple[str, ...]) -> pl.Expr:
    """The score's channel, of which lead detectors raise a declaration at most to their
    cap: above it, the channel the other detectors' score gives, if higher."""
    channel = _score_channel(config.floors)
    cap = config.lead_cap(names)
    if cap is None:
        return channel
    without = _rank(_score_channel(config.floors, "__score_without_leads"))
    capped = pl.max_horizontal(pl.lit(RANK[cap]), without)
    over = _rank(channel) > RANK[cap]
    return (
        pl.when(over)
        .then(capped.replace_strict(dict(enumerate(CHANNELS)), return_dtype=pl.String))
        .otherwise(channel)
    )


def _not_fraud_logs(config: RoutingConfig, names: tuple[str, ...]) -> list[pl.Expr]:
    """ln(1 - risk) of each term: the learnt combination's, then each detector it does not
    know, weighted."""
    logs, combiner = [], config.combiner
    if combiner is not None:
        logs.append(combiner.log_not_fraud(names))
    for name in names:
        if combiner is None or name not in combiner.terms:
            logs.append((1 - config.weight(name) * pl.col(f"{name}__score").fill_null(0.0)).log())
    return logs


def _risk(logs: list[pl.Expr]) -> pl.Expr:
    return (1 - pl.sum_horizontal(logs).exp()).clip(0.0, 1.0).round(6) if logs else pl.lit(0.0)


def _rank(column: str | pl.Expr) -> pl.Expr:
    column = pl.col(column) if isinstance(column, str) else column
    return column.replace_strict(RANK, default=0)


@lru_cache(maxsize=64)
def _steps(config_json: str, names: tuple[str, ...]) -> tuple[list[pl.Expr], ...]:
    """Routing's expressions in three dependent steps, built once per configuration and set
    of detectors: building them costs more than running them on one lodged declaration."""
    config = RoutingConfig.model_validate_json(config_json)
    structs, reasons, revenues, forced = [], [], [], []
    for name in names:
        s, r = pl.col(f"{name}__score").fill_null(0.0), pl.col(f"{name}__reasons")
        reasons.append(r.fill_null(pl.lit([], pl.List(pl.String))))
        revenues.append(pl.col(f"{name}__revenue_at_stake"))
        f = pl.col(f"{name}__forced_channel")
        forced.append(
            pl.when(f.is_null()).then(-1).otherwise(_rank(f))
        )  # replace_strict maps null to its default
        structs.append(
            pl.struct(
                score=s,
                reasons=r,
                revenue_at_stake=pl.col(f"{name}__revenue_at_stake"),
                forced_channel=pl.col(f"{name}__forced_channel"),
            ).alias(name)
        )
    others = tuple(n for n in names if n not in config.leads)
    combined = [
        _risk(_not_fraud_logs(config, names)).alias("score"),
        _risk(_not_fraud_logs(config, others)).alias("__score_without_leads"),
        (pl.concat_list(reasons) if reasons else pl.lit([], pl.List(pl.String))).alias("reasons"),
        (pl.max_horizontal(revenues) if revenues else pl.lit(None, pl.Float64)).alias(
            "revenue_at_stake"
        ),
        (pl.max_horizontal(forced) if forced else pl.lit(-1)).alias("__forced"),
        (pl.struct(structs).struct.json_encode() if structs else pl.lit("{}")).alias("signals"),
        _random_rate(config.random).alias("random_rate"),
    ]
    channel_names = dict(enumerate(CHANNELS))
    random_rank = CHANNELS.index(config.random.channel)
    drawn = [
        pl.col("__forced")
        .replace_strict(channel_names, default=None, return_dtype=pl.String)
        .alias("forced_channel"),
        (pl.col("random_draw") < pl.col("random_rate")).alias("random_selected"),
        _lead_capped(config, names).alias("score_channel"),
    ]
    channel = [
        pl.max_horizontal(
            pl.col("__forced"), pl.when(pl.col("random_selected")).then(random_rank).otherwise(-1)
        ).alias("__imposed"),
        pl.when(pl.col("random_selected") & pl.col("office").is_not_null())
        .then(
            reason_expr(
                "route.random",
                draw=pl.col("random_draw").round(4),
                rate=pl.col("random_rate"),
                office=pl.col("office"),
            )
        )
        .alias("__random_reason"),
    ]
    return combined, drawn, channel


def route(
    header: pl.DataFrame,
    signals: dict[str, pl.DataFrame],
    config: RoutingConfig,
    draws: np.ndarray | None = None,
) -> pl.DataFrame:
    """One decision row per declaration of ``header`` (declaration_id, office, procedure,
    lodged_at), from each detector's signals."""
    draws = secure_draws(header.height) if draws is None else draws
    frame = pl.DataFrame(
        [header[c] for c in ("declaration_id", "lodged_at")]
        + [header[c].cast(pl.String) for c in ("office", "procedure")]
        + [pl.Series("random_draw", draws, dtype=pl.Float64)]
    )
    for name, sig in signals.items():
        sig = sig.rename({c: f"{name}__{c}" for c in sig.columns if c != "declaration_id"})
        frame = frame.join(sig, on="declaration_id", how="left")
    for step in _steps(config.model_dump_json(), tuple(signals)):
        frame = frame.with_columns(step)
    frame = _apply_capacity(frame, config.capacity)
    frame = _with_selection_chance(frame, tuple(signals), config.random.channel)
    extra = ("__random_reason", "__capacity_reason")
    return frame.with_columns(
        # only the few drawn or held back have a reason to add (cheaper than every row)
        pl.when(pl.any_horizontal(pl.col(extra).is_not_null()))
        .then(pl.concat_list("reasons", *extra).list.drop_nulls())
        .otherwise(pl.col("reasons"))
        .alias("reasons")
    ).select(
        "declaration_id",
        "channel",
        "score",
        "reasons",
        "revenue_at_stake",
        "forced_channel",
        "random_draw",
        "random_rate",
        "random_selected",
        "capacity_held",
        "selection_chance",
        "signals",
    )


def _with_selection_chance(frame: pl.DataFrame, names: tuple[str, ...], random_channel: str):
    """``selection_chance`` (``capacity.selection_chance``); the few forced declarations'
    reasons are read to tell a profile's forced channel from an exploratory pick."""
    forced = frame.filter(pl.col("__forced") >= 0)
    firm, explored = [], []
    for row in forced.select(
        *(f"{n}__forced_channel" for n in names), *(f"{n}__reasons" for n in names)
    ).iter_rows(named=True):
        ranks, chances = [-1], [0.0]
        for n in names:
            channel = row[f"{n}__forced_channel"]
            if channel is None:
                continue
            chance = pick_chance(row[f"{n}__reasons"])
            if chance is None:
                ranks.append(RANK.get(channel, 0))
            elif channel in INSPECTED:
                chances.append(chance)
        firm.append(max(ranks))
        explored.append(max(chances))
    kinds = pl.DataFrame(
        {"declaration_id": forced["declaration_id"], "__firm": firm, "__explored": explored},
        schema={"declaration_id": pl.String, "__firm": pl.Int64, "__explored": pl.Float64},
    )
    frame = frame.join(kinds, on="declaration_id", how="left")
    by_choice = (
        pl.max_horizontal(pl.col("__capped"), pl.col("__firm").fill_null(-1)) >= RANK[INSPECTED[0]]
    )
    by_draw = pl.col("random_rate") if random_channel in INSPECTED else pl.lit(0.0)
    chance = (
        pl.when(pl.col("channel").is_in(INSPECTED) & by_choice)
        .then(pl.lit(1.0))
        .otherwise(1 - (1 - by_draw) * (1 - pl.col("__explored").fill_null(0.0)))
    )
    return frame.with_columns(chance.alias("selection_chance"))


def _apply_capacity(frame: pl.DataFrame, capacity: Capacity) -> pl.DataFrame:
    """Each office's day within its budgets (``tamis.route.capacity``): the imposed channels
    (forced, random) first, then the highest-ranked of the rest up to each channel's budget,
    the costliest channel first; a declaration held back below its score's channel is said
    so. The chance of each declaration being inspected is recorded as ``selection_chance``."""
    frame = frame.with_columns(
        _rank("score_channel").alias("__wanted"),
        _period(capacity).alias("__day"),
    )
    frame = frame.with_columns(_rank("score_channel").alias("__capped"))
    if capacity.capped:
        frame = _within_budgets(frame, capacity)
    channel = pl.max_horizontal(pl.col("__capped"), pl.col("__imposed"))
    held = channel < pl.col("__wanted")
    return frame.with_columns(
        channel.replace_strict(dict(enumerate(CHANNELS)), return_dtype=pl.String).alias("channel"),
        held.alias("capacity_held"),
        pl.when(held & pl.col("office").is_not_null())
        .then(
            reason_expr(
                "route.capacity.held",
                to=channel.replace_strict(dict(enumerate(CHANNELS)), return_dtype=pl.String),
                wanted=pl.col("score_channel"),
                office=pl.col("office"),
                **{capacity.period: pl.col("__day").cast(pl.String)},
            )
        )
        .alias("__capacity_reason"),
    )


def _within_budgets(frame: pl.DataFrame, capacity: Capacity) -> pl.DataFrame:
    """``__capped``: the channel each declaration's score gets within its office's budgets.
    Only those whose score asks for a capped channel compete: ranked among themselves, one
    channel at a time, the costliest first; one of them left with none falls to blue."""
    group = ["office", "__day"]
    frame = frame.with_row_index("__row").join(
        _budgets(frame, capacity), on=group, how="left", nulls_equal=True
    )
    revenue = pl.col("revenue_at_stake").fill_null(0.0).clip(0.0)
    first = priority(capacity.rank_by, pl.col("score"), revenue)
    lowest = RANK[CONTROLLED[-1]]
    competing = (
        frame.filter(pl.col("__wanted") >= lowest)
        .sort("lodged_at", "declaration_id")  # equal priorities: the first lodged goes first
        .select(
            "__row", *group, "__wanted", "__imposed", first.alias("__priority"),
            *(f"__left_{c}" for c in CONTROLLED), pl.lit(None, pl.Int64).alias("__got"),
        )
    )  # fmt: skip
    for channel in CONTROLLED:
        c, left = RANK[channel], pl.col(f"__left_{channel}")
        eligible = (pl.col("__wanted") >= c) & (pl.col("__imposed") < c) & pl.col("__got").is_null()
        place = pl.col("__priority").rank("ordinal", descending=True).over([*group, eligible])
        competing = competing.with_columns(
            pl.when(eligible & (left.is_null() | (place <= left)))
            .then(pl.lit(c))
            .otherwise(pl.col("__got"))
            .alias("__got")
        )
    below = pl.min_horizontal(pl.col("__wanted"), pl.lit(RANK["blue"]))
    return (
        frame.join(competing.select("__row", "__got"), on="__row", how="left")
        .with_columns(
            pl.when(pl.col("__row").is_in(competing["__row"].implode()))
            .then(pl.col("__got").fill_null(below))
            .otherwise(pl.col("__capped"))
            .alias("__capped")
        )
        .drop("__row", "__got")
    )


def _period(capacity: Capacity) -> pl.Expr:
    """The first day of each declaration's budget period (``Capacity.period_of``)."""
    day = pl.col("lodged_at").dt.date()
    if capacity.period == "day":
        return day
    return pl.max_horizontal(day.dt.truncate("1w"), day.dt.truncate("1mo"))


def _budgets(frame: pl.DataFrame, capacity: Capacity) -> pl.DataFrame:
    """Per office and day: what each capped channel has left after the imposed channels."""
    days = frame.group_by("office", "__day").agg(
        pl.len().alias("__n"),
        *((pl.col("__imposed") == RANK[c]).sum().alias(f"__imposed_{c}") for c in CONTROLLED),
    )
    rows = []
    for day in days.iter_rows(named=True):
        caps = {
            c: allowed(capacity, day["office"], day["__day"], c, day["__n"]) for c in CONTROLLED
        }
        left = places_left(caps, {c: day[f"__imposed_{c}"] for c in CONTROLLED})
        rows.append({"office": day["office"], "__day": day["__day"]}
                    | {f"__left_{c}": n for c, n in left.items()})  # fmt: skip
    schema = {"office": pl.String, "__day": pl.Date} | {f"__left_{c}": pl.Int64 for c in CONTROLLED}
    return pl.DataFrame(rows, schema=schema, orient="row")
