"""Model registry: save a trained model with its lineage, list, promote, roll back.

Models are of a kind: ``fraud_lightgbm`` (P(fraud) and revenue, ``FraudModel``) or
``routing`` (a learnt combination of detectors, ``tamis.learn.combiner``); versions number
them all. One model of each kind is active at a time; the first one saved becomes active,
later ones wait for ``promote``. ``rollback`` re-activates the model that was active before
the current one. The ``booster`` column holds the model as text: for a fraud model
``FraudModel.to_text()``, the P(fraud) and revenue boosters as one JSON text (models saved
before the revenue model: the P(fraud) booster's text alone).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

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


def month_digest(labelled: pl.DataFrame) -> str:
    """sha256 of some training rows (ids, dates, labels), whatever their order."""
    rows = labelled.select("declaration_id", "item_number", "lodged_at", "fraud").sort(
        "declaration_id", "item_number"
    )
    return hashlib.sha256(rows.write_csv().encode()).hexdigest()


def fingerprint(labelled: pl.DataFrame) -> str:
    """The training rows' fingerprint: same data, same fingerprint, whether the rows were
    read at once or a month at a time (the sha256 of each lodgement month's digest)."""
    months = labelled.with_columns(_month=pl.col("lodged_at").dt.truncate("1mo"))
    parts = sorted(months.group_by("_month"), key=lambda part: part[0])
    return months_fingerprint([month_digest(rows) for _, rows in parts])


def months_fingerprint(digests: list[str]) -> str:
    return hashlib.sha256("".join(digests).encode()).hexdigest()


@dataclass(frozen=True)
class Lineage:
    """What a model learnt from: the lodgement period, rows, frauds and their fingerprint."""

    trained_from: datetime
    trained_until: datetime
    rows: int
    frauds: int
    fingerprint: str

    @classmethod
    def of(cls, labelled: pl.DataFrame) -> Lineage:
        return cls(labelled["lodged_at"].min(), labelled["lodged_at"].max(), labelled.height,
                   int(labelled["fraud"].sum()), fingerprint(labelled))  # fmt: skip


def save(
    engine: Engine,
    model: FraudModel,
    labelled: pl.DataFrame | Lineage,
    metrics: dict[str, float],
    comment: str | None = None,
) -> int:
    """Store ``model`` (trained on ``labelled``) as the next version; active if none is."""
    return save_text(engine, KIND, model.to_text(), model.columns, labelled, metrics,
                     comment, categories=model.categories, params=model.params)  # fmt: skip


def save_text(
    engine: Engine,
    kind: str,
    text: str,
    columns: list[str],
    labelled: pl.DataFrame | Lineage,
    metrics: dict[str, float],
    comment: str | None = None,
    categories: dict | None = None,
    params: dict | None = None,
) -> int:
    """Store a model of ``kind`` saved as ``text``, with its lineage (``labelled``: the rows
    it learnt from, with declaration_id, item_number, lodged_at and fraud, or their
    ``Lineage``), as the next version; active if no model of its kind is."""
    lineage = labelled if isinstance(labelled, Lineage) else Lineage.of(labelled)
    with engine.begin() as conn:
        version = (conn.execute(select(func.max(models.c.version))).scalar() or 0) + 1
        has_active = conn.execute(
            select(models.c.version).where(models.c.active == 1, models.c.kind == kind)
        ).first()
        conn.execute(
            models.insert().values(
                version=version,
                kind=kind,
                created_at=audit.now(),
                trained_from=lineage.trained_from,
                trained_until=lineage.trained_until,
                rows=lineage.rows,
                frauds=lineage.frauds,
                fingerprint=lineage.fingerprint,
                features=json.dumps(columns),
                categories=json.dumps(categories or {}),
                params=json.dumps(params or {}),
                metrics=json.dumps(metrics),
                booster=text,
                active=0 if has_active else 1,
                promoted_at=None if has_active else audit.now(),
                comment=comment,
            )
        )
    return version


def list_models(engine: Engine, kind: str = KIND) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(*(models.c[c] for c in LISTED))
            .where(models.c.kind == kind)
            .order_by(models.c.version)
        )
        return [dict(r._mapping, metrics=json.loads(r.metrics)) for r in rows]


def promote(
    engine: Engine,
    version: int,
    kind: str = KIND,
    actor: str | None = None,
    reason: str | None = None,
    action: str = "model.promote",
) -> None:
    """Make ``version`` the active model of its kind; with an ``actor``, the change and its
    ``reason`` are in the audit trail."""
    with engine.begin() as conn:
        found = select(models.c.version).where(models.c.version == version, models.c.kind == kind)
        if not conn.execute(found).first():
            raise RegistryError(
                f"model version {version}: no such model of kind {kind} (see `tamis learn models`)"
            )
        was = conn.execute(
            select(models.c.version).where(models.c.active == 1, models.c.kind == kind)
        ).scalar()
        conn.execute(update(models).where(models.c.kind == kind).values(active=0))
        conn.execute(
            update(models)
            .where(models.c.version == version)
            .values(active=1, promoted_at=audit.now())
        )
        if actor is not None:
            audit.record(conn, actor, action, "model", version, {"kind": kind, "active": was},
                         {"kind": kind, "active": version, "reason": reason})  # fmt: skip


def rollback(
    engine: Engine, kind: str = KIND, actor: str | None = None, reason: str | None = None
) -> int:
    """Re-activate the model of ``kind`` promoted before the active one; its version."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(models.c.version, models.c.active)
            .where(models.c.promoted_at.is_not(None), models.c.kind == kind)
            .order_by(models.c.promoted_at.desc(), models.c.version.desc())
        ).all()
    previous = [v for v, active in rows if not active]
    if not previous:
        raise RegistryError("no earlier promoted model to roll back to")
    promote(engine, previous[0], kind, actor, reason, "model.rollback")
    return previous[0]


def active_version(engine: Engine, kind: str = KIND) -> int | None:
    """The version of the active model of ``kind`` (without reading the model), or None."""
    with engine.connect() as conn:
        return conn.execute(
            select(models.c.version).where(models.c.active == 1, models.c.kind == kind)
        ).scalar()


def active_row(engine: Engine, kind: str) -> dict | None:
    """The registry row of the active model of ``kind``, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(models).where(models.c.active == 1, models.c.kind == kind)
        ).first()
    return None if row is None else dict(row._mapping)


def active(engine: Engine) -> tuple[int, FraudModel, dict] | None:
    """(version, model without history, its registry row) of the active model, or None."""
    row = active_row(engine, KIND)
    return None if row is None else (row["version"], model_of(row), row)


def model_of(row: dict) -> FraudModel:
    """The fraud model of a registry row, without history."""
    return FraudModel.from_text(
        row["booster"], json.loads(row["categories"]), json.loads(row["params"])
    )
