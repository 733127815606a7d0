"""Training on a Dask cluster: the fraud model learnt from a history too large for one
machine, month by month, with LightGBM's own Dask interface; registered like any other.

Each lodgement month of inspected declarations is read from the store by a worker and stays
there. A row's as-of features need the sums of every earlier day (``tamis.learn.features``):
each month's own ``Totals`` are computed where it lies, added up in lodgement order, and
each month gets the totals of the months before it as an opening balance, so its rows get
the features the whole history would give them. P(fraud) is then learnt on the months
where they lie (``lightgbm.DaskLGBMClassifier``); the revenue model learns from the frauds
found, which one machine holds, and the value per fraud from a sample of the rows.

The holdout is the local one: the later fifth of lodgement days, ranked by a model learnt
on the earlier days, each day split where it lies.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from sqlalchemy import Engine, func, select

from tamis.learn import features as F
from tamis.learn import registry, revenue
from tamis.learn.data import read_labelled_store
from tamis.learn.metrics import targeting_metrics
from tamis.learn.model import (
    N_ROUNDS,
    PARAMS,
    FraudModel,
    _category_maps,
    _matrix,
    ensemble_seeds,
    sample_step,
    severity_weights,
)
from tamis.learn.ranking import batch_priority
from tamis.learn.train import holdout_cut, training_error
from tamis.store import open_store
from tamis.store.tables import declarations, lodged_within

# minutes a worker waits for the others while training together: longer than the slowest
# worker's round on skewed months, shorter than LightGBM's two hours
TIME_OUT = 10
ATTEMPTS = 3  # trainings started before a lost worker stops the run


def months(engine: Engine, since: datetime | None, until: datetime | None) -> list[tuple]:
    """[start, end) of each calendar month of lodgement in [since, until)."""
    lodged = declarations.c.lodged_at
    query = select(func.min(lodged), func.max(lodged)).where(*lodged_within(since, until, lodged))
    with engine.connect() as conn:
        first, last = conn.execute(query).one()
    if first is None:
        return []
    month = first.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = pl.datetime_range(month, last, "1mo", eager=True)
    return [(max(s, since) if since else s, min(e, until) if until else e)
            for s, e in zip(starts, starts.dt.offset_by("1mo"), strict=True)]  # fmt: skip


def read_month(store_url: str, start: datetime, end: datetime) -> pl.DataFrame:
    """A month's inspected items, labelled and prepared (a worker's task)."""
    engine = open_store(store_url)
    try:
        return F.prepare(read_labelled_store(engine, start, end))
    finally:
        engine.dispose()


@dataclass
class MonthSummary:
    """What the client learns of a month without reading it: counts, period, fingerprint
    and lodgement days (for the holdout's cut)."""

    rows: int
    frauds: int
    first: datetime | None
    last: datetime | None
    digest: str
    days: list


def summarised(month: pl.DataFrame) -> MonthSummary:
    return MonthSummary(
        month.height,
        int(month["fraud"].sum()),
        month["lodged_at"].min(),
        month["lodged_at"].max(),
        registry.month_digest(month),
        month["day"].unique().to_list(),
    )


def _counts(month: pl.DataFrame) -> tuple[int, int]:
    return month.height, int(month["fraud"].sum())


def _totals(month: pl.DataFrame) -> F.Totals:
    return F.History(month).totals()


def _added(opening: F.Totals | None, totals: F.Totals) -> F.Totals:
    return totals if opening is None else opening + totals


def _features(month: pl.DataFrame, opening: F.Totals | None) -> pl.DataFrame:
    return F.History(month, opening).features(month)


def _codes(month: pl.DataFrame) -> pl.DataFrame:
    return month.select(F.LOW_CARD).unique()


def _arrays(feats: pl.DataFrame, columns: list[str], categories: dict) -> dict:
    weights = severity_weights(feats)
    return {
        "x": _matrix(feats, columns, categories),
        "fraud": feats["fraud"].cast(pl.Int8).to_numpy(),
        "weight": np.ones(feats.height) if weights is None else weights,
        "duty": feats["duty"].to_numpy(),
        "revenue": feats["revenue"].to_numpy(),
    }


def _frauds(arrays: dict) -> dict:
    frauds = arrays["fraud"] == 1
    return {name: values[frauds] for name, values in arrays.items()}


def _sample(arrays: dict, step: int) -> dict:
    return {name: arrays[name][::step] for name in ("x", "duty")}


def _part(arrays: dict, name: str):
    return arrays[name]


def _split(month: pl.DataFrame, cut, later: bool) -> pl.DataFrame:
    return month.filter((pl.col("day") >= cut) if later else (pl.col("day") < cut))


def _predicted(model: FraudModel, feats: pl.DataFrame) -> dict:
    p, money = model.predict(feats)
    return {"p": p, "money": money, "fraud": feats["fraud"].to_numpy(),
            "revenue": feats["revenue"].to_numpy()}  # fmt: skip


def _non_empty(client, parts: list) -> tuple[list, list[int]]:
    """The parts with rows, and their numbers of rows."""
    heights = client.gather([client.submit(len, part) for part in parts])
    kept = [(part, height) for part, height in zip(parts, heights, strict=True) if height]
    return [part for part, _ in kept], [height for _, height in kept]


def fit_on_cluster(client, parts: list, n_rounds: int = N_ROUNDS, **params):
    """(model, its training months' totals): P(fraud) and revenue learnt from the prepared
    labelled months ``parts`` (futures, in lodgement order) where they lie."""
    import dask.array as da

    params = PARAMS | params
    threads = {"num_threads": params.pop("num_threads")}  # on a cluster, each worker's own
    parts, heights = _non_empty(client, parts)
    totals = [client.submit(_totals, part) for part in parts]
    openings = [None]
    for month_totals in totals:
        openings.append(client.submit(_added, openings[-1], month_totals))
    feats = [client.submit(_features, p, o) for p, o in zip(parts, openings[:-1], strict=True)]
    codes = client.gather([client.submit(_codes, part) for part in parts])
    categories = _category_maps(pl.concat(codes), F.LOW_CARD)
    columns = client.submit(F.feature_columns, feats[0]).result()
    arrays = [client.submit(_arrays, f, columns, categories) for f in feats]

    def stacked(name: str, shape: tuple, dtype) -> da.Array:
        return da.concatenate([
            da.from_delayed(client.submit(_part, a, name), (n, *shape), dtype=dtype)
            for a, n in zip(arrays, heights, strict=True)
        ])  # fmt: skip

    x, fraud, weight = client.persist([  # held by the client: computed again if lost
        stacked("x", (len(columns),), np.float32), stacked("fraud", (), np.int8),
        stacked("weight", (), np.float64),
    ])  # fmt: skip
    rows, weighted = sum(heights), not da.all(weight == 1).compute()
    data = {"X": x, "y": fraud, "sample_weight": weight if weighted else None}
    boosters = [
        _booster(client, data, columns, n_rounds, params | {"seed": seed})
        for seed in ensemble_seeds(params, rows)
    ]
    found = _concatenated(client.gather([client.submit(_frauds, a) for a in arrays]))
    money = revenue.fit(found["x"], found["fraud"], found["revenue"], found["duty"],
                        params | threads)  # fmt: skip
    step = sample_step(rows)
    sample = _concatenated(client.gather([client.submit(_sample, a, step) for a in arrays]))
    params |= threads | {"n_rounds": n_rounds}
    model = FraudModel.of_boosters(
        boosters, columns, categories, money, sample["x"], sample["duty"], params
    )
    return model, openings[-1]


def _booster(client, data: dict, columns: list[str], n_rounds: int, params: dict):
    """P(fraud)'s booster learnt where the data lies. The workers train together over
    sockets: when one dies the others give up after ``TIME_OUT`` minutes, and the training
    starts again on the workers left (the data the dead one held is computed again)."""
    from distributed import futures_of, wait
    from lightgbm import DaskLGBMClassifier

    for attempt in range(1, ATTEMPTS + 1):
        model = DaskLGBMClassifier(client=client, n_estimators=n_rounds, time_out=TIME_OUT,
                                   **params)  # fmt: skip
        try:
            with redirect_stdout(sys.stderr), warnings.catch_warnings():  # stdout: the result
                warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored")
                return model.fit(**data, feature_name=columns).booster_
        except Exception as error:  # noqa: BLE001 - a worker lost, whatever it raised
            if attempt == ATTEMPTS:
                raise
            print(f"training stopped ({type(error).__name__}: {error}); starting again",
                  file=sys.stderr)  # fmt: skip
            wait(futures_of(list(data.values())))  # what the lost worker held, computed again


def _concatenated(parts: list[dict]) -> dict:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def holdout_on_cluster(client, parts: list, summaries: list[MonthSummary]) -> dict:
    """``tamis.learn.train.holdout_metrics`` of the months ``parts``: a model learnt on the
    earlier days ranks the later fifth, each month split where it lies."""
    cut = holdout_cut(list({day for summary in summaries for day in summary.days}))
    earlier = [client.submit(_split, part, cut, False) for part in parts]
    later, _ = _non_empty(client, [client.submit(_split, part, cut, True) for part in parts])
    counted = client.gather([client.submit(_counts, part) for part in earlier])
    rows, frauds = (sum(column) for column in zip(*counted, strict=True))
    if not later or frauds in (0, rows):
        return {}
    model, opening = fit_on_cluster(client, earlier)
    [shipped] = client.scatter([model], broadcast=True)
    scored = client.gather([
        client.submit(_predicted, shipped, client.submit(_features, part, opening))
        for part in later
    ])  # fmt: skip
    found = _concatenated(scored)
    return targeting_metrics(batch_priority(found["p"], found["money"]), found["fraud"],
                             found["revenue"])  # fmt: skip


def train_on_cluster(
    engine: Engine,
    client,
    since: datetime | None = None,
    until: datetime | None = None,
    comment: str | None = None,
) -> tuple[int, dict[str, float]]:
    """``tamis.learn.train.train_from_store`` on the cluster ``client`` is connected to:
    each month read by a worker from the store (which every worker must reach)."""
    from uuid import uuid4

    url, run = engine.url.render_as_string(hide_password=False), uuid4().hex
    parts = [
        client.submit(read_month, url, start, end, key=f"month-{run}-{n}", pure=False)
        for n, (start, end) in enumerate(months(engine, since, until))
    ]
    summaries = client.gather([client.submit(summarised, part) for part in parts])
    rows, frauds = sum(s.rows for s in summaries), sum(s.frauds for s in summaries)
    if not rows or frauds in (0, rows):
        raise ValueError(training_error(rows, frauds))
    metrics = holdout_on_cluster(client, parts, summaries)
    model, _ = fit_on_cluster(client, parts)
    lineage = registry.Lineage(
        min(s.first for s in summaries if s.rows),
        max(s.last for s in summaries if s.rows),
        rows,
        frauds,
        registry.months_fingerprint([s.digest for s in summaries if s.rows]),
    )
    return registry.save(engine, model, lineage, metrics, comment), metrics
