"""How the model detector explores (configured under ``model.explore`` in the routing
configuration): defined here, below detectors and routing, so that both can use it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Exploration(BaseModel):
    """The model detector's exploratory picks, so that it also learns where it has not
    looked: a declaration bringing something never inspected before (importer, supplier,
    importer × HS6) is picked with chance ``novelty``; any declaration with chance
    ``uncertainty`` × 4·p·(1 − p), the most at P(fraud) 0.5, where an outcome teaches the
    model most. Each pick says which, its draw and its chance (its propensity)."""

    model_config = ConfigDict(extra="forbid")
    novelty: float = Field(default=0.005, ge=0, le=1)
    uncertainty: float = Field(default=0.01, ge=0, le=1)
    channel: Literal["blue", "yellow", "orange", "red"] = "red"
