"""The declaration page: its data, channel, score, every reason, the model's feature
contributions, each item's value reference with the declared price marked, the importer's
history (with, for analysts, the social-media sellers linked to it), its cases and what
their inspections corrected, and its trade documents with the forms that add one, ask the
declarant for one and release or inspect at a distance."""

from __future__ import annotations

import hashlib
from typing import Annotated
from urllib.parse import quote

import polars as pl
from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from tamis.api.auth import FIELD, READERS, TARGETERS
from tamis.api.deps import Store
from tamis.assess import current_channel, latest_decision
from tamis.cases import cases
from tamis.cases.results import corrections
from tamis.documents import records
from tamis.importers import importer_history
from tamis.learn.model import contributions
from tamis.scoreboard.figures import latest_declarations
from tamis.store.files import UPLOAD_BODY_BYTES
from tamis.store.read import read_items
from tamis.valuation import database
from tamis.valuation import reference as ref
from tamis.valuation.report import reference_report
from tamis.web import charts
from tamis.web.documents import documents_of, due_at
from tamis.web.i18n import Translator, language_of
from tamis.web.importer import linked_sellers
from tamis.web.problems import refusal
from tamis.web.render import as_page, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)
Officer = as_page(FIELD)
DeclarationId = Annotated[str, Path(min_length=1, max_length=64)]
Short = Annotated[str, Form(max_length=256)]


def _references(engine, items: pl.DataFrame) -> dict[int, dict]:
    """item number -> the value report for its declared unit value (tariff unit first)."""
    refs = database.current_references(engine)
    if refs.is_empty() or items.is_empty():
        return {}
    declared = (
        ref.unit_values(items, ["item_number", "hs_code", "origin_country"])
        .collect()
        .sort("item_number", pl.col("basis") == "KG")
    )
    reports = {}
    for row in declared.iter_rows(named=True):
        if row["item_number"] in reports:
            continue
        report = reference_report(
            refs, row["hs_code"], row["origin_country"], row["basis"], row["uv"]
        )
        if report is not None:
            reports[row["item_number"]] = report
    return reports


def _declaration(engine, declaration_id: str) -> tuple[dict, pl.DataFrame]:
    decision = latest_decision(engine, declaration_id)
    items = read_items(engine, declaration_id=declaration_id)
    if decision is None and items.is_empty():
        raise HTTPException(404, f"no declaration {declaration_id!r}")
    return decision, items


@router.get("/declarations/{declaration_id}")
def declaration_page(request: Request, engine: Store, user: Reader, declaration_id: str):
    return _page(request, engine, user, declaration_id)


def _page(request: Request, engine, user, declaration_id: str, status_code: int = 200, **said):
    """The page; ``said``: the documents form that failed, what was typed and why."""
    decision, items = _declaration(engine, declaration_id)
    t = Translator(language_of(request))
    signals = decision["signals"] if decision else {}
    model = signals.get("model") or {}
    # each feature said in the page's language (older decisions: as their words were stored)
    contributed = contributions(model.get("reasons") or [], t.language)
    header = items.row(0, named=True) if items.height else {}
    return render(
        request,
        "declaration.html",
        user,
        status_code=status_code,
        declaration_id=declaration_id,
        decision=decision,
        channel=current_channel(engine, decision) if decision else None,
        header=header,
        items=items.to_dicts(),
        signals=signals,
        detectors_chart=charts.horizontal_bars(
            [(t.detector(n), s.get("score") or 0.0) for n, s in signals.items()],
            t("declaration.detectors"),
            lambda v: t.number(v, 2),
            colour=lambda v: charts.COLOURS["bar"],
        ),
        contributions_chart=charts.horizontal_bars(
            contributed, t("declaration.contributions"), lambda v: t.signed(v, 2)
        )
        if contributed
        else None,
        references=_references(engine, items),
        importer=importer_history(engine, header["importer_id"]) if header else None,
        latest=latest_declarations(engine, header["importer_id"]) if header else [],
        sellers=linked_sellers(engine, user, header.get("importer_id"), t),
        TARGETERS=TARGETERS,
        documents=documents_of(engine, declaration_id, header.get("importer_id")),
        FIELD=FIELD,
        **_cases_and_corrections(engine, declaration_id),
        failed=said.get("failed"),
        problem=said.get("problem"),
        form=said.get("form", {}),
    )


def _cases_and_corrections(engine, declaration_id: str) -> dict:
    """The declaration's cases and what their inspections corrected."""
    with engine.connect() as conn:
        return {
            "declaration_cases": cases.of_declaration(conn, declaration_id),
            "corrections": corrections(conn, declaration_id),
        }


def _then_back(request: Request, engine, user, declaration_id: str, step: str, form: dict, take):
    """A documents form from the page: back to it, or the page again saying why not."""
    try:
        take()
    except records.DocumentError as error:
        problem = refusal(error, Translator(language_of(request)))
        said = {"failed": step, "form": form, "problem": problem}
        return _page(request, engine, user, declaration_id, 409, **said)
    except ValueError as error:  # a due time that is not one
        problem = refusal(error, Translator(language_of(request)))
        said = {"failed": step, "form": form, "problem": problem}
        return _page(request, engine, user, declaration_id, 422, **said)
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    return RedirectResponse(f"/declarations/{quote(declaration_id, safe='')}#documents", 303)


@router.post(
    "/declarations/{declaration_id}/documents",
    dependencies=[Depends(check_csrf)],
    max_body_size=UPLOAD_BODY_BYTES,
)
def upload(
    request: Request, engine: Store, user: Officer, declaration_id: DeclarationId,
    file: UploadFile, doc_type: Short = "", issuer: Short = "", item_numbers: Short = "",
):  # fmt: skip
    form = {"doc_type": doc_type, "issuer": issuer, "item_numbers": item_numbers}
    return _then_back(
        request, engine, user, declaration_id, "upload", form,
        lambda: records.add_document(
            engine, declaration_id, doc_type, issuer, file.filename or doc_type,
            file.content_type or "application/octet-stream", file.file, user.username,
            item_numbers or None,
        ),
    )  # fmt: skip


@router.post("/declarations/{declaration_id}/document-requests", dependencies=[Depends(check_csrf)])
def ask(
    request: Request, engine: Store, user: Officer, declaration_id: DeclarationId,
    doc_type: Short = "", due: Short = "", note: Annotated[str, Form(max_length=2000)] = "",
):  # fmt: skip
    form = {"doc_type": doc_type, "due": due, "note": note}
    return _then_back(
        request, engine, user, declaration_id, "request", form,
        lambda: records.request_document(
            engine, declaration_id, doc_type, user.username, due_at(due), note or None
        ),
    )  # fmt: skip


@router.post("/declarations/{declaration_id}/remote-decision", dependencies=[Depends(check_csrf)])
def decide(
    request: Request, engine: Store, user: Officer, declaration_id: DeclarationId,
    decision: Short = "", note: Annotated[str, Form(max_length=2000)] = "",
):  # fmt: skip
    return _then_back(
        request, engine, user, declaration_id, "decision", {"note": note},
        lambda: records.decide_remotely(
            engine, declaration_id, decision, user.username, note or None
        ),
    )  # fmt: skip


def _item_report(engine, declaration_id: str, item_number: int) -> dict:
    """The value report of the declaration's item; 404 when it has no reference."""
    _, items = _declaration(engine, declaration_id)
    item = items.filter(pl.col("item_number") == item_number)
    report = _references(engine, item).get(item_number)
    if report is None:
        raise HTTPException(404, f"no value reference for item {item_number}")
    return report


def _kept_by_browser(request: Request, body: bytes, media_type: str) -> Response:
    """``body``, kept by the browser for an hour or until it changes (ETag)."""
    etag = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=3600",
        "Vary": "Cookie, Accept-Language",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/declarations/{declaration_id}/items/{item_number}/reference.svg")
def reference_svg(
    request: Request, engine: Store, user: Reader, declaration_id: str, item_number: int
):
    """The item's value chart in the page's language, drawn from its reference's data."""
    report = _item_report(engine, declaration_id, item_number)
    svg = database.svg_chart(engine, report, Translator(language_of(request)))
    return _kept_by_browser(request, str(svg).encode(), "image/svg+xml")


@router.get("/declarations/{declaration_id}/items/{item_number}/reference.png")
def reference_chart(
    request: Request, engine: Store, user: Reader, declaration_id: str, item_number: int
):
    """The same chart drawn by matplotlib, for addresses kept from before the SVG; drawn
    once and kept (the store's ``database.chart``)."""
    report = _item_report(engine, declaration_id, item_number)
    png = database.chart(engine, report, Translator(language_of(request)))
    return _kept_by_browser(request, png, "image/png")
