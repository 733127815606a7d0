"""Inspection capacity: how many declarations an office can send to each control channel
a day or a week (red: physical, orange: scan, yellow: documents), and each declaration's
chance of being inspected.

A channel's budget for an office's day is ``share`` of the day's declarations, at most
``per_day`` (over a week: ``share`` of the week's, at most 7 × ``per_day``). A share of a
small office's day is a fraction (4 % of 7 declarations is 0.28): the budget is that
fraction rounded down or up by a fixed draw of the office, day and channel
(``day_fraction``), so that over many days the office gets its share exactly and any
replay of the day gets the same budget.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tamis.reasons import parse
from tamis.store.partitions import month_of, next_month

Controlled = Literal["yellow", "orange", "red"]
CONTROLLED: tuple[Controlled, ...] = ("red", "orange", "yellow")  # the costliest first
ANY_OFFICE = "*"


class Budget(BaseModel):
    """What an office can control a day on one channel: a share of its declarations, a
    number of them, or both (the smaller)."""

    model_config = ConfigDict(extra="forbid")
    share: float | None = Field(default=None, ge=0, le=1)
    per_day: int | None = Field(default=None, ge=0)


class Capacity(BaseModel):
    """Budgets per office (``"*"``: any office not named) and channel; a channel with no
    budget is not capped. ``rank_by``: what spends a budget first (``priority``).
    ``red_share``: the earlier form, red capped at a share of every office's day."""

    model_config = ConfigDict(extra="forbid")
    offices: dict[str, dict[Controlled, Budget]] = {}
    # what a budget is counted over: each day, or each week (Monday to Sunday, cut at the
    # month's end so that a month holds its periods whole) where an office's days are too
    # few declarations for a daily share to fit what arrives
    period: Literal["day", "week"] = "day"
    rank_by: Literal["score", "expected_revenue", "both"] = "score"
    red_share: float | None = Field(default=None, gt=0, le=1)
    # Inspections an office can do in a day ("*": any office not named); the scoreboard
    # compares them with the inspections done.
    inspections_per_day: dict[str, int] = {}

    @model_validator(mode="after")
    def _red_share_is_a_budget(self) -> Capacity:
        if self.red_share is not None and not self.offices:
            self.offices = {ANY_OFFICE: {"red": Budget(share=self.red_share)}}
        return self

    def period_of(self, day: date) -> date:
        """The first day of the budget period ``day`` is in: the day, or its week's Monday
        (the first of the month where the week began in the month before)."""
        if self.period == "day":
            return day
        return max(day - timedelta(days=day.weekday()), month_of(day))

    def period_days(self, start: date) -> int:
        """How many days the budget period starting ``start`` holds."""
        if self.period == "day":
            return 1
        return min(7 - start.weekday(), (next_month(month_of(start)) - start).days)

    @property
    def capped(self) -> bool:
        return bool(self.offices)

    def budgets(self, office: str | None) -> dict[Controlled, Budget]:
        return self.offices.get(office or "", self.offices.get(ANY_OFFICE, {}))

    def expected_share(
        self, office: str | None, channel: Controlled, start: date, declarations: int
    ):
        """The share of the period starting ``start``, of ``declarations``, that ``channel``
        may take; None: no cap."""
        budget = self.budgets(office).get(channel)
        if budget is None or (budget.share is None and budget.per_day is None):
            return None
        days = self.period_days(start)
        per_period = None if budget.per_day is None else budget.per_day * days
        by_count = 1.0 if per_period is None else per_period / max(declarations, 1)
        return min(1.0 if budget.share is None else budget.share, by_count)


def priority(rank_by: str, score, revenue):
    """What spends a budget first, of a declaration's ``score`` and revenue at stake (0 if
    unknown; floats or Polars expressions): the score; the expected revenue, score ×
    revenue; or both, their geometric mean (ranked as score × √revenue): the surest frauds
    first, a rich one before a poor one as sure."""
    if rank_by == "expected_revenue":
        return score * revenue
    if rank_by == "both":
        return score * revenue**0.5
    return score


def inspection_capacity(
    capacity: Capacity, office: str | None, declarations: int, days: int
) -> float | None:
    """What an office's orange and red budgets hold over ``days`` days that received
    ``declarations``; None when neither is capped."""
    held = None
    for channel in INSPECTED:
        budget = capacity.budgets(office).get(channel)
        if budget is None:
            continue
        by_share = math.inf if budget.share is None else budget.share * declarations
        by_count = math.inf if budget.per_day is None else budget.per_day * days
        if min(by_share, by_count) < math.inf:
            held = (held or 0.0) + min(by_share, by_count)
    return held


INSPECTED = ("orange", "red")  # channels whose declarations are inspected


def places_left(caps: dict[str, int | None], taken: dict[str, int]) -> dict[str, int | None]:
    """What each channel has left of its budget (``caps``, None: not capped) once ``taken``
    (the imposed channels and, at lodgement, the period so far) is counted. Imposed channels
    are never held back: what one takes beyond its budget comes out of the next inspected
    channel's (a random red beyond the red budget takes an orange place), so that inspection
    stays within the two budgets together."""
    left: dict[str, int | None] = {}
    over = 0
    for channel in CONTROLLED:
        cap = caps[channel]
        if cap is None:
            left[channel] = None
            continue
        left[channel] = cap - taken[channel] - (over if channel in INSPECTED else 0)
        over = max(0, -left[channel]) if channel in INSPECTED else 0
    return left


def day_fraction(office: str | None, day: date, channel: str) -> float:
    """A fixed draw in [0, 1) for an office's day and channel."""
    key = f"{office}|{day.isoformat()}|{channel}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64


def allowed(
    capacity: Capacity, office: str | None, day: date, channel: Controlled, declarations: int
) -> int | None:
    """How many of ``declarations`` (an office's period starting ``day``) ``channel`` may
    take; None: no cap."""
    budget = capacity.budgets(office).get(channel)
    if budget is None or (budget.share is None and budget.per_day is None):
        return None
    by_share = math.inf
    if budget.share is not None:
        by_share = math.floor(budget.share * declarations + day_fraction(office, day, channel))
    days = capacity.period_days(day)
    by_count = math.inf if budget.per_day is None else budget.per_day * days
    return int(min(by_share, by_count))


def may_spend(decided: list[dict]) -> bool:
    """Whether decisions routed without the day so far could take a place, or be refused
    one: a controlled channel, or one held back. The others come out the same whatever the
    day holds, and spend no place (a lodgement that does not see them counts its office's
    day one short, which only ever shrinks a budget shared out of the day's declarations)."""
    return any(row["channel"] in CONTROLLED or row["capacity_held"] for row in decided)


def pick_chance(reasons: list[str] | None) -> float | None:
    """The chance of an exploratory pick (a forced channel whose reason gives its chance),
    or None: a detector forcing a channel for certain."""
    chances = [said["chance"] for said in map(parse, reasons or ()) if said and "chance" in said]
    return max(chances) if chances else None


def selection_chance(
    channel: str, by_choice: bool, random_rate: float, random_channel: str, explored: float
) -> float:
    """The chance a declaration had of being inspected: 1 when its score or a profile sent
    it to inspection, else that of the random selection or an exploratory pick taking it
    (what inverse-propensity weights divide by)."""
    if channel in INSPECTED and by_choice:
        return 1.0
    by_draw = random_rate if random_channel in INSPECTED else 0.0
    return 1 - (1 - by_draw) * (1 - explored)
