"""Model registry: save a trained model with its lineage, list, promote, roll back.

One model is active at a time; the first one saved becomes active, later ones wait for
``promote``. ``rollback`` re-activates the model that was active before the current one.
The ``booster`` column holds ``FraudModel.to_text()``: the P(fraud) and revenue boosters as
one JSON text (models saved before the revenue model: the P(fraud) booster's text alone).
"""

from __future__ import annotations

import hashlib
import json

import polars as pl
from sqlalchemy import Engine, func, select, update

from tamis import audit
from tamis.learn.model import FraudModel
from tamis.learn.tables import models

KIND = "fraud_lightgbm"
LISTED = ["version", "created_at", "trained_from", "trained_until", "rows", "frauds",
          "fingerprint", "metrics", "active", "promoted_at", "comment"]  # fmt: skip


class RegistryError(ValueError):
    """A version that does not exist, or nothing to roll back to."""


def fingerprint(labelled: pl.DataFrame) -> str:
    """sha256 of the training rows (ids, dates, labels): same data, same fingerprint."""
    rows = labelled.select("declaration_id", "item_number", "lodged_at", "fraud").sort(
        "declaration_id", "item_number"
    )
    return hashlib.sha256(rows.write_csv().encode()).hexdigest()


def save(
    engine: Engine,
    model: FraudModel,
    labelled: pl.DataFrame,
    metrics: dict[str, float],
    comment: str | None = None,
) -> int:
    """Store ``model`` (trained on ``labelled``) as the next version; active if none is."""
    with engine.begin() as conn:
        version = (conn.execute(select(func.max(models.c.version))).scalar() or 0) + 1
        has_active = conn.execute(select(models.c.version).where(models.c.active == 1)).first()
        conn.execute(
            models.insert().values(
                version=version,
                kind=KIND,
                created_at=audit.now(),
                trained_from=labelled["lodged_at"].min(),
                trained_until=labelled["lodged_at"].max(),
                rows=labelled.height,
                frauds=int(labelled["fraud"].sum()),
                fingerprint=fingerprint(labelled),
                features=json.dumps(model.columns),
                categories=json.dumps(model.categories),
                params=json.dumps(model.params),
                metrics=json.dumps(metrics),
                booster=model.to_text(),
                active=0 if has_active else 1,
                promoted_at=None if has_active else audit.now(),
                comment=comment,
            )
        )
    return version


def list_models(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(*(models.c[c] for c in LISTED)).order_by(models.c.version))
        return [dict(r._mapping, metrics=json.loads(r.metrics)) for r in rows]


def promote(engine: Engine, version: int) -> None:
    """Make ``version`` the active model."""
    with engine.begin() as conn:
        if not conn.execute(select(models.c.version).where(models.c.version == version)).first():
            raise RegistryError(
                f"model version {version}: no such model (see `tamis learn models`)"
            )
        conn.execute(update(models).values(active=0))
        conn.execute(
            update(models)
            .where(models.c.version == version)
            .values(active=1, promoted_at=audit.now())
        )


def rollback(engine: Engine) -> int:
    """Re-activate the model promoted before the active one; returns its version."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(models.c.version, models.c.active)
            .where(models.c.promoted_at.is_not(None))
            .order_by(models.c.promoted_at.desc(), models.c.version.desc())
        ).all()
    previous = [v for v, active in rows if not active]
    if not previous:
        raise RegistryError("no earlier promoted model to roll back to")
    promote(engine, previous[0])
    return previous[0]


def active(engine: Engine) -> tuple[int, FraudModel, dict] | None:
    """(version, model without history, its registry row) of the active model, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(models).where(models.c.active == 1)).first()
    if row is None:
        return None
    model = FraudModel.from_text(row.booster, json.loads(row.categories), json.loads(row.params))
    return row.version, model, dict(row._mapping)
