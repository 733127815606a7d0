"""One declaration in JSON → the canonical flat frame, through the same checks as ingest."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, create_model

from tamis.declarations import DECLARATION_FIELDS, ITEM_FIELDS
from tamis.detectors.base import ItemRows
from tamis.ingest.profiles import Profile, load_profile
from tamis.ingest.quick_check import plainly_valid
from tamis.ingest.readers import ROW
from tamis.ingest.validate import check_all

Scalar = str | int | float | None

_EXAMPLES = {
    "declaration_id": "D2025-0000001",
    "lodged_at": "2025-03-01T10:00:00",
    "office": "CASA-PORT",
    "importer_id": "IMP000123",
    "item_number": 1,
    "hs_code": "6403990000",
    "origin_country": "CN",
    "customs_value": "12500.00",
}


def _model(name: str, fields, extra: dict[str, Any] | None = None) -> type[BaseModel]:
    spec = {
        f.name: (
            Scalar,
            Field(
                ... if f.required else None,
                description=f.wco,
                examples=[_EXAMPLES[f.name]] if f.name in _EXAMPLES else None,
            ),
        )
        for f in fields
    }
    return create_model(name, __config__=ConfigDict(extra="forbid"), **spec, **(extra or {}))


ItemIn = _model("ItemIn", ITEM_FIELDS)
DeclarationIn = _model(
    "DeclarationIn",
    DECLARATION_FIELDS,
    {"items": (list[ItemIn], Field(min_length=1, max_length=999))},
)


class LodgementError(ValueError):
    def __init__(self, errors: list[dict]) -> None:
        super().__init__("; ".join(e["msg"] for e in errors))
        self.errors = errors


@lru_cache(maxsize=1)
def canonical() -> Profile:
    return load_profile("canonical")


def to_items(declaration: BaseModel) -> ItemRows:
    """Checked canonical items of one declaration, or LodgementError naming each field."""
    header = declaration.model_dump(exclude={"items"})
    names = [f.name for f in (*DECLARATION_FIELDS, *ITEM_FIELDS)]
    records = [
        {k: None if v is None else str(v) for k, v in (header | item.model_dump()).items()}
        | {ROW: n}
        for n, item in enumerate(declaration.items, start=1)
    ]
    profile = canonical()
    if (plain := plainly_valid(records, names, profile)) is not None:
        return ItemRows(*plain)
    raw = pl.DataFrame(records, schema={**{n: pl.String for n in names}, ROW: pl.Int64})
    checked = check_all(raw, profile)
    if checked.rejected.height:
        header_names = {f.name for f in DECLARATION_FIELDS}
        errors = [
            {
                "loc": ["body", r["field"]]
                if r["field"] in header_names
                else ["body", "items", r[ROW] - 1, r["field"]],
                "msg": r["detail"],
                "type": r["reason"],
            }
            for r in checked.rejected.iter_rows(named=True)
        ]
        raise LodgementError(errors)
    return ItemRows(checked.accepted.rows(named=True), checked.accepted.schema)
