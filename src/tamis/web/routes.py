"""The dashboard's pages, served by the API's FastAPI app outside ``/api``.

Pages use the API's session cookie and role groups: not logged in redirects to the login
page, a role not allowed gets 403 (and the page's link is not shown to it).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import (
    http_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tamis import users
from tamis.api.auth import (
    EVERYONE,
    READERS,
    checked_login,
    session_token,
    set_session_cookie,
)
from tamis.api.deps import Store
from tamis.offences import reporting as offence_reporting
from tamis.scoreboard.figures import Period, choices, scoreboard
from tamis.settings import settings
from tamis.users import User
from tamis.web import (
    admin,
    cases,
    charts,
    declaration,
    importer,
    learning,
    lists,
    offences,
    problems,
    rules,
    social,
    transit,
)
from tamis.web.i18n import COOKIE as LANGUAGE_COOKIE
from tamis.web.i18n import LANGUAGES, Translator, language_of
from tamis.web.nav import NAV
from tamis.web.render import as_page, check_csrf, render

STATIC = Path(__file__).parent / "static"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
# Pages of the app itself that are not the dashboard's (the API's own documentation).
NOT_DASHBOARD = ("/api/", "/docs", "/redoc", "/openapi.json", "/health")
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
)

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)
Anyone = as_page(EVERYONE)


def local(target: str | None) -> str:
    """A redirect target on this site only (no scheme, no host), else the home page."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def _optional_user(request: Request) -> User | None:
    token = session_token(request, None)
    return users.user_for_token(request.app.state.engine, token) if token else None


@router.get("/")
def home(request: Request, user: Anyone):
    for href, _, group in NAV:
        if user.role in group.roles:
            return RedirectResponse(href, 303)
    return render(request, "home.html", user)


@router.get("/login")
def login_page(request: Request, next: str = "/"):
    if _optional_user(request):
        return RedirectResponse(local(next), 303)
    return render(request, "login.html", next=local(next))


@router.post("/login")
def login(
    request: Request,
    engine: Store,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/",
):
    try:
        user = checked_login(request, engine, username, password)
    except HTTPException as refused:  # too many failures
        page = render(request, "login.html", status_code=refused.status_code,
                      next=local(next), throttled=True, username=username)  # fmt: skip
        page.headers.update(refused.headers or {})
        return page
    if user is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=local(next),
            failed=True,
            username=username,
        )
    token, _ = users.open_session(engine, user)
    response = RedirectResponse(local(next), 303)
    set_session_cookie(response, request, token)
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, engine: Store, user: Anyone):
    users.close_session(engine, session_token(request, None), user)
    response = RedirectResponse("/login", 303)
    response.delete_cookie("tamis_session")
    return response


@router.get("/lang/{language}")
def choose_language(language: str, next: str = "/"):
    response = RedirectResponse(local(next), 303)
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="strict", httponly=True
        )
    return response


@router.get("/scoreboard")
def scoreboard_page(
    request: Request,
    engine: Store,
    user: Reader,
    office: str | None = None,
    first: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
    last: Annotated[str | None, Query(alias="to", pattern=MONTH)] = None,
):
    offered = choices(engine)
    default = offered["default"]
    first = first or (default.first if default else None)
    last = last or (default.last if default else None)
    board, offence_figures, period = None, [], None
    if first and last:
        period = Period(*sorted((first, last)))
        board = scoreboard(engine, period, office or None)
        offence_figures = offence_reporting.figures(
            engine, office or None, period.first, period.last
        )
    t = Translator(language_of(request))
    drawn = _scoreboard_charts(board, t) if board else {}
    if offence_figures:
        drawn["collected"] = _collected_chart(offence_figures, t)
    return render(
        request,
        "scoreboard.html",
        user,
        board=board,
        offence_figures=offence_figures,
        offered=offered,
        office=office or "",
        first=first,
        last=last,
        charts=drawn,
        listed=lambda **filters: declarations_listed(period, office, **filters),
        currency=settings().national_currency,
    )


def declarations_listed(period: Period, office: str | None, /, **filters: str) -> str:
    """The declarations list showing what a scoreboard row counts: lodged in ``period``
    (its days, both included), at ``office`` when one is chosen, with ``filters`` (a row's
    own office among them)."""
    scope = {"office": office} if office else {}
    scope |= {"from": f"{period.start}", "to": f"{period.end - timedelta(days=1)}"}
    return f"/declarations?{urlencode(scope | filters)}"


def _collected_chart(rows: list[dict], t: Translator):
    """What offences' payments brought in, per month (and currency), over the offices."""
    collected: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["month"], row["currency"])
        collected[key] = collected.get(key, 0) + row["collected_minor"]
    return charts.horizontal_bars(
        [(f"{t.month(month)} ({currency})", minor / 100)
         for (month, currency), minor in sorted(collected.items())],
        t("scoreboard.offences.collected_per_month"),
        t.number,
        lambda v: charts.COLOURS["bar"],
    )  # fmt: skip


def _scoreboard_charts(board: dict, t: Translator) -> dict:
    """The scoreboard's charts in the page's language; a chart with nothing to draw is None
    (the page says there is no data instead of showing an empty frame)."""
    over_time = board["over_time"]
    buckets = sorted(set(over_time["bucket"]))
    labels = [t.day(b) if board["bucket"] == "week" else t.month(b) for b in buckets]
    series = {}
    for channel in ("green", "blue", "yellow", "orange", "red"):
        counts = dict(
            over_time.filter(over_time["channel"] == channel)
            .select("bucket", "declarations")
            .iter_rows()
        )
        if counts:
            series[channel] = [counts.get(b, 0) for b in buckets]
    names = {c: t(f"channel.{c}") for c in series}

    def hit_rates(rows: list[dict], key: str, label) -> Markup | None:
        rates = [(label(r[key]), r["hit_rate"]) for r in rows if r["hit_rate"] is not None]
        if not rates:
            return None
        return charts.horizontal_bars(
            rates, t("scoreboard.hit_rate"), t.percent, lambda v: charts.COLOURS["bar"]
        )

    title = t("scoreboard.over_time", bucket=t(f"scoreboard.{board['bucket']}"))
    return {
        "over_time": charts.stacked_bars(labels, series, title, names, t.number)
        if buckets
        else None,
        "channels": hit_rates(board["channels"], "channel", lambda c: t(f"channel.{c}")),
        "detectors": hit_rates(board["detectors"], "detector", t.detector),
    }


async def page_errors(request: Request, error: StarletteHTTPException) -> Response:
    """Pages answer errors in HTML (a login redirect for 401); the API keeps its JSON."""
    path = request.url.path
    if path.startswith(NOT_DASHBOARD):
        return await http_exception_handler(request, error)
    if error.status_code == 401:
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", 303)
    t = Translator(language_of(request))
    key = "error.csrf" if error.detail == "csrf" else f"error.{error.status_code}"
    return render(
        request,
        "error.html",
        _optional_user(request),
        status_code=error.status_code,
        message=t(key) if key in t.messages else t("error.other"),
        detail=_detail_said(error.detail, t),
    )


def unavailable_page(request: Request) -> Response:
    """503 when the store cannot be reached: said without asking it who is signed in."""
    t = Translator(language_of(request))
    return render(request, "error.html", None, status_code=503, message=t("error.503"))


def _detail_said(detail, t: Translator) -> str | None:
    """What an error says beyond its status, in the page's language: a catalogue key's
    words; the API's own words (English, its clients are programs) on English pages only."""
    if not isinstance(detail, str) or detail in ("csrf", "Not Found"):
        return None
    if detail in t.messages:
        return t(detail)
    return detail if t.language == "en" else None


ECHO = 200  # characters of a refused value said back: a 5 MiB id is not answered whole


def said_back(errors) -> list[dict]:
    """Validation errors as JSON, each refused value cut to ``ECHO`` characters."""
    answered = jsonable_encoder(errors)
    for e in answered:
        e.pop("url", None)
        text = e["input"] if isinstance(e.get("input"), str) else json.dumps(e.get("input"))
        if len(text) > ECHO:
            e["input"] = f"{text[:ECHO]}… ({len(text):,} characters)"
    return answered


async def page_validation_errors(request: Request, error: RequestValidationError) -> Response:
    if request.url.path.startswith(NOT_DASHBOARD):
        return JSONResponse({"detail": said_back(error.errors())}, status_code=422)
    t = Translator(language_of(request))
    return render(
        request,
        "error.html",
        _optional_user(request),
        status_code=422,
        message=t("error.422"),
        detail=problems.said(error.errors(), t),
    )


class Guard:
    """Refuse form posts from another site; send every page with a strict security policy.
    (Plain ASGI: a function middleware costs every API call a task and two streams.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, headers = scope["path"], Headers(scope=scope)
        if scope["method"] == "POST" and not path.startswith(NOT_DASHBOARD):
            origin = headers.get("origin")
            if origin and urlsplit(origin).netloc != headers.get("host"):
                refused = Response("cross-site form post refused", status_code=403)
                return await refused(scope, receive, send)

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start" and not path.startswith(
                ("/docs", "/redoc")
            ):
                sent = MutableHeaders(scope=message)
                if sent.get("content-type", "").startswith("text/html"):
                    sent["content-security-policy"] = POLICY
                    sent["x-content-type-options"] = "nosniff"
                    sent["referrer-policy"] = "same-origin"
                    sent["x-frame-options"] = "DENY"
            await send(message)

        await self.app(scope, receive, secured)


def mount(app: FastAPI) -> None:
    """Add the dashboard to the app: pages, static assets, HTML errors, security headers.
    (Validation errors: the app's handler hands page ones to ``page_validation_errors``.)"""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    pages_of = (
        router,
        lists.router,  # before declaration's: /declarations is the list
        declaration.router,
        importer.router,
        cases.router,
        rules.router,
        learning.router,
        transit.router,
        offences.router,
        social.router,
        admin.router,
    )
    for pages in pages_of:
        app.include_router(pages)
    app.add_exception_handler(StarletteHTTPException, page_errors)
    app.add_middleware(Guard)
