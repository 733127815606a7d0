"""The store every route works on: the application's own engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy import Engine

from tamis.store.tables import MAX_ID
from tamis.web.i18n import accepted_language


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


Store = Annotated[Engine, Depends(engine_of)]


def language_asked(request: Request) -> str:
    """The language reasons are said in: as Accept-Language asks, English by default (the
    API's clients are programs, and they were answered in English before reasons had codes)."""
    return accepted_language(request, "en")


Language = Annotated[str, Depends(language_asked)]

RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
