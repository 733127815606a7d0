"""The FastAPI application: ``/health`` and the API under ``/api``."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError

from tamis import audit, rulesets
from tamis.api import auth
from tamis.api.auth import (
    ADMINS,
    AUDITORS,
    FIELD,
    READERS,
    SUPERVISORS,
    TARGETERS,
    CredentialsFirst,
)
from tamis.api.deps import MAX_ID, Language, engine_of
from tamis.api.lodgement import (
    DeclarationIn,
    LodgementError,
    already_lodged,
    refused,
    to_items,
    unreadable,
)
from tamis.api.throttle import LoginThrottle
from tamis.assess import (
    assessor_from_store,
    current_channel,
    day_so_far,
    in_force,
    latest_decision,
    lock_office_days,
    record_rows,
)
from tamis.cases.api import router as cases_router
from tamis.channels import channel_rank
from tamis.detectors.rules import RuleSetError, parse_rule_set
from tamis.documents.api import router as documents_router
from tamis.documents.log_api import router as log_router
from tamis.draws import secure_draws
from tamis.ingest.readers import ROW
from tamis.intel.api import router as intel_router
from tamis.offences.api import router as offences_router
from tamis.reasons import parse, render_all
from tamis.route.capacity import may_spend
from tamis.scoreboard import update as scoreboard
from tamis.settings import settings
from tamis.social.api import router as social_router
from tamis.store import open_store
from tamis.store.checkpoints import Checkpointer
from tamis.store.engine import one_writer
from tamis.store.load import hold_declaration, insert_rows, rows_to_storage
from tamis.store.tables import channel_changes, declarations, items
from tamis.transit.api import router as transit_router
from tamis.transit.scheduler import OverdueRounds
from tamis.users import User
from tamis.valuation.api import router as valuation_router
from tamis.web import routes as web

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")
Reader = Annotated[User, Depends(READERS)]
Targeter = Annotated[User, Depends(TARGETERS)]
FieldOfficer = Annotated[User, Depends(FIELD)]
Admin = Annotated[User, Depends(ADMINS)]


def assessor_of(request: Request):
    return ready_assessor(request.app)


# Lodgements scored at once by a process: more only share the interpreter lock, and slow
# the lodgements holding an office's day, waiting for it to write their decision.
SCORING_AT_ONCE = 2
IN_FORCE_SECONDS = 1.0  # how often a server looks for rules, model or lists changed elsewhere


def ready_assessor(app: FastAPI):
    """The assessor lodgements use, built when first needed and again after a change of rules
    or lists through this server, or by any other process (``in_force``, looked at every
    ``IN_FORCE_SECONDS``). One build at a time: a lodgement that comes while
    ``tamis serve`` warms up waits for that build instead of starting its own."""
    state = app.state
    with state.assessor_built:
        now = time.monotonic()
        if state.assessor is not None and now - state.in_force_checked >= IN_FORCE_SECONDS:
            state.in_force_checked = now
            if in_force(state.engine) != state.in_force:
                state.assessor = None
        if state.assessor is None:
            state.in_force, state.in_force_checked = in_force(state.engine), now
            state.assessor = assessor_from_store(state.engine).ready_for_lodgement()
            gc.freeze()  # the assessor's long-lived objects: no full collection walks them again
    return state.assessor


class Assessment(BaseModel):
    declaration_id: str
    channel: str
    current_channel: str
    score: float
    reasons: list[str] = Field(
        description="Each reason in words, in the language Accept-Language asks (fr or en; "
        "English by default)."
    )
    reason_codes: list[dict[str, Any]] = Field(
        description="The same reasons as data: each its code and figures, or {text} for a "
        "reason stored as words (decisions made before reasons had codes)."
    )
    revenue_at_stake: float | None
    forced_channel: str | None
    random_selected: bool
    capacity_held: bool
    selection_chance: float | None = Field(
        description="The chance it had of being inspected: 1 when chosen for its risk, the "
        "random rate or an exploratory pick's chance otherwise (null: decided before it was "
        "kept)."
    )
    combiner: str | None = Field(
        description="How its detectors were combined: weights (fixed) or learnt:<version>."
    )
    rule_set_version: int | None
    model_version: str | None
    decided_at: datetime
    decision_id: int
    signals: dict


def _answer(decision: dict, channel: str, language: str) -> Assessment:
    """A decision as the API says it: its reasons in ``language`` and as data."""
    stored = decision["reasons"]
    return Assessment(
        **decision | {"reasons": render_all(stored, language)},
        reason_codes=[parse(r) or {"text": r} for r in stored],
        current_channel=channel,
    )


def _assessment(engine: Engine, declaration_id: str, language: str = "en") -> Assessment:
    decision = latest_decision(engine, declaration_id)
    if decision is None:
        raise HTTPException(404, f"no assessment for declaration {declaration_id!r}")
    return _answer(decision, current_channel(engine, decision), language)


LODGED = select(declarations.c.declaration_id).where(
    declarations.c.declaration_id == bindparam("declaration_id")
)


@router.post("/declarations", response_model=Assessment, status_code=201)
def lodge(
    request: Request, declaration: DeclarationIn, user: Targeter, language: Language
) -> Assessment:
    """Lodge one declaration: it is checked, stored, assessed and its decision recorded.
    A refused one is quarantined, and the answer says where."""
    engine, assessor = engine_of(request), assessor_of(request)
    try:
        lodged = to_items(declaration)
        declaration_id = lodged.rows[0]["declaration_id"]
        staged = rows_to_storage(lodged.rows, f"api:{declaration_id}", ROW)
        # Detectors' signals and routing before the write transaction (SQLite has one writer
        # at a time). A declaration that may take or be refused a place is routed again in
        # it, once its office's day is held: capacity is counted and spent by one such
        # lodgement at a time; the others need not wait for it (``may_spend``).
        with request.app.state.scoring:
            signals = assessor.signals_rows(lodged)
            draws = secure_draws(len(lodged.headers()))
            decided = assessor.route_rows(lodged, signals, draws, earlier={})
        capacity = assessor.routing.capacity
        spends = capacity.capped and may_spend(decided)
        try:
            with one_writer(engine), engine.begin() as conn:
                hold_declaration(conn, declaration_id)
                if conn.execute(LODGED, {"declaration_id": declaration_id}).first():
                    raise already_lodged(declaration)
                insert_rows(conn, declarations, staged[:1])  # every item repeats the header
                insert_rows(conn, items, staged)
                # routing changes no detector's signals: what they keep is written before the
                # office's day is held, so the others wait for as little as can be
                kept = assessor.record_detectors(conn, lodged.frame, decided)
                if spends:
                    lock_office_days(conn, lodged.headers(), capacity)
                    earlier = day_so_far(conn, lodged.headers(), capacity)
                    decided = assessor.route_rows(lodged, signals, draws, earlier=earlier)
                (decision,) = record_rows(conn, decided, "lodgement", assessor, lodged, kept)
        except IntegrityError:
            with engine.connect() as conn:  # the same declaration lodged by a racing request
                if conn.execute(LODGED, {"declaration_id": declaration_id}).first():
                    raise already_lodged(declaration) from None
            raise
    except LodgementError as refusal:
        return refused(engine, refusal, user.username)
    # a decision just made has no channel change yet
    return _answer(decision, decision["channel"], language)


async def validation_errors(request: Request, error: RequestValidationError) -> Response:
    """A body that is not a declaration, from someone who may lodge, is quarantined too;
    pages answer in HTML, the rest of the API in JSON."""
    if request.method == "POST" and request.url.path == request.app.url_path_for("lodge"):
        token = auth.session_token(request, await auth.bearer(request))
        user = await run_in_threadpool(auth.signed_in, request, token)
        if user is not None and user.role in TARGETERS.roles:
            refusal = unreadable(error.errors(), error.body)
            return await run_in_threadpool(refused, engine_of(request), refusal, user.username)
    return await web.page_validation_errors(request, error)


async def store_unavailable(request: Request, error: OperationalError) -> Response:
    """The store cannot be reached (PostgreSQL restarting, SQLite locked past its wait):
    503 and when to try again, in JSON or a page, the connection kept for the next try."""
    log.warning("%s %s: the store cannot be reached: %s", request.method, request.url.path,
                str(error.orig).splitlines()[0] if error.orig else error)  # fmt: skip
    if not request.url.path.startswith(web.NOT_DASHBOARD):
        return web.unavailable_page(request)
    detail = {"detail": "the store cannot be reached: try again shortly"}
    return JSONResponse(status_code=503, content=detail, headers={"Retry-After": "5"})


@router.get("/declarations/{declaration_id}/assessment", response_model=Assessment)
def get_assessment(
    request: Request, declaration_id: str, user: Reader, language: Language
) -> Assessment:
    """The latest decision on a declaration, exactly as it was made (its reasons said in the
    language Accept-Language asks, and given as data in ``reason_codes``)."""
    return _assessment(engine_of(request), declaration_id, language)


class ChannelChange(BaseModel):
    channel: Literal["green", "blue", "yellow", "orange", "red"]
    reason: str = Field(min_length=3)


@router.post("/declarations/{declaration_id}/channel", response_model=Assessment)
def change_channel(
    request: Request,
    declaration_id: str,
    change: ChannelChange,
    user: FieldOfficer,
    language: Language,
) -> Assessment:
    """An officer raises a channel with a stated reason; only a supervisor lowers one, and
    never below a channel a risk profile forced."""
    engine = engine_of(request)
    current = _assessment(engine, declaration_id)
    lowering = channel_rank(change.channel) < channel_rank(current.current_channel)
    if lowering and user.role not in SUPERVISORS.roles:
        raise HTTPException(
            403,
            f"declaration {declaration_id}: lowering its channel from {current.current_channel} "
            f"to {change.channel} is a supervisor's decision",
        )
    if current.forced_channel and channel_rank(change.channel) < channel_rank(
        current.forced_channel
    ):
        raise HTTPException(
            409, f"a risk profile forced {current.forced_channel!r}: cannot go below it"
        )
    with engine.begin() as conn:
        values = dict(
            decision_id=current.decision_id,
            declaration_id=declaration_id,
            changed_at=audit.now(),
            officer=user.username,
            from_channel=current.current_channel,
            to_channel=change.channel,
            reason=change.reason,
        )
        conn.execute(channel_changes.insert().values(**values))
        scoreboard.changed(conn, [declaration_id])
        audit.record(
            conn,
            user.username,
            "channel.change",
            "declaration",
            declaration_id,
            {"channel": current.current_channel},
            {"channel": change.channel, "reason": change.reason},
        )
    return _assessment(engine, declaration_id, language)


@router.get("/rules")
def get_rules(request: Request, user: Reader) -> dict:
    """The current rule set and its version."""
    version, rule_set = rulesets.current(engine_of(request))
    return {"version": version, **rule_set.model_dump(mode="json", by_alias=True)}


@router.get("/rules/versions")
def get_rule_versions(request: Request, user: Reader) -> list[dict]:
    return rulesets.history(engine_of(request))


@router.get("/rules/diff")
def get_rules_diff(
    request: Request,
    user: Reader,
    old: Annotated[int, Query(ge=1, le=MAX_ID)],
    new: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> dict:
    engine = engine_of(request)
    try:
        return rulesets.diff(rulesets.get(engine, old), rulesets.get(engine, new))
    except LookupError as error:
        raise HTTPException(404, str(error)) from None


class RuleSetIn(BaseModel):
    comment: str | None = None
    rules: list[dict]


@router.post("/rules", status_code=201)
def post_rules(request: Request, user: Admin, body: RuleSetIn = Body(...)) -> dict:
    """Replace the rule set: a new version, used by every later decision."""
    try:
        rule_set = parse_rule_set({"rules": body.rules})
    except RuleSetError as error:
        return JSONResponse(
            status_code=422, content={"detail": [{"loc": ["body", "rules"], "msg": str(error)}]}
        )
    version = rulesets.apply(engine_of(request), rule_set, user.username, body.comment)
    request.app.state.assessor = None
    return {"version": version}


@router.get("/audit-trail")
def get_audit_trail(
    request: Request,
    user: Annotated[User, Depends(AUDITORS)],
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict]:
    """Who changed what and when, with the state before and after (append-only)."""
    return audit.entries(engine_of(request), entity, entity_id, actor, since, limit)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    checkpointer, rounds = Checkpointer(app.state.engine), OverdueRounds(app.state.engine)
    checkpointer.start()
    rounds.start()
    if app.state.warm_up:
        threading.Thread(target=_warm_up, args=(app,), name="warm-up", daemon=True).start()
    try:
        yield
    finally:
        rounds.stop()
        checkpointer.stop()
        app.state.engine.dispose()  # its pooled connections closed with it


def _warm_up(app: FastAPI) -> None:
    """Answer first: the assessor's models load once the server is up (seconds on a small
    store, minutes on a large one), so no page waits for them, and a lodgement only if it
    comes before they are loaded; then the models page's drift report."""
    from tamis.learn.train import store_drift

    ready_assessor(app)
    try:
        store_drift(app.state.engine)
    except ValueError:  # no model or no declarations yet: the page says so itself
        pass


def served_app() -> FastAPI:
    """The app ``tamis serve`` runs, in each of its worker processes: its models load as soon
    as it is up."""
    app = create_app()
    app.state.warm_up = True
    return app


def create_app(database_url: str | None = None) -> FastAPI:
    # The interactive docs load their scripts from a CDN: off unless TAMIS_API_DOCS asks
    docs = settings().api_docs
    app = FastAPI(
        title="Tamis",
        description="Customs risk management and targeting API.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        max_body_size=settings().max_body_bytes,
    )
    app.add_middleware(CredentialsFirst)
    app.state.engine = open_store(database_url)
    app.state.assessor, app.state.warm_up = None, False
    app.state.assessor_built = threading.Lock()
    app.state.scoring = threading.BoundedSemaphore(SCORING_AT_ONCE)
    app.state.login_throttle = LoginThrottle()

    @app.get("/health")
    def health() -> dict:
        """Up; and whether this process's models are loaded (lodgements wait while not)."""
        return {"status": "ok", "models": "loading" if app.state.assessor is None else "ready"}

    app.add_exception_handler(RequestValidationError, validation_errors)
    app.add_exception_handler(OperationalError, store_unavailable)
    app.include_router(auth.router)
    app.include_router(router)
    app.include_router(cases_router)
    app.include_router(valuation_router, prefix="/api", dependencies=[Depends(READERS)])
    app.include_router(intel_router)
    app.include_router(transit_router)
    app.include_router(offences_router)
    app.include_router(social_router)
    app.include_router(log_router)
    app.include_router(documents_router)
    web.mount(app)
    return app
