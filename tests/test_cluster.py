"""Batch assessment on a Dask cluster of two worker processes: the same decisions as one
process on the same data and draws, row for row; a worker killed mid-run changes nothing,
and no decision is recorded twice."""

from __future__ import annotations

import json
import os
import signal
from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select

from tamis import synth
from tamis.assess import assess_file, assessor_from_store
from tamis.cluster import assess_dataset, connected, dataset_files, ingest_dataset
from tamis.draws import KeyedDraws
from tamis.ingest import ingest
from tamis.learn.exploration import Exploration
from tamis.learn.train import train_from_store
from tamis.route import load_routing
from tamis.store.tables import assessed_parts, decisions
from tamis.valuation import database as valuation
from tests.stores import assessed_store, kcs_rows

DRAWS = KeyedDraws(b"a key of the test: the same draws in every run")


@pytest.fixture(scope="module")
def client():
    with connected(workers=2) as cluster_client:
        yield cluster_client


def later_months(store, folder, declarations: int = 240):
    """A later quarter's declarations, ingested as a national system would first, then as a
    dataset of one file a month, one file broken; the same declarations as one file beside
    it."""
    items = synth.generate(declarations, 23, start=date(2025, 4, 1), days=90).items
    items = items.with_columns(pl.col("declaration_id").str.replace("^D", "L"))
    dataset = folder / "dataset"
    for (month,), part in items.group_by(pl.col("lodged_at").dt.month()):
        (dataset / f"month={month:02d}").mkdir(parents=True)
        part.write_parquet(dataset / f"month={month:02d}" / "items.parquet")
    broken = items.head(3).with_columns(
        pl.lit("not a number").alias("invoice_amount"), pl.col("declaration_id") + "-X"
    )
    broken.write_csv(dataset / "month=06" / "broken.csv")
    items.sort("declaration_id").write_parquet(folder / "whole.parquet")
    ingest(folder / "whole.parquet", "canonical", store)
    pl.concat([items, broken], how="diagonal_relaxed").write_parquet(folder / "all.parquet")
    return dataset


def every_detector(store, tmp_path, declarations: int = 240):
    """(an assessor with rules, value references and a model, the later months' dataset);
    the model makes no exploratory pick: those draw from the operating system whoever
    assesses."""
    assessed_store(store, tmp_path, declarations=500, seed=21)
    valuation.build(store, min_n=5)
    train_from_store(store, comment="cluster test")
    dataset = later_months(store, tmp_path, declarations)
    routing = load_routing()
    quiet = routing.model.model_copy(update={"explore": Exploration(novelty=0, uncertainty=0)})
    return assessor_from_store(store, routing.model_copy(update={"model": quiet})), dataset


def decided(folder) -> pl.DataFrame:
    return pl.read_parquet(folder).sort("declaration_id")


def test_a_cluster_decides_as_one_process_does(client, store, tmp_path):
    assessor, dataset = every_detector(store, tmp_path)
    assert {"rules", "valuation", "model"} <= {d.name for d in assessor.detectors}
    assert len(dataset_files(dataset)) == 4

    alone = assess_file(tmp_path / "all.parquet", "canonical", assessor, tmp_path / "one.parquet",
                        draws=DRAWS)  # fmt: skip
    summary = assess_dataset(dataset, "canonical", assessor, tmp_path / "out", client, store,
                             draws=DRAWS)  # fmt: skip

    one = pl.read_parquet(tmp_path / "one.parquet").sort("declaration_id")
    assert decided(tmp_path / "out").equals(one)
    assert len(list((tmp_path / "out").iterdir())) == 3  # the broken file's rows: no decision
    assert summary.assessed == 240 == one.height
    items = pl.read_parquet(tmp_path / "whole.parquet").height
    assert summary.received == alone.received == items + 3  # rows in: accepted + rejected
    assert summary.rejected == alone.rejected == 3 and summary.channels == alone.channels
    with store.connect() as conn:
        count = select(func.count(), func.count(decisions.c.declaration_id.distinct()))
        ours = decisions.c.declaration_id.like("L%")
        assert tuple(conn.execute(count.where(ours)).one()) == (240, 240)


def test_a_worker_killed_mid_run_changes_nothing(client, store, tmp_path):
    assessor, dataset = every_detector(store, tmp_path, declarations=600)
    pids = client.run(os.getpid)
    killed = []

    def kill_a_busy_worker(done, total):
        busy = [address for address, keys in client.processing().items() if keys]
        if busy and not killed:  # once, while a partition is being assessed
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])

    assess_dataset(dataset, "canonical", assessor, tmp_path / "out", client, store,
                   draws=DRAWS, progress=kill_a_busy_worker)  # fmt: skip
    assert killed, "no worker was busy after the first partition: nothing was tested"
    assess_file(tmp_path / "all.parquet", "canonical", assessor, tmp_path / "one.parquet",
                draws=DRAWS)  # fmt: skip
    assert decided(tmp_path / "out").equals(decided(tmp_path / "one.parquet"))
    assert not list((tmp_path / "out").glob(".part-*"))
    with store.connect() as conn:
        per_declaration = (
            select(decisions.c.declaration_id, func.count().label("n"))
            .where(decisions.c.declaration_id.like("L%"))
            .group_by(decisions.c.declaration_id)
        )
        counts = [n for _, n in conn.execute(per_declaration)]
        parts = conn.execute(select(func.count()).select_from(assessed_parts)).scalar()
    assert len(counts) == 600 and set(counts) == {1}
    assert parts == 4


def test_a_dataset_with_no_data_file_is_refused(tmp_path):
    (tmp_path / "empty" / "_SUCCESS").parent.mkdir()
    (tmp_path / "empty" / "_SUCCESS").write_text("")
    with pytest.raises(ValueError, match="no CSV, Parquet or JSON Lines file"):
        dataset_files(tmp_path / "empty")
    with pytest.raises(ValueError, match="no such file or folder"):
        dataset_files(tmp_path / "missing")


def test_the_commands_ingest_and_assess_a_folder_on_local_workers(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tamis.cli import app

    monkeypatch.setenv("TAMIS_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    items = synth.generate(200, 4, days=60).items
    (tmp_path / "dataset").mkdir()
    for (month,), part in items.group_by(pl.col("lodged_at").dt.month()):
        part.write_parquet(tmp_path / "dataset" / f"{month:02d}.parquet")
    out, dataset = tmp_path / "decisions", str(tmp_path / "dataset")
    loaded = CliRunner().invoke(
        app, ["ingest", dataset, "--profile", "canonical", "--workers", "1", "--json"]
    )
    assert loaded.exit_code == 0, loaded.output
    totals = json.loads(loaded.output)
    assert totals["accepted"] == totals["received"] == items.height and totals["rejected"] == 0
    assert totals["files"] == len(totals["per_file"]) == len(dataset_files(tmp_path / "dataset"))
    run = ["assess", dataset, "--out", str(out), "--workers", "1", "--json"]
    result = CliRunner().invoke(app, run)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["assessed"] == 200 and summary["received"] == items.height
    written = pl.read_parquet(out)["declaration_id"].sort()
    assert written.equals(items["declaration_id"].unique().sort())
    refusals = {
        "is a folder": ["--out", str(out)],
        "decisions go to a folder": ["--out", str(tmp_path / "d.parquet"), "--workers", "1"],
        "read back as data": ["--out", f"{dataset}/out", "--workers", "1"],
        "not both": ["--out", str(out), "--workers", "1", "--cluster", "tcp://127.0.0.1:1"],
    }
    for said, options in refusals.items():
        refused = CliRunner().invoke(app, ["assess", dataset, *options])
        assert refused.exit_code != 0 and said in refused.output, (said, refused.output)
    refused = CliRunner().invoke(app, ["ingest", dataset, "--profile", "canonical"])
    assert refused.exit_code != 0 and "is a folder" in refused.output


def test_a_partition_redone_after_its_recording_publishes_what_the_store_holds(store, tmp_path):
    """The worst moment to die: after the commit, before the rename. The attempt that
    redoes the partition records nothing and publishes the first attempt's file."""
    from tamis.cluster import assess_part, part_file

    items = synth.generate(60, 8, days=20).items
    items.write_parquet(tmp_path / "items.parquet")
    assessor, out, url = assessor_from_store(store), tmp_path / "out", store.url
    out.mkdir()
    url = url.render_as_string(hide_password=False)
    first = assess_part(
        0, str(tmp_path / "items.parquet"), "canonical", assessor, str(out), "R", url
    )
    with store.connect() as conn:
        attempt = conn.execute(select(assessed_parts.c.attempt)).scalar_one()
        recorded = conn.execute(select(func.count()).select_from(decisions)).scalar()
    part_file(out, 0).rename(part_file(out, 0, attempt))  # as if it died before the rename
    again = assess_part(
        0, str(tmp_path / "items.parquet"), "canonical", assessor, str(out), "R", url
    )
    assert again == first and first["assessed"] == 60
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(decisions)).scalar() == recorded
        stored = dict(
            conn.execute(select(decisions.c.declaration_id, decisions.c.random_draw)).all()
        )
    published = pl.read_parquet(part_file(out, 0))
    assert dict(published.select("declaration_id", "random_draw").iter_rows()) == stored
    assert not part_file(out, 0, attempt).exists()


def test_a_folder_is_ingested_a_file_per_task_and_a_rerun_stores_nothing_twice(
    client, store, tmp_path
):
    from tamis.ingest import quarantined
    from tamis.store.tables import declarations

    items = synth.generate(300, 12, days=60).items
    (tmp_path / "folder").mkdir()
    for (month,), part in items.group_by(pl.col("lodged_at").dt.month()):
        part.write_parquet(tmp_path / "folder" / f"{month:02d}.parquet")
    broken = items.head(3).with_columns(
        pl.lit("not a number").alias("invoice_amount"), pl.col("declaration_id") + "-X"
    )
    broken.write_csv(tmp_path / "folder" / "broken.csv")

    files = ingest_dataset(tmp_path / "folder", "canonical", store, client)
    months = items["lodged_at"].dt.month().n_unique()
    assert len(files) == months + 1 and sum(f["received"] for f in files) == items.height + 3
    assert sum(f["accepted"] for f in files) == items.height  # rows in: accepted + rejected
    assert sum(f["rejected"] for f in files) == 3 == quarantined(store).height
    with store.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(declarations)).scalar()
    assert stored == items["declaration_id"].n_unique()

    again = ingest_dataset(tmp_path / "folder", "canonical", store, client)
    assert sum(f["inserted"] for f in again) == 0
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(declarations)).scalar() == stored


def test_a_model_learnt_a_month_a_partition_is_registered_like_one_learnt_at_once(
    client, store, tmp_path
):
    from tamis.cluster.train import months, train_on_cluster
    from tamis.learn import registry
    from tamis.learn.data import read_labelled_store

    kcs_rows(3000, 3, date(2020, 1, 1), days=150).write_csv(tmp_path / "kcs.csv")
    ingest(tmp_path / "kcs.csv", "kcs", store)
    alone, alone_metrics = train_from_store(store)
    spread, spread_metrics = train_on_cluster(store, client, comment="on two workers")
    assert len(months(store, None, None)) >= 3
    listed = {m["version"]: m for m in registry.list_models(store)}
    lineage = ("trained_from", "trained_until", "rows", "frauds", "fingerprint")
    assert [listed[spread][k] for k in lineage] == [listed[alone][k] for k in lineage]
    assert listed[spread]["comment"] == "on two workers"
    assert spread_metrics.keys() == alone_metrics.keys() and spread_metrics["precision@10"] > 0
    registry.promote(store, spread)
    version, model, _ = registry.active(store)
    assert version == spread and {"te_importer_id", "log_value", "office"} <= set(model.columns)
    labelled = read_labelled_store(store)
    scored = model.with_history(labelled)
    p = scored.predict_proba(scored.features(labelled))
    fraud = labelled["fraud"].to_numpy()
    assert p[fraud == 1].mean() > p[fraud == 0].mean() + 0.1  # it learnt who defrauds


def test_training_on_a_cluster_reads_only_the_months_asked_for(store, tmp_path):
    from datetime import datetime

    from tamis.cluster.train import months

    assessed_store(store, tmp_path, declarations=200, seed=9)
    since, until = datetime(2025, 1, 15), datetime(2025, 3, 1)
    assert months(store, since, until) == [
        (since, datetime(2025, 2, 1)),
        (datetime(2025, 2, 1), until),
    ]
    assert months(store, datetime(2031, 1, 1), None) == []


def test_the_train_command_on_local_workers_prints_one_json_object(tmp_path):
    """Run as a user runs it: what the workers and LightGBM print stays off stdout."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'a.db'}"
    env = os.environ | {"TAMIS_DATABASE_URL": url}
    tamis = [sys.executable, "-m", "tamis.cli"]
    from tamis.store import open_store

    refused = subprocess.run([*tamis, "learn", "train", "--workers", "1", "--json"],
                             env=env, capture_output=True, text=True)  # fmt: skip
    assert refused.returncode != 0 and "0 inspected item(s)" in refused.stderr
    winter = kcs_rows(500, 4, date(2020, 1, 1), days=30)
    spring = kcs_rows(500, 5, date(2020, 4, 1), days=30)
    pl.concat([winter, spring]).write_csv(tmp_path / "kcs.csv")  # nothing lodged in February
    ingest(tmp_path / "kcs.csv", "kcs", open_store(url))
    done = subprocess.run([*tamis, "learn", "train", "--workers", "2", "--json"],
                          env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["version"] == 1 and "precision@5" in printed["holdout_metrics"]
    both = subprocess.run(
        [*tamis, "learn", "train", "--workers", "1", "--cluster", "tcp://127.0.0.1:1"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert both.returncode != 0 and "not both" in both.stderr
