"""Social-media pages, for analysts and administrators only (the source holds people's
posts; ``tamis.social.views`` audits every view): sellers advertising copies, a seller with
its accounts, posts and links to importers with their evidence in words, and the case or
watchlist an analyst opens from it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from tamis.api.auth import TARGETERS
from tamis.api.deps import Offset, Store
from tamis.cases import watchlists
from tamis.social import views
from tamis.social.api import SellerId
from tamis.social.prices import CURRENCY
from tamis.social.tables import social_sellers
from tamis.store.tables import MAX_ID
from tamis.users import User
from tamis.web.i18n import Translator, language_of
from tamis.web.problems import refusal
from tamis.web.render import as_page, check_csrf, render

router = APIRouter(include_in_schema=False)
Analyst = as_page(TARGETERS)
PAGE = 50  # sellers a page
POSTS = 200  # a seller's newest posts shown
LINKED = {"yes": True, "no": False}


def evidence_said(evidence: list[dict], t: Translator) -> list[str]:
    """A link's evidence, a step a line in words, each with its weight."""
    lines = []
    for step in evidence:
        # a photo's value is stored as "case 23"
        value = step["value"].removeprefix("case ") if step["kind"] == "photo" else step["value"]
        words = [t(f"social.evidence.{step['kind']}", value=value, found_in=step.get("found_in"))]
        if step.get("shared_by", 1) > 1:
            words.append(t("social.evidence.shared", count=step["shared_by"]))
        if count := step.get("post_count"):
            words.append(t("social.evidence.posts", count=count))
        lines.append(
            t("social.evidence.weighed", said=", ".join(words), weight=t.number(step["weight"], 1))
        )
    return lines


def _brands(engine) -> list[str]:
    """The brands sellers advertise copies of: the list page's choice."""
    query = select(social_sellers.c.brands).where(social_sellers.c.copy_posts > 0)
    with engine.connect() as conn:
        return sorted({b for listed in conn.execute(query).scalars() for b in json.loads(listed)})


@router.get("/social")
def sellers_page(
    request: Request,
    engine: Store,
    user: Analyst,
    brand: Annotated[str, Query(max_length=128)] = "",
    linked: Annotated[str, Query(max_length=8)] = "",
    offset: Offset = 0,
):
    linked = linked if linked in LINKED else ""
    found = views.list_sellers(
        engine, user.username, brand or None, LINKED.get(linked), True, PAGE, offset
    )

    def at(start: int) -> str:
        return "/social?" + urlencode({"brand": brand, "linked": linked, "offset": start})

    return render(
        request, "social.html", user, sellers=found["sellers"], total=found["total"],
        offset=offset, brands=_brands(engine), brand=brand, linked=linked, currency=CURRENCY,
        previous=at(max(offset - PAGE, 0)) if offset else None,
        next=at(offset + PAGE) if offset + PAGE < found["total"] else None,
    )  # fmt: skip


def _found(take: Callable[[], dict]) -> dict:
    try:
        return take()
    except LookupError as error:  # no such seller (or watchlist)
        raise HTTPException(404, str(error)) from None


def _seller_page(
    request: Request, engine, user: User, seller_id: str, status_code: int = 200,
    problem: str | None = None, watched: watchlists.Watchlist | None = None,
):  # fmt: skip
    found = _found(lambda: views.seller(engine, seller_id, user.username, POSTS))
    t = Translator(language_of(request))
    links = [link | {"said": evidence_said(link["evidence"], t)} for link in found["links"]]
    return render(
        request, "social_seller.html", user, status_code=status_code, s=found, links=links,
        most_posts=POSTS, problem=problem, watched=watched, currency=CURRENCY,
    )  # fmt: skip


@router.get("/social/sellers/{seller_id}")
def seller_page(
    request: Request,
    engine: Store,
    user: Analyst,
    seller_id: SellerId,
    watchlist: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
):
    """The seller; ``watchlist``: the one just opened from it, said on the page."""
    watched = _found(lambda: watchlists.get(engine, watchlist)) if watchlist else None
    return _seller_page(request, engine, user, seller_id, watched=watched)


@router.post("/social/sellers/{seller_id}/case", dependencies=[Depends(check_csrf)])
def case_from_seller(engine: Store, user: Analyst, seller_id: SellerId):
    opened = _found(lambda: views.case_from_seller(engine, seller_id, user.username))
    return RedirectResponse(f"/cases/{opened['case_id']}", 303)


@router.post("/social/sellers/{seller_id}/watchlist", dependencies=[Depends(check_csrf)])
def watchlist_from_seller(request: Request, engine: Store, user: Analyst, seller_id: SellerId):
    try:
        made = _found(lambda: views.watchlist_from_seller(engine, seller_id, user.username))
    except ValueError as error:  # linked to no importer
        problem = refusal(error, Translator(language_of(request)))
        return _seller_page(request, engine, user, seller_id, 409, problem=problem)
    request.app.state.assessor = None  # the next lodgement is checked against the new list
    return RedirectResponse(f"/social/sellers/{seller_id}?watchlist={made['watchlist_id']}", 303)
