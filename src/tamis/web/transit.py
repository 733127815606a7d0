"""The transit pages: open movements, overdue ones and alerts; one movement's timeline and
its track drawn on a plain map (``tamis.transit.track``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request

from tamis.api.auth import READERS
from tamis.api.deps import Store
from tamis.transit import read
from tamis.web.i18n import Translator, language_of
from tamis.web.render import as_page, render

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)
STATES = ("declared", "released", "arrived", "discrepancies", "controlled", "written_off")


def detail_said(detail: dict, t: Translator) -> list[str]:
    """The figures behind an alert, each named in the page's language and written its way
    (a figure the catalogue does not name keeps its stored name)."""
    said = []
    for key, value in detail.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            value = t.number(value, 0 if float(value).is_integer() else 2)
        elif key.endswith("_at") and isinstance(value, str):
            value = t.datetime(value)
        name = f"transit.detail.{key}"
        said.append(t(name, value=value) if name in t.messages else f"{key}: {value}")
    return said


@router.get("/transit")
def transit_page(
    request: Request,
    engine: Store,
    user: Reader,
    state: Annotated[str | None, Query(max_length=16)] = None,
):
    state = state if state in STATES else None
    movements = read.movements(engine, state=state, limit=300)
    return render(
        request,
        "transit.html",
        user,
        movements=movements,
        alerts=read.alerts(engine, limit=100),
        states=STATES,
        state=state,
    )


@router.get("/transit/{mrn}")
def movement_page(
    request: Request, engine: Store, user: Reader, mrn: Annotated[str, Path(max_length=18)]
):
    from tamis.transit.track import track_svg

    found = read.movement(engine, mrn)
    if found is None:
        raise HTTPException(404, f"mrn {mrn}: no such movement")
    t = Translator(language_of(request))
    alerts = [a | {"said": detail_said(a["detail"], t)} for a in found["alerts"]]
    return render(
        request, "transit_movement.html", user, m=found, alerts=alerts,
        track=track_svg(
            engine, found, lambda a: f"{t('transit.alert.' + a['kind'])} {t.datetime(a['at'])}",
            t("transit.corridor"),
        ),
    )  # fmt: skip
