"""Mapping profiles: which source column feeds which canonical field, and how to convert it.

A profile is a small YAML file. Shipped profiles live in ``tamis/profiles/``; any other
path to a YAML file works too. See ``docs/profiles.md`` for the format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from tamis.declarations import FIELDS, OUTCOME_FIELDS, Field

SHIPPED = Path(__file__).resolve().parent.parent / "profiles"
OUTCOME_NAMES = {f.name for f in OUTCOME_FIELDS}
DECLARATIONS = "declarations"


class ProfileError(ValueError):
    """A profile that cannot be used, with the file and key that are wrong."""


@dataclass(frozen=True)
class FieldMap:
    """How one canonical field is read from a source record."""

    name: str
    columns: tuple[str, ...] = ()  # first one present in the source wins
    value: Any = None  # constant, when no column feeds the field
    formats: tuple[str, ...] = ()  # date-time formats, tried in order
    decimal: str = "."
    thousands: str = ""
    scale: float | None = None  # multiply a number, e.g. 100 for a rate given as 0.05
    mapping: dict[str, str] = field(default_factory=dict)  # source code -> canonical code
    pad_to: int | None = None  # left-pad digit codes whose leading zeros a source lost


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    fields: dict[str, FieldMap]
    outcomes: dict[str, FieldMap]
    format: str | None = None  # csv, parquet, jsonl; default from the file extension
    delimiter: str = ","
    encoding: str = "utf-8"
    national_currency: str | None = None
    record: str = DECLARATIONS  # what the file holds: declarations or another source
    strict: bool = False  # refuse a record holding a field the profile does not read (posts)


def _field_map(name: str, spec: Any, where: str) -> FieldMap:
    if isinstance(spec, str):
        return FieldMap(name, columns=(spec,))
    if not isinstance(spec, dict):
        raise ProfileError(f"{where}: field {name!r} must be a column name or a mapping")
    unknown = set(spec) - {
        "column",
        "value",
        "formats",
        "format",
        "decimal",
        "thousands",
        "scale",
        "map",
        "pad_to",
    }
    if unknown:
        raise ProfileError(f"{where}: field {name!r} has unknown keys {sorted(unknown)}")
    columns = spec.get("column", ())
    columns = (columns,) if isinstance(columns, str) else tuple(columns)
    if not columns and "value" not in spec:
        raise ProfileError(f"{where}: field {name!r} needs 'column' or 'value'")
    formats = spec.get("formats", spec.get("format", ()))
    return FieldMap(
        name=name,
        columns=columns,
        value=spec.get("value"),
        formats=(formats,) if isinstance(formats, str) else tuple(formats),
        decimal=str(spec.get("decimal", ".")),
        thousands=str(spec.get("thousands", "")),
        scale=spec.get("scale"),
        mapping={str(k): str(v) for k, v in (spec.get("map") or {}).items()},
        pad_to=spec.get("pad_to"),
    )


def load_profile(
    name_or_path: str | Path, record: str = DECLARATIONS, schema: Sequence[Field] = FIELDS
) -> Profile:
    """A shipped profile by name (``kcs``, ``canonical``) or a YAML file by path, mapping
    the fields of ``schema``: those of a ``record`` (declarations unless said otherwise)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SHIPPED / f"{name_or_path}.yaml"
    if path.is_file():
        return _load(path.resolve(), path.stat().st_mtime_ns, record, tuple(schema))
    shipped = ", ".join(sorted(p.stem for p in SHIPPED.glob("*.yaml")))
    raise ProfileError(f"no profile {str(name_or_path)!r}: shipped profiles are {shipped}")


@lru_cache(maxsize=64)
def _load(path: Path, _mtime: int, record: str, schema: tuple[Field, ...]) -> Profile:
    """Parsed once per file version: lodgement reads the same profile on every request."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    where = str(path)
    if raw.get("record", DECLARATIONS) != record:
        raise ProfileError(
            f"{where}: a profile for {raw.get('record', DECLARATIONS)}, not for {record}"
        )
    by_name = {f.name: f for f in schema}
    fields = raw.get("fields") or {}
    unknown = set(fields) - set(by_name)
    if unknown:
        raise ProfileError(f"{where}: unknown canonical fields {sorted(unknown)}")
    missing = [f.name for f in schema if f.required and f.name not in fields]
    if missing:
        raise ProfileError(f"{where}: required fields not mapped: {missing}")
    outcomes = raw.get("outcomes") or {}
    if set(outcomes) - OUTCOME_NAMES:
        raise ProfileError(
            f"{where}: unknown outcome fields {sorted(set(outcomes) - OUTCOME_NAMES)}"
        )
    if outcomes and not {"result", "inspected_at"} <= set(outcomes):
        raise ProfileError(f"{where}: outcomes need at least 'result' and 'inspected_at'")
    source = raw.get("source") or {}
    return Profile(
        name=str(raw.get("name", path.stem)),
        path=path,
        fields={n: _field_map(n, s, where) for n, s in fields.items()},
        outcomes={n: _field_map(n, s, where + " outcomes") for n, s in outcomes.items()},
        format=source.get("format"),
        delimiter=str(source.get("delimiter", ",")),
        encoding=str(source.get("encoding", "utf-8")),
        national_currency=raw.get("national_currency"),
        record=record,
        strict=bool(source.get("strict", False)),
    )
