"""The store every route works on: the application's own engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy import Engine

from tamis.store.tables import MAX_ID


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


Store = Annotated[Engine, Depends(engine_of)]

RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
