"""Risk profiles: analysts' rules on canonical fields, evaluated column-wise over a batch.

A rule set is YAML (``rules: [...]``). Each rule has criteria combined with ``all`` or
``any``, a weight in (0, 1] or a forced channel, a validity period, a scope (offices,
procedures), an active flag and an author. Criteria:

- ``{field: origin_country, equals: CN}`` / ``{field: office, in: [A, B]}``
- ``{field: customs_value, min: 0, max: 1000}`` (numeric range, either bound optional)
- ``{field: hs_code, prefix: ["6403", "640299"]}`` (chapter, heading, subheading…)
- ``{field: description, regex: "(?i)nike|adidas"}``
- ``{field: lodged_at, from: 2025-03-01, to: 2025-06-30}`` (date window)
- ``{field: importer_age_days, max: 90}`` (importer first seen at most 90 days before)

Derived fields usable in criteria: ``importer_age_days``, ``unit_value_per_kg`` and
``shipped_from_third_country`` (1 when the goods left from another country than their
declared origin, 0 when from it, unknown without both: with a preferential origin claimed,
the direct-transport check of origin rules).
A declaration hits a rule when any of its items does. Score = 1 − Π(1 − weight) over the
rules hit (independent evidence, never above 1).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, Literal, Self

import numpy as np
import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Engine, func, select

from tamis.channels import CHANNELS, channel_rank
from tamis.declarations import FIELDS_BY_NAME
from tamis.detectors.base import Detector, ItemRows, StoreContext, by_declaration, per_declaration
from tamis.detectors.rules.few import PlainRules, assess_few, signals_few
from tamis.reasons import reason_expr
from tamis.refusals import Refusal
from tamis.store.tables import declarations

DERIVED = {"importer_age_days", "unit_value_per_kg", "shipped_from_third_country"}
QUICK_ROWS = 64  # items; up to this, rules are tested in plain Python (see rules.few)
# Regexes whose meaning Python's re and Polars' regex engine agree on: literals, groups,
# alternatives, optionally case-insensitive. Others are evaluated by Polars only.
PORTABLE_REGEX = re.compile(r"(\(\?i\))?[A-Za-z0-9 _|()-]*")
Test = Callable[[Any], bool]
FIELD_NAMES = set(FIELDS_BY_NAME) | DERIVED


class RuleSetError(Refusal):
    """A rule set that cannot be used, naming the rule and what is wrong."""


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: str
    equals: str | int | float | None = None
    in_: list[str | int | float] | None = Field(default=None, alias="in")
    min: float | None = None
    max: float | None = None
    prefix: list[str] | None = None
    regex: str | None = None
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in FIELD_NAMES:
            raise Refusal(f"unknown field {value!r}", "rules.unknown_field", name=value)
        return value

    @field_validator("prefix", mode="before")
    @classmethod
    def _prefix_list(cls, value):
        return [str(v) for v in ([value] if isinstance(value, str | int) else value)]

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        tests = [self.equals, self.in_, self.prefix, self.regex]
        ranged = self.min is not None or self.max is not None
        dated = self.from_ is not None or self.to is not None
        if sum(t is not None for t in tests) + ranged + dated != 1:
            raise Refusal(
                "give exactly one test: equals, in, min/max, prefix, regex or from/to",
                "rules.one_test",
            )
        return self

    def expr(self) -> pl.Expr:
        column = pl.col(self.field)
        if self.equals is not None:
            return column.cast(pl.String) == str(self.equals)
        if self.in_ is not None:
            return column.cast(pl.String).is_in([str(v) for v in self.in_])
        if self.prefix is not None:
            return pl.any_horizontal(column.str.starts_with(p) for p in self.prefix)
        if self.regex is not None:
            return column.cast(pl.String).str.contains(self.regex)
        if self.from_ is not None or self.to is not None:
            day = column.dt.date()
            low = day >= self.from_ if self.from_ else pl.lit(True)
            return low & (day <= self.to if self.to else pl.lit(True))
        number = column.cast(pl.Float64)
        low = number >= self.min if self.min is not None else pl.lit(True)
        return low & (number <= self.max if self.max is not None else pl.lit(True))

    def test(self, dtype: pl.DataType) -> Test | None:
        """``expr`` in plain Python for one value of ``dtype`` (a null never matches), or
        None where only ``expr`` is sure to be exact."""
        if self.equals is not None or self.in_ is not None:
            wanted = {str(v) for v in ([self.equals] if self.in_ is None else self.in_)}
            return (lambda v: v in wanted) if dtype == pl.String else None
        if self.prefix is not None:
            prefixes = tuple(self.prefix)
            return (
                (lambda v: v is not None and v.startswith(prefixes)) if dtype == pl.String else None
            )
        if self.regex is not None:
            if dtype != pl.String or not PORTABLE_REGEX.fullmatch(self.regex):
                return None
            try:
                pattern = re.compile(self.regex)
            except re.error:
                return None  # Polars says what is wrong with it
            return lambda v: v is not None and pattern.search(v) is not None
        if self.from_ is not None or self.to is not None:
            low, high = self.from_ or date.min, self.to or date.max
            if dtype == pl.Date:
                return lambda v: v is not None and low <= v <= high
            return (
                (lambda v: v is not None and low <= v.date() <= high)
                if dtype == pl.Datetime
                else None
            )
        low = -math.inf if self.min is None else self.min
        high = math.inf if self.max is None else self.max
        return (lambda v: v is not None and low <= float(v) <= high) if dtype.is_numeric() else None


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offices: list[str] = []
    procedures: list[str] = []


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    description: str
    author: str = "unknown"
    active: bool = True
    weight: float | None = Field(default=None, gt=0, le=1)
    channel: Literal["green", "blue", "yellow", "orange", "red"] | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    scope: Scope = Scope()
    match: Literal["all", "any"] = "all"
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _weight_or_channel(self) -> Self:
        if self.weight is None and self.channel is None:
            raise Refusal("give a weight (0 to 1] or a forced channel", "rules.weight_or_channel")
        return self

    def expr(self) -> pl.Expr:
        tests = [c.expr() for c in self.criteria]
        hit = pl.all_horizontal(tests) if self.match == "all" else pl.any_horizontal(tests)
        day = pl.col("lodged_at").dt.date()
        if self.valid_from:
            hit = hit & (day >= self.valid_from)
        if self.valid_to:
            hit = hit & (day <= self.valid_to)
        if self.scope.offices:
            hit = hit & pl.col("office").is_in(self.scope.offices)
        if self.scope.procedures:
            hit = hit & pl.col("procedure").is_in(self.scope.procedures)
        return hit.fill_null(False)

    def test(self, schema: pl.Schema) -> Callable[[dict], bool] | None:
        """``expr`` in plain Python for one item (a dict of ``schema``'s columns), or None
        when a criterion can only be evaluated by ``expr``. Without negation, a Kleene
        expression is true exactly when it is true with every null taken as false."""
        tests = [
            (c.field, c.test(schema[c.field]) if c.field in schema else None) for c in self.criteria
        ]
        if any(t is None for _, t in tests) or schema.get("lodged_at") != pl.Datetime:
            return None
        combine = all if self.match == "all" else any
        low, high = self.valid_from or date.min, self.valid_to or date.max
        offices, procedures = set(self.scope.offices), set(self.scope.procedures)

        def hit(item: dict) -> bool:
            lodged: datetime | None = item["lodged_at"]
            return (
                (lodged is not None and low <= lodged.date() <= high)
                and (not offices or item["office"] in offices)
                and (not procedures or item["procedure"] in procedures)
                and combine(test(item[name]) for name, test in tests)
            )

        return hit

    def reason(self) -> pl.Expr:
        """``rules.hit``: the rule, and the values this item had for its criteria' fields."""
        values = pl.struct(pl.col(f).cast(pl.String).fill_null("∅") for f in self.fields)
        return reason_expr("rules.hit", rule=self.id, description=self.description, values=values)

    @property
    def fields(self) -> list[str]:
        return list(dict.fromkeys(c.field for c in self.criteria))


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[Rule] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [r.id for r in self.rules]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise Refusal(
                f"rule ids must be unique: {duplicated}", "rules.ids_twice", ids=duplicated
            )
        return self


def parse_rule_set(text: str | dict, where: str = "rule set") -> RuleSet:
    try:
        data = yaml.safe_load(text) if isinstance(text, str) else text
        return RuleSet.model_validate(data or {})
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise RuleSetError(
            f"{where}: not valid YAML: {error}",
            mark and "rules.not_yaml",
            line=mark and mark.line + 1,
            column=mark and mark.column + 1,
        ) from None
    except ValidationError as error:
        data = data or {}
        problems, located = [], []
        for e in error.errors():
            loc, rule_id = list(e["loc"]), None
            if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
                rule_id = (data.get("rules") or [{}])[loc[1]].get("id", f"#{loc[1] + 1}")
                loc = loc[2:]
            named = [] if rule_id is None else [f"rule {rule_id}"]
            problems.append(f"{'.'.join(map(str, named + loc))}: {e['msg']}")
            located.append({"rule": rule_id, "at": ".".join(map(str, loc)), "error": e})
        # ``located``: each problem's rule, place in it and pydantic's error, for a page
        # to say in its reader's language
        raise RuleSetError(
            f"{where}: " + "; ".join(problems), "rules.invalid", problems=located
        ) from None


class RulesDetector(Detector):
    """Risk profiles as a detector."""

    name = "rules"
    labels = {"fr": "profils de risque", "en": "risk profiles"}
    needs = "a rule set (the starter rules are stored on first use)"

    def __init__(
        self, rule_set: RuleSet, version: int | None = None, cut: Iterable[str] = ()
    ) -> None:
        """``cut``: rules whose weight routing's learnt combination cut (their lift stayed
        under the floor): they still say when they hit, and still force a channel, but add
        nothing to the score."""
        self.rule_set = rule_set
        self.version = version
        self.cut = frozenset(cut)
        # expressions are built once: building 200 rules' costs more than running them
        self.active = [r for r in rule_set.rules if r.active]
        self._hits = [r.expr().alias(r.id) for r in self.active]
        self._reasons = [r.reason().alias("reason") for r in self.active]
        self.log_clean = np.array(
            [_log1m(r.weight) if r.weight and r.id not in self.cut else 0.0 for r in self.active]
        )
        self.forced_rank = np.array(
            [channel_rank(r.channel) if r.channel else -1 for r in self.active]
        )
        self._forcing = np.flatnonzero(self.forced_rank >= 0)
        self._reason_fields = list(dict.fromkeys(c.field for r in self.active for c in r.criteria))
        self._plain: dict[tuple, PlainRules] = {}  # per batch schema
        self._first_seen: dict | None = None

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> RulesDetector:
        """The context's rule set, knowing when each importer of the store was first seen."""
        query = select(
            declarations.c.importer_id, func.min(declarations.c.lodged_at).label("lodged_at")
        ).group_by(declarations.c.importer_id)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        schema = {"importer_id": pl.String, "lodged_at": pl.Datetime("us")}
        first_seen = pl.DataFrame(rows, schema=schema, orient="row")
        params = context.params_of(cls.name)
        return cls(context.rule_set, context.rule_set_version, **params).fit(first_seen)

    def fit(self, history: pl.DataFrame) -> Self:
        """Learn when each importer was first seen (for ``importer_age_days``)."""
        self._first_seen = None
        self.first_seen_ = (
            history.group_by("importer_id").agg(pl.col("lodged_at").min().alias("first_seen"))
            if history.height
            else pl.DataFrame(schema={"importer_id": pl.String, "first_seen": pl.Datetime("us")})
        )
        return self

    def _with_derived(self, batch: pl.DataFrame) -> pl.DataFrame:
        first_seen = getattr(self, "first_seen_", None)
        frame = batch
        if first_seen is not None:
            frame = frame.join(first_seen, on="importer_id", how="left")
        else:
            frame = frame.with_columns(pl.lit(None, pl.Datetime("us")).alias("first_seen"))
        seen = pl.min_horizontal("first_seen", pl.col("lodged_at").min().over("importer_id"))
        mass = pl.col("net_mass_kg").cast(pl.Float64)
        third_country = (
            (pl.col("export_country") != pl.col("origin_country")).cast(pl.Int64)
            if {"export_country", "origin_country"} <= set(frame.columns)
            else pl.lit(None, pl.Int64)
        )
        return frame.with_columns(
            (pl.col("lodged_at") - seen).dt.total_days().alias("importer_age_days"),
            pl.when(mass > 0)
            .then(pl.col("customs_value").cast(pl.Float64) / mass)
            .alias("unit_value_per_kg"),
            third_country.alias("shipped_from_third_country"),
        )

    def score_and_forced(
        self, hits: np.ndarray, rows: np.ndarray, columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per item (``rows``, ``columns``: ``hits``' nonzero pairs, each item's in rule
        order): the score 1 − Π(1 − weight) over the rules hit, summed in rule order item by
        item so that an item scores the same alone as in any batch; and the highest forced
        channel's rank (−1: none)."""
        logs = np.bincount(rows, weights=self.log_clean[columns], minlength=hits.shape[0])
        forcing = self._forcing
        forced = np.where(hits[:, forcing], self.forced_rank[forcing], -1).max(axis=1, initial=-1)
        return 1 - np.exp(logs), forced

    def plain_for(self, schema: pl.Schema) -> PlainRules:
        """The active rules in plain Python for items of ``schema``."""
        key = tuple(schema.items())
        if key not in self._plain:
            self._plain[key] = PlainRules(self.active, schema)
        return self._plain[key]

    def first_seen_by_importer(self) -> dict:
        if self._first_seen is None:
            known = getattr(self, "first_seen_", None)
            self._first_seen = dict(known.iter_rows()) if known is not None else {}
        return self._first_seen

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        if len(items.rows) > QUICK_ROWS:
            return by_declaration(self.assess(items.frame))
        return signals_few(self, [dict(row) for row in items.rows], items.schema)

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        if batch.height <= QUICK_ROWS:
            return assess_few(self, batch)
        frame = self._with_derived(batch).with_row_index("__rule_row")
        if not self.active:
            return per_declaration(frame, pl.lit(0.0), pl.lit([], pl.List(pl.String)))
        # one lazy query: shared criteria (same prefix, same list) are evaluated once
        hits = frame.lazy().select(self._hits).collect().to_numpy()
        # the hit (item, rule) pairs by rule, then item (the matrix is stored column by column)
        columns, rows = np.nonzero(hits.T)
        score, forced = self.score_and_forced(hits, rows, columns)
        # one gather of the figures that reasons show
        figures = frame.select("__rule_row", *self._reason_fields)[rows]
        bounds = np.searchsorted(columns, np.arange(len(self.active) + 1))
        reasons = pl.concat(
            [
                figures[bounds[j] : bounds[j + 1]].select("__rule_row", self._reasons[j])
                for j in np.unique(columns)
            ]
            or [pl.DataFrame(schema={"__rule_row": pl.UInt32, "reason": pl.String})]
        )
        reasons = reasons.group_by("__rule_row").agg("reason")  # rule order is kept within a row
        frame = frame.with_columns(
            pl.Series("__score", score),
            pl.Series("__forced", forced).replace_strict(
                dict(enumerate(CHANNELS)), default=None, return_dtype=pl.String
            ),
        ).join(reasons, on="__rule_row", how="left")
        return per_declaration(
            frame,
            pl.col("__score"),
            pl.col("reason").fill_null(pl.lit([], pl.List(pl.String))),
            forced_channel=pl.col("__forced"),
        )


def _log1m(weight: float) -> float:
    return math.log1p(-weight) if weight < 1 else -1e6


def rule_set_from_file(path) -> RuleSet:
    with open(path, encoding="utf-8") as handle:
        return parse_rule_set(handle.read(), str(path))
