"""The declarations list, the case queue and the search box: filters held in the URL (a
view can be bookmarked and shared), sorting, pages with their total, and export of every
selected row as CSV or Excel. The queries are ``tamis.listing``'s; this module reads the
filters from the URL, writes the pages and names the export's columns."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import select

from tamis.api.auth import READERS
from tamis.api.deps import Store
from tamis.cases.cases import Status
from tamis.channels import CHANNELS
from tamis.detectors.registry import BY_NAME
from tamis.listing import cases as case_list
from tamis.listing import declarations as declaration_list
from tamis.listing.page import MAX_PAGE_SIZE, PAGE_SIZE
from tamis.listing.search import search
from tamis.store.tables import scoreboard_days
from tamis.web.export import exported
from tamis.web.i18n import Translator, language_of
from tamis.web.render import as_page, render

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)
Code = Annotated[str | None, Field(max_length=64)]
Channel = Literal["green", "blue", "yellow", "orange", "red"]
LAST_PAGE = 1_000_000  # beyond it a page number is a mistake, not a place in a list
ANY_STATUS = "any"
CASE_ORIGINS = ("decision", "watchlist", "analyst")


class ListQuery(BaseModel):
    """What every list reads from its URL besides its filters. An empty field of the GET
    form is no filter; codes are compared upper-cased, as they are stored."""

    order: Literal["asc", "desc"] = "desc"
    page: int = Field(1, ge=1, le=LAST_PAGE)
    size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    export: Literal["csv", "xlsx"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_no_filter(cls, given):
        if not isinstance(given, dict):
            return given
        return {k: v.strip() for k, v in given.items() if isinstance(v, str) and v.strip()}

    @field_validator("office", "importer", "declarant", check_fields=False)
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    def kept(self) -> dict[str, str]:
        """The URL's parameters for this same view (no export)."""
        values = self.model_dump(
            by_alias=True, exclude_none=True, exclude_defaults=True, mode="json"
        )
        values.pop("export", None)
        return {k: str(v) for k, v in values.items()}


class DeclarationsQuery(ListQuery):
    id: Code = None  # a link of old: /declarations?id=X opens that declaration
    office: Code = None
    channel: Channel | None = None
    lodged_from: date | None = Field(None, alias="from")
    lodged_to: date | None = Field(None, alias="to")
    importer: Code = None
    declarant: Code = None
    hs: str | None = Field(None, pattern=r"^\d{2,10}$")
    detector: str | None = Field(None, max_length=64)
    score_min: float | None = Field(None, ge=0, le=1)
    score_max: float | None = Field(None, ge=0, le=1)
    sort: Literal[tuple(declaration_list.SORTS)] = "lodged"  # type: ignore[valid-type]

    @field_validator("detector")
    @classmethod
    def _known_detector(cls, value: str | None) -> str | None:
        if value is not None and value not in BY_NAME:
            raise ValueError(f"no detector {value!r}; one of {', '.join(sorted(BY_NAME))}")
        return value

    def filters(self) -> declaration_list.DeclarationFilters:
        fields = declaration_list.DeclarationFilters.__dataclass_fields__
        return declaration_list.DeclarationFilters(**{f: getattr(self, f) for f in fields})


class CasesQuery(ListQuery):
    office: Code = None
    status: Literal[tuple(s.value for s in Status) + (ANY_STATUS,)] = Status.OPEN.value  # type: ignore[valid-type]
    assignee: Code = None
    mine: bool = False
    channel: Channel | None = None
    opened_from: date | None = Field(None, alias="from")
    opened_to: date | None = Field(None, alias="to")
    importer: Code = None
    hs: str | None = Field(None, pattern=r"^\d{2,10}$")
    origin: Literal[CASE_ORIGINS] | None = None  # type: ignore[valid-type]
    sort: Literal[tuple(case_list.SORTS)] = "score"  # type: ignore[valid-type]

    def filters(self, username: str) -> case_list.CaseFilters:
        return case_list.CaseFilters(
            office=self.office,
            status=None if self.status == ANY_STATUS else self.status,
            assignee=username if self.mine else self.assignee,
            channel=self.channel,
            opened_from=self.opened_from,
            opened_to=self.opened_to,
            importer=self.importer,
            hs=self.hs,
            origin=self.origin,
        )


def _offices(engine) -> list[str]:
    """Offices with assessed declarations (read from the scoreboard's small sums)."""
    offices = select(scoreboard_days.c.office).distinct().order_by(scoreboard_days.c.office)
    with engine.connect() as conn:
        return list(conn.execute(offices).scalars())


def _linker(path: str, query: ListQuery):
    """``link(**changes)``: this view's URL with some parameters changed (None drops one);
    a new sort or filter starts again on page 1."""

    def link(**changes) -> str:
        params = query.kept()
        if changes.keys() - {"page"}:
            params.pop("page", None)
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = str(value)
        return f"{path}?{urlencode(params)}" if params else path

    return link


def _export(t: Translator, name: str, fmt: str, columns, rows):
    """The rows as a file whose header is in the page's language; channels and statuses
    named as the page names them."""
    said = {"channel": lambda v: t(f"channel.{v}"), "status": lambda v: t(f"status.{v}")}

    def cells(row: dict) -> list:
        return [said[c](row[c]) if c in said and row[c] is not None else row[c] for c in columns]

    return exported(name, fmt, [t(f"lists.column.{c}") for c in columns], map(cells, rows))


@router.get("/declarations")
def declarations_page(
    request: Request, engine: Store, user: Reader, query: Annotated[DeclarationsQuery, Query()]
):
    if query.id:
        return RedirectResponse(f"/declarations/{quote(query.id.upper(), safe='')}", 303)
    filters, descending = query.filters(), query.order == "desc"
    if query.export:
        rows = declaration_list.all_declarations(engine, filters, query.sort, descending)
        t = Translator(language_of(request))
        return _export(t, "declarations", query.export, declaration_list.EXPORTED, rows)
    found = declaration_list.declarations_page(
        engine, filters, query.sort, descending, query.page, query.size
    )
    return render(
        request, "declarations.html", user, found=found, query=query,
        link=_linker("/declarations", query), offices=_offices(engine), channels=CHANNELS,
        detectors=sorted(BY_NAME), today=date.today(),
    )  # fmt: skip


@router.get("/cases")
def queue_page(
    request: Request, engine: Store, user: Reader, query: Annotated[CasesQuery, Query()]
):
    filters, descending = query.filters(user.username), query.order == "desc"
    if query.export:
        rows = case_list.all_cases(engine, filters, query.sort, descending)
        t = Translator(language_of(request))
        return _export(t, "cases", query.export, case_list.EXPORTED, rows)
    found = case_list.cases_page(engine, filters, query.sort, descending, query.page, query.size)
    return render(
        request, "cases.html", user, found=found, query=query, link=_linker("/cases", query),
        offices=_offices(engine), channels=CHANNELS, statuses=[s.value for s in Status],
        origins=CASE_ORIGINS, today=date.today(),
    )  # fmt: skip


@router.get("/search")
def search_page(
    request: Request, engine: Store, user: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
):  # fmt: skip
    found = search(engine, q)
    target = {
        "declaration": lambda key: f"/declarations/{quote(key, safe='')}",
        "case": lambda key: f"/cases/{key}",
        "importer": lambda key: f"/importers/{quote(key, safe='')}",
        "hs": lambda key: f"/declarations?{urlencode({'hs': key})}",
    }.get(found.kind)
    if target:
        return RedirectResponse(target(found.key), 303)
    return render(request, "search.html", user, found=found, q=q)
