"""The store every route works on: the application's own engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


Store = Annotated[Engine, Depends(engine_of)]
