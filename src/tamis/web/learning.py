"""The models page: the registry, precision@k and revenue@k per version, and drift (loaded
after the page, as it scores the training window and the recent weeks)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tamis.api.auth import READERS
from tamis.api.deps import Store
from tamis.learn.drift import THRESHOLD
from tamis.learn.registry import list_models
from tamis.web.render import as_page, render

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)


def _ks(models: list[dict]) -> list[int]:
    found = {int(k.split("@")[1]) for m in models for k in m["metrics"] if "@" in k}
    return sorted(found)


@router.get("/models")
def models_page(request: Request, engine: Store, user: Reader):
    models = list(reversed(list_models(engine)))
    return render(request, "models.html", user, models=models, ks=_ks(models))


@router.get("/models/drift")
def drift_fragment(request: Request, engine: Store, user: Reader):
    from tamis.learn.train import store_drift

    try:
        report, error = store_drift(engine), None
    except ValueError as problem:
        report, error = {}, str(problem)
    return render(request, "drift.html", user, report=report, error=error, threshold=THRESHOLD)
