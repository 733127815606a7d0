"""A learnt combination of detectors' signals (fitted by ``tamis.learn.combiner``).

P(fraud) = σ(intercept + Σ_d Σ_k step_dk · [score_d > STEPS_k] + Σ_r rule_r · [r hit] +
revenue · ln(1 + revenue at stake)): each rule learnt on its own counts when it hits, each
detector's score by the step it clears (above 0: it flagged; above 0.25, 0.5, 0.75: more
sure), which lets a detector whose middling scores find little but whose highest find much
weigh as it deserves (a straight weight on the score does not). A detector it knows that
is not in use counts by its ``absent`` weight instead (what the decisions made before it
existed taught). A detector the combination does not know (added since it was fitted)
counts as independent evidence on top, weighted as under fixed weights: risk = 1 − (1 −
P(fraud)) · Π (1 − w · s).
"""

from __future__ import annotations

import math
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from tamis.reasons import parse, reason

LIMIT = 700.0  # |z| beyond which e^z overflows a float


STEPS = (0.0, 0.25, 0.5, 0.75)


HIT = "rules.hit"  # the reason a risk profile gives when it hits


def hit_rules(reasons) -> set[str]:
    """The rules whose hit ``reasons`` (stored reason texts) tell of."""
    said = (parse(r) for r in reasons or ())
    return {str(s["rule"]) for s in said if s and s["code"] == HIT and s.get("rule")}


class Combiner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    intercept: float
    terms: dict[str, list[float]]  # per detector, the weight of each of ``STEPS``
    absent: dict[str, float] = {}  # per detector, the weight of its not being in use
    rules: dict[str, float] = {}  # per risk profile (rule id), the weight of its hit
    revenue: float = 0.0
    rules_cut: dict[str, dict] = {}  # rule id -> its lift and the floor it stayed under

    @property
    def name(self) -> str:
        """What a decision records of it."""
        return f"learnt:{self.version}"

    def _absent_from(self, names) -> float:
        return sum(weight for name, weight in self.absent.items() if name not in names)

    def log_not_fraud(self, names: tuple[str, ...]) -> pl.Expr:
        """ln(1 − P(fraud)) = −ln(1 + e^z) of the detectors ``names`` it knows."""
        z = pl.lit(self.intercept + self._absent_from(names))
        for name in names:
            if name in self.terms:
                s = pl.col(f"{name}__score").fill_null(0.0)
                for step, weight in zip(STEPS, self.terms[name], strict=True):
                    z = z + (s > step).cast(pl.Float64) * weight
        if names and self.rules:
            reasons = pl.concat_list(
                pl.col(f"{n}__reasons").fill_null(pl.lit([], pl.List(pl.String))) for n in names
            )
            for rule, weight in self.rules.items():
                # a stored hit is ``reason``'s compact JSON, the rule first: read as text,
                # fifty times faster than as JSON
                start, said = reason(HIT, rule=rule)[:-1], pl.element()
                hit = said.str.starts_with(start + ",") | (said == start + "}")
                z = z + reasons.list.eval(hit).list.any().cast(pl.Float64) * weight
        if names and self.revenue:
            revenue = pl.max_horizontal(pl.col(f"{n}__revenue_at_stake") for n in names)
            z = z + revenue.fill_null(0.0).clip(0.0, None).log1p() * self.revenue
        return -(z.clip(-LIMIT, LIMIT).exp().log1p())

    def log_not_fraud_of(
        self, scores: dict[str, float], revenue: float | None, rules: set[str] = frozenset()
    ) -> float:
        """``log_not_fraud`` of one declaration: its detectors' scores, revenue at stake and
        the rules it hit (``hit_rules``)."""
        z = self.intercept + self._absent_from(scores)
        if scores:
            z += sum(weight for rule, weight in self.rules.items() if rule in rules)
        for name, s in scores.items():
            if name in self.terms:
                for step, weight in zip(STEPS, self.terms[name], strict=True):
                    z = z + float(s > step) * weight
        if scores and self.revenue:
            z = z + math.log1p(max(revenue or 0.0, 0.0)) * self.revenue
        return -math.log1p(math.exp(min(max(z, -LIMIT), LIMIT)))


class Learning(BaseModel):
    """How routing's combination is learnt (``learn`` in the routing configuration)."""

    model_config = ConfigDict(extra="forbid")
    min_results: int = Field(default=300, ge=1)  # inspected declarations, at least
    min_frauds: int = Field(default=30, ge=1)  # among them
    max_weight: float = Field(default=20.0, ge=1)  # clip of 1 / selection chance
    lift_floor: float = Field(default=1.5, ge=0)  # under it, a detector gets no weight
    min_flagged: int = Field(default=30, ge=1)  # inspected flags before lift is judged
    min_rule_hits: int = Field(default=10, ge=1)  # inspected hits before a rule weighs alone
    # the minimum P(fraud) per channel under a learnt combination (its score is one)
    thresholds: dict[Literal["blue", "yellow", "orange", "red"], float] = {
        "blue": 0.05,
        "yellow": 0.08,
        "orange": 0.1,
        "red": 0.2,
    }
