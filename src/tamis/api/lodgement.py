"""One declaration in JSON → the canonical flat frame, through the same checks as ingest."""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from typing import Any

import polars as pl
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import Engine

from tamis import audit
from tamis.declarations import DECLARATION_FIELDS, ITEM_FIELDS
from tamis.detectors.base import ItemRows
from tamis.ingest.checks import check_all, with_records
from tamis.ingest.checks.few import plainly_valid
from tamis.ingest.profiles import Profile, load_profile
from tamis.ingest.quarantine import keep
from tamis.ingest.readers import ROW

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
    """A refused lodgement: ``errors`` as FastAPI words them, ``rejected`` the records to
    quarantine (``REJECTED_SCHEMA`` rows), ``status`` the HTTP answer."""

    def __init__(self, errors: list[dict], rejected: list[dict], status: int = 422) -> None:
        super().__init__("; ".join(e["msg"] for e in errors))
        self.errors, self.rejected, self.status = errors, rejected, status


def already_lodged(declaration: BaseModel) -> LodgementError:
    declaration_id = declaration.declaration_id
    detail = f"declaration {declaration_id!r} is already lodged"
    kept = _refusal(
        record_key=declaration_id,
        field="declaration_id",
        value=declaration_id,
        reason="already lodged",
        detail=detail,
        record=json.dumps(declaration.model_dump(mode="json")),
    )
    error = {"loc": ["body", "declaration_id"], "msg": detail, "type": "already lodged"}
    return LodgementError([error], [kept], status=409)


def unreadable(errors: list[dict], body: Any) -> LodgementError:
    """A body that is not a declaration at all (not JSON, a field missing or unknown, a
    list where a value goes): kept whole, with its first error's field."""
    errors = jsonable_encoder(errors)
    first = errors[0]
    fields = [str(part) for part in first["loc"][1:] if not isinstance(part, int)]
    declaration_id = body.get("declaration_id") if isinstance(body, dict) else None
    said = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'body'}: {e['msg']}" for e in errors)
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    as_text = isinstance(body, str)  # not JSON: kept as it came
    kept = _refusal(
        record_key=None if declaration_id is None else str(declaration_id),
        field=fields[-1] if fields else None,
        value=body if as_text else None,
        reason=first["type"].replace("_", " "),
        detail=f"{declaration_id or 'declaration'}: {said}",
        record=None if as_text else json.dumps(body, default=str),
    )
    return LodgementError(errors, [kept])


def refused(engine: Engine, refusal: LodgementError, who: str) -> JSONResponse:
    """Quarantine a refused lodgement, then say why and where it is kept."""
    source_id = f"api:{uuid.uuid4().hex[:16]}"
    with engine.begin() as conn:
        keep(conn, refusal.rejected, source_id, f"POST /api/declarations by {who}", audit.now())
    content = {"detail": refusal.errors, "quarantined": source_id}
    return JSONResponse(status_code=refusal.status, content=content)


def _refusal(**fields) -> dict:
    """A whole lodgement as one quarantined record."""
    return {ROW: 1} | fields


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
        raise LodgementError(errors, with_records(checked.rejected, raw).to_dicts())
    return ItemRows(checked.accepted.rows(named=True), checked.accepted.schema)
