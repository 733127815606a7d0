"""The schedule of offence classes (``profiles/offences.yaml``, or the file
``TAMIS_OFFENCE_SCHEDULE`` names) and the penalty arithmetic, in Decimal.

A schedule has versions, each in force from its ``valid_from``: an offence is computed with
the version in force on the day of its facts, and the version is recorded with it so that
its penalty can be computed again (``tamis.offences.records.replay``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tamis.declarations import FraudType
from tamis.settings import settings

SHIPPED = Path(__file__).parent.parent / "profiles" / "offences.yaml"
Amount = Decimal


class ScheduleError(ValueError):
    """A schedule that cannot be used, naming the file, the version and the class."""


class Base(StrEnum):
    DUTIES = "duties"  # duties and taxes evaded
    GOODS_VALUE = "goods_value"
    FIXED = "fixed"  # the penalty is ``amount``


class Penalty(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base: Base
    multiple: Amount | None = Field(None, gt=0)
    amount: Amount | None = Field(None, gt=0)
    minimum: Amount = Field(Decimal(0), ge=0)
    maximum: Amount | None = Field(None, gt=0)
    confiscation: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.base is Base.FIXED and (self.amount is None or self.multiple is not None):
            raise ValueError("a fixed penalty gives its amount, and no multiple")
        if self.base is not Base.FIXED and (self.multiple is None or self.amount is not None):
            raise ValueError(f"a penalty on the {self.base} gives its multiple, and no amount")
        if self.maximum is not None and self.maximum < self.minimum:
            raise ValueError(f"maximum {self.maximum} is below minimum {self.minimum}")
        return self


class OffenceClass(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str = Field(min_length=1, max_length=32)
    label: dict[str, str]
    fraud_types: list[FraudType] = []  # inspection findings classified here by default
    duties_from: Amount | None = Field(None, ge=0)  # ... when the duties evaded are within
    duties_below: Amount | None = Field(None, gt=0)
    penalty: Penalty
    settlement_min_share: Amount = Field(Decimal(1), ge=0, le=1)
    limitation_years: int = Field(ge=1, le=50)
    severity: int = Field(1, ge=1, le=10)

    @model_validator(mode="after")
    def _range(self) -> Self:
        low, high = self.duties_from, self.duties_below
        if low is not None and high is not None and high <= low:
            raise ValueError(f"duties_below {high} is not above duties_from {low}")
        return self

    def covers(self, fraud_type: str, duties: Decimal) -> bool:
        return (
            fraud_type in self.fraud_types
            and (self.duties_from is None or duties >= self.duties_from)
            and (self.duties_below is None or duties < self.duties_below)
        )

    def name(self, language: str) -> str:
        return self.label.get(language) or self.label.get("en") or self.code


class Repeat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window_years: int = Field(5, ge=1, le=50)
    aggravation: Amount = Field(Decimal(2), ge=1)


class Version(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1, max_length=64)
    valid_from: date
    round_to: Amount = Field(Decimal(1), gt=0)
    repeat: Repeat = Repeat()
    limitation_warning_days: int = Field(90, ge=0, le=3650)
    classes: list[OffenceClass] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_overlap(self) -> Self:
        codes = [c.code for c in self.classes]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"class {twice[0]} is given twice")
        for i, one in enumerate(self.classes):
            for other in self.classes[i + 1 :]:
                for fraud_type in set(one.fraud_types) & set(other.fraud_types):
                    if _ranges_meet(one, other):
                        raise ValueError(
                            f"classes {one.code} and {other.code} overlap: both cover "
                            f"fraud type {fraud_type.value} for the same duties evaded"
                        )
        return self

    def offence_class(self, code: str) -> OffenceClass:
        for c in self.classes:
            if c.code == code:
                return c
        raise ScheduleError(
            f"class {code!r} is not in schedule version {self.version}: "
            f"expected one of {', '.join(c.code for c in self.classes)}"
        )

    def classify(self, fraud_type: str, duties: Decimal) -> OffenceClass:
        """The class that covers an inspection's fraud type and the duties evaded."""
        for c in self.classes:
            if c.covers(fraud_type, duties):
                return c
        raise ScheduleError(
            f"no class of schedule version {self.version} covers fraud type {fraud_type!r} "
            f"with {duties} of duties evaded: give the class"
        )

    def as_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


def _ranges_meet(one: OffenceClass, other: OffenceClass) -> bool:
    low = max(one.duties_from or Decimal(0), other.duties_from or Decimal(0))
    highs = [h for h in (one.duties_below, other.duties_below) if h is not None]
    return not highs or low < min(highs)


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    versions: list[Version] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        for key in ("version", "valid_from"):
            said = [getattr(v, key) for v in self.versions]
            twice = sorted({str(s) for s in said if said.count(s) > 1})
            if twice:
                raise ValueError(f"two versions have the same {key} {twice[0]}")
        self.versions.sort(key=lambda v: v.valid_from)
        return self

    def on(self, day: date) -> Version:
        """The version in force on ``day``."""
        in_force = [v for v in self.versions if v.valid_from <= day]
        if not in_force:
            first = self.versions[0].valid_from
            raise ScheduleError(f"no schedule version is in force on {day} (the first, {first})")
        return in_force[-1]

    def version(self, name: str) -> Version:
        for v in self.versions:
            if v.version == name:
                return v
        raise ScheduleError(f"no schedule version {name!r}")


def read_schedule(path: Path) -> Schedule:
    if not path.is_file():
        raise ScheduleError(f"{path}: no such schedule file")
    return _read(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _read(path: Path, _mtime: int) -> Schedule:
    try:
        return Schedule.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, ValidationError) as error:
        raise ScheduleError(f"{path}: {error}") from error


def schedule() -> Schedule:
    """The schedule in force (read again when the file or ``TAMIS_OFFENCE_SCHEDULE`` changes)."""
    return read_schedule(Path(settings().offence_schedule or SHIPPED))


def version_from_json(text: str) -> Version:
    return Version.model_validate_json(text)


@dataclass(frozen=True)
class Computed:
    """A penalty and how it was reached, each step in the schedule's terms."""

    amount: Decimal
    base: Decimal
    raw: Decimal
    minimum: Decimal
    maximum: Decimal | None
    aggravation: Decimal
    bound: str | None  # "minimum" or "maximum" when a bound decided the amount
    confiscation: bool

    def as_dict(self) -> dict:
        return {k: None if v is None else str(v) if isinstance(v, Decimal) else v
                for k, v in self.__dict__.items()}  # fmt: skip


def penalty(
    version: Version,
    offence_class: OffenceClass,
    duties: Decimal,
    goods_value: Decimal,
    repeat: bool,
) -> Computed:
    """The penalty of an offence of ``offence_class`` (``repeat``: its party offended before
    within the version's window)."""
    rule = offence_class.penalty
    base = {Base.DUTIES: duties, Base.GOODS_VALUE: goods_value, Base.FIXED: Decimal(1)}[rule.base]
    times = rule.amount if rule.base is Base.FIXED else rule.multiple
    aggravation = version.repeat.aggravation if repeat else Decimal(1)
    raw = base * times * aggravation
    low = rule.minimum * aggravation
    high = None if rule.maximum is None else rule.maximum * aggravation
    bound, amount = None, raw
    if amount < low:
        bound, amount = "minimum", low
    elif high is not None and amount > high:
        bound, amount = "maximum", high
    step = version.round_to
    rounded = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
    return Computed(rounded, base, raw, low, high, aggravation, bound, rule.confiscation)


def settlement_bounds(
    offence_class: OffenceClass, penalty_amount: Decimal
) -> tuple[Decimal, Decimal]:
    """What a settlement (transaction) may be: from the class's share of the penalty to it."""
    low = (penalty_amount * offence_class.settlement_min_share).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return low, penalty_amount
