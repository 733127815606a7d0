"""Selectivity: combine detectors' signals into one risk score and a control channel.

Score = 1 − Π_d (1 − w_d · s_d): each detector d's score s_d, weighted by w_d in [0, 1]
(config ``weights``, default 1), counts as independent evidence; the result stays in [0, 1].
The channel is the highest of:

1. the score's channel under ``thresholds`` (minimum score for blue, yellow, orange, red);
2. any channel forced by a detector (a risk profile with ``channel:``) — forced wins;
3. the random-selection channel, when the declaration's random draw falls under the rate
   for its office and procedure. Draws come from the operating system's secure source, so
   a trader cannot predict them from the declaration; each draw is recorded.

An optional capacity (``capacity.red_share``) keeps, per office and day, the highest-ranked
red declarations (by score, or by expected revenue = score × revenue at stake) and holds
the rest back to orange, saying so. Forced and random reds are never held back.
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


class Capacity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    red_share: float | None = Field(default=None, gt=0, le=1)
    rank_by: Literal["score", "expected_revenue"] = "score"
    # Inspections an office can do in a day ("*": any office not named); the scoreboard
    # compares them with the inspections done.
    inspections_per_day: dict[str, int] = {}


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

    def weight(self, detector: str) -> float:
        return self.weights.get(detector, 1.0)


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


def _score_channel(thresholds: dict[str, float]) -> pl.Expr:
    channel = pl.lit("green")
    for name in CHANNELS[1:]:
        if name in thresholds:
            channel = (
                pl.when(pl.col("score") >= thresholds[name]).then(pl.lit(name)).otherwise(channel)
            )
    return channel


def _rank(column: str | pl.Expr) -> pl.Expr:
    column = pl.col(column) if isinstance(column, str) else column
    return column.replace_strict(RANK, default=0)


@lru_cache(maxsize=64)
def _steps(config_json: str, names: tuple[str, ...]) -> tuple[list[pl.Expr], ...]:
    """Routing's expressions in three dependent steps, built once per configuration and set
    of detectors: building them costs more than running them on one lodged declaration."""
    config = RoutingConfig.model_validate_json(config_json)
    structs, reasons, scores, revenues, forced = [], [], [], [], []
    for name in names:
        s, r = pl.col(f"{name}__score").fill_null(0.0), pl.col(f"{name}__reasons")
        scores.append((1 - config.weight(name) * s).log())
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
    combined = [
        (1 - pl.sum_horizontal(scores).exp()).clip(0.0, 1.0).round(6).alias("score")
        if scores
        else pl.lit(0.0).alias("score"),
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
        _score_channel(config.thresholds).alias("score_channel"),
    ]
    channel = [
        pl.max_horizontal(
            _rank("score_channel"),
            pl.col("__forced"),
            pl.when(pl.col("random_selected")).then(random_rank).otherwise(0),
        )
        .replace_strict(channel_names, return_dtype=pl.String)
        .alias("channel"),
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
        [header[c] for c in ("declaration_id", "office", "procedure", "lodged_at")]
        + [pl.Series("random_draw", draws, dtype=pl.Float64)]
    )
    for name, sig in signals.items():
        sig = sig.rename({c: f"{name}__{c}" for c in sig.columns if c != "declaration_id"})
        frame = frame.join(sig, on="declaration_id", how="left")
    for step in _steps(config.model_dump_json(), tuple(signals)):
        frame = frame.with_columns(step)
    frame = _apply_capacity(frame, config.capacity)
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
        "signals",
    )


def _apply_capacity(frame: pl.DataFrame, capacity: Capacity) -> pl.DataFrame:
    if capacity.red_share is None:
        return frame.with_columns(
            pl.lit(False).alias("capacity_held"), pl.lit(None, pl.String).alias("__capacity_reason")
        )
    group = [pl.col("office"), pl.col("lodged_at").dt.date()]
    priority = (
        pl.col("score") * pl.col("revenue_at_stake").fill_null(0.0)
        if capacity.rank_by == "expected_revenue"
        else pl.col("score")
    )
    imposed = (pl.col("channel") == "red") & (
        (pl.col("forced_channel") == "red").fill_null(False) | pl.col("random_selected")
    )
    by_score = (pl.col("channel") == "red") & ~imposed
    allowed = (pl.len().over(group) * capacity.red_share).floor() - imposed.sum().over(group)
    place = priority.rank("ordinal", descending=True).over([*group, by_score])
    held = by_score & (place > allowed)
    return frame.with_columns(held.alias("capacity_held")).with_columns(
        pl.when("capacity_held")
        .then(pl.lit("orange"))
        .otherwise(pl.col("channel"))
        .alias("channel"),
        pl.when(pl.col("capacity_held") & pl.col("office").is_not_null())
        .then(
            reason_expr(
                "route.capacity",
                percent=round(capacity.red_share * 100, 2),
                office=pl.col("office"),
                day=pl.col("lodged_at").dt.date().cast(pl.String),
            )
        )
        .alias("__capacity_reason"),
    )
