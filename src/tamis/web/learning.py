"""The models page: the registry, precision@k and revenue@k per version, what each detector
and rule finds (``tamis.learn.detector_report``), and drift (loaded after the page, as it
scores the training window and the recent weeks)."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from tamis.api.auth import ADMINS, READERS
from tamis.api.deps import MAX_ID, Store
from tamis.learn import registry
from tamis.learn.combiner import routing_in_force
from tamis.learn.detector_report import inspected_share, report
from tamis.learn.drift import THRESHOLD
from tamis.settings import settings
from tamis.web.i18n import Translator, language_of
from tamis.web.render import as_page, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)
Admin = as_page(ADMINS)
Reason = Annotated[str, Form(max_length=500)]


def _ks(models: list[dict]) -> list[int]:
    found = {int(k.split("@")[1]) for m in models for k in m["metrics"] if "@" in k}
    return sorted(found)


@router.get("/models")
def models_page(
    request: Request,
    engine: Store,
    user: Reader,
    done: Annotated[str | None, Query(pattern="^(promote|rollback)$")] = None,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
):
    return _models_page(request, engine, user, done=done, version=version)


def _models_page(request: Request, engine, user, status_code: int = 200, **context):
    models = list(reversed(registry.list_models(engine)))
    routing = routing_in_force(engine)
    share = inspected_share(routing)
    found = report(engine, routing, share).to_dicts()
    return render(request, "models.html", user, status_code=status_code, models=models,
                  ks=_ks(models), found=found, share=share, cut=_cut, admins=ADMINS,
                  currency=settings().national_currency, **context)  # fmt: skip


def _changed(request: Request, engine, user, reason: str, done: str, change):
    """Promote or roll back (``change(reason)``, which returns the version made active)
    with its reason; the page again saying why when refused."""
    t = Translator(language_of(request))
    if not reason.strip():
        return _models_page(request, engine, user, 422, error=t("models.error.reason"))
    try:
        version = change(reason.strip())
    except registry.RegistryError:
        return _models_page(request, engine, user, 422, error=t(f"models.error.{done}"))
    return RedirectResponse(f"/models?{urlencode({'done': done, 'version': version})}", 303)


@router.post("/models/promote", dependencies=[Depends(check_csrf)])
def promote(
    request: Request,
    engine: Store,
    user: Admin,
    version: Annotated[int, Form(ge=1, le=MAX_ID)],
    reason: Reason = "",
):
    def change(why: str) -> int:
        registry.promote(engine, version, registry.KIND, user.username, why)
        return version

    return _changed(request, engine, user, reason, "promote", change)


@router.post("/models/rollback", dependencies=[Depends(check_csrf)])
def rollback(request: Request, engine: Store, user: Admin, reason: Reason = ""):
    def change(why: str) -> int:
        return registry.rollback(engine, registry.KIND, user.username, why)

    return _changed(request, engine, user, reason, "rollback", change)


def _cut(status: str) -> dict | None:
    """A report row's status as figures: None when kept, else whether its weight is cut
    (no weight) or only watched, its lift and floor."""
    found = re.search(r"^(no weight|watch): lift ([\d.]+) under floor ([\d.]+)", status)
    return found and {"cut": found[1] == "no weight", "lift": float(found[2]),
                      "floor": float(found[3])}  # fmt: skip


@router.get("/models/drift")
def drift_fragment(request: Request, engine: Store, user: Reader):
    from tamis.learn.train import store_drift

    try:
        report, error = store_drift(engine), None
    except ValueError as problem:
        report, error = {}, str(problem)
    return render(request, "drift.html", user, report=report, error=error, threshold=THRESHOLD)
