"""The models page: the registry, precision@k and revenue@k per version, what each detector
and rule finds (``tamis.learn.detector_report``), and drift (loaded after the page, as it
scores the training window and the recent weeks)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request

from tamis.api.auth import READERS
from tamis.api.deps import Store
from tamis.learn.combiner import routing_in_force
from tamis.learn.detector_report import inspected_share, report
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
    routing = routing_in_force(engine)
    share = inspected_share(routing)
    found = report(engine, routing, share).to_dicts()
    return render(request, "models.html", user, models=models, ks=_ks(models), found=found,
                  share=share, cut=_cut)  # fmt: skip


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
