"""Train from the store, measure on a time holdout, register; drift of the active model."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
from sqlalchemy import Engine, func, select

from tamis.learn import registry
from tamis.learn.data import read_labelled_store
from tamis.learn.drift import drift_report
from tamis.learn.metrics import targeting_metrics
from tamis.learn.model import FraudModel
from tamis.learn.ranking import batch_priority
from tamis.store.read import read_items
from tamis.store.tables import declarations

HOLDOUT = 0.2  # latest share of lodgement days held out to measure a new model


def time_split(labelled: pl.DataFrame, holdout: float = HOLDOUT):
    """(earlier, later): the later ``holdout`` share of lodgement days is held out."""
    cut = holdout_cut(labelled["lodged_at"].dt.date().unique().to_list(), holdout)
    earlier = pl.col("lodged_at").dt.date() < cut
    return labelled.filter(earlier), labelled.filter(~earlier)


def holdout_cut(days: list, holdout: float = HOLDOUT):
    """The first day held out, of the lodgement ``days`` (each once)."""
    days = sorted(days)
    return days[min(len(days) - 1, int(len(days) * (1 - holdout)))]


def holdout_metrics(labelled: pl.DataFrame) -> dict[str, float]:
    """Targeting metrics of a model fitted on the earlier days, ranking the later ones."""
    train, test = time_split(labelled)
    if train["fraud"].n_unique() < 2 or test.is_empty():
        return {}
    model = FraudModel.fit(train)
    p, money = model.predict(model.features(test))
    revenue = test["revenue"].to_numpy()
    return targeting_metrics(batch_priority(p, money), test["fraud"].to_numpy(), revenue)


def train_from_store(
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    comment: str | None = None,
) -> tuple[int, dict[str, float]]:
    """Fit on the inspected declarations lodged in [since, until) and register the model."""
    labelled = read_labelled_store(engine, since, until)
    if labelled.is_empty() or labelled["fraud"].n_unique() < 2:
        frauds = int(labelled["fraud"].sum()) if labelled.height else 0
        raise ValueError(training_error(labelled.height, frauds))
    metrics = holdout_metrics(labelled)
    model = FraudModel.fit(labelled)
    return registry.save(engine, model, labelled, metrics, comment), metrics


def training_error(rows: int, frauds: int) -> str:
    return (f"{rows} inspected item(s) in the store with {frauds} fraud(s): training needs "
            "inspection outcomes of both kinds (compliant and non_compliant)")  # fmt: skip


# PSI reports computed in this process, per (store, model version, recent window): drift
# moves by the week, so a report is kept for the day of the latest lodgement.
_DRIFT: dict[tuple, dict[str, float]] = {}
_DRIFT_KEPT = 16
# Items of each window scored for drift (scoring is most of its cost): on the demo, a
# sample of 20,000 moves no PSI by more than 0.02 from that of every item (10,000: 0.05).
DRIFT_SAMPLE = 20_000


def store_drift(engine: Engine, weeks: int = 4) -> dict[str, float]:
    """PSI between the active model's training window and the ``weeks`` up to the day of
    the latest lodgement (whole days)."""
    version = registry.active_version(engine)
    if version is None:
        raise ValueError("no active model: train one with `tamis learn train`")
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(declarations.c.lodged_at))).scalar()
    if latest is None:
        raise ValueError("no declarations in the store to compare with the training window")
    end = datetime.combine(latest.date() + timedelta(days=1), datetime.min.time())
    key = (str(engine.url), version, end, weeks)
    if key not in _DRIFT:
        while len(_DRIFT) >= _DRIFT_KEPT:
            _DRIFT.pop(next(iter(_DRIFT)))
        row = registry.active_row(engine, registry.KIND)
        _DRIFT[key] = _drift(engine, row, end - timedelta(weeks=weeks), end)
    return _DRIFT[key]


def _drift(engine: Engine, row: dict, since: datetime, until: datetime) -> dict[str, float]:
    model = registry.model_of(row).with_history(read_labelled_store(engine))
    reference = read_items(engine, row["trained_from"], row["trained_until"] + timedelta(days=1))
    recent = read_items(engine, since, until)

    def scored(items: pl.DataFrame) -> pl.DataFrame:
        if items.height > DRIFT_SAMPLE:
            items = items.sample(DRIFT_SAMPLE, seed=0)
        feats = model.features(items)
        return feats.with_columns(pl.Series("score", np.asarray(model.predict_proba(feats))))

    return drift_report(scored(reference), scored(recent))
