"""``tamis learn``: evaluate on files, train from the store, the model registry, drift."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tamis.cluster_options import ClusterOption, WorkersOption, on_cluster
from tamis.output import print_json

if TYPE_CHECKING:
    from tamis.learn.data import LabelledFiles

app = typer.Typer(help="Learn from inspection outcomes: models, registry, drift.",
                  no_args_is_help=True)  # fmt: skip
console = Console(soft_wrap=True)
errors = Console(stderr=True)
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
Date = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])]


def _fail(message: str) -> None:
    errors.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command("evaluate")
def evaluate_command(
    train: Annotated[str, typer.Option(help="File(s) to fit on, comma-separated (earlier).")],
    test: Annotated[str, typer.Option(help="File(s) to rank, comma-separated (later).")],
    profile: Annotated[str, typer.Option(help="Mapping profile with outcomes.")] = "kcs",
    chart: Annotated[Path | None, typer.Option(help="Write a PNG chart here.")] = None,
    rank_by: Annotated[
        str, typer.Option(help="probability, expected_revenue or balanced (p·(revenue + C)).")
    ] = "balanced",
    revenue_weight: Annotated[
        float, typer.Option(min=0.01, help="Weight of revenue@5 against precision@5 (balanced).")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="LightGBM's random seed.")] = 0,
    as_json: Json = False,
) -> None:
    """Fit on --train, rank --test: precision@k, recall@k, revenue@k of model and baseline."""
    from tamis.learn.data import read_labelled_files
    from tamis.learn.evaluate import chart as draw
    from tamis.learn.evaluate import evaluate, table
    from tamis.learn.ranking import RANKINGS

    if rank_by not in RANKINGS:
        _fail(f"--rank-by {rank_by}: one of {', '.join(RANKINGS)}")
    try:
        files = {"train": read_labelled_files(train, profile),
                 "test": read_labelled_files(test, profile)}  # fmt: skip
    except (OSError, ValueError) as error:
        _fail(str(error))
    for option, read in files.items():
        _warn_left_out(option, read)
        if read.frame.is_empty():
            _fail(f"--{option}: no inspected declaration to {option} on")
    train_frame, test_frame = files["train"].frame, files["test"].frame
    if train_frame["lodged_at"].max() > test_frame["lodged_at"].min():
        errors.print("[yellow]warning:[/yellow] --train and --test periods overlap")
    result = evaluate(train_frame, test_frame, revenue_weight, rank_by, seed)  # type: ignore[arg-type]
    if chart:
        draw(result, chart)
    if as_json:
        records = {f"{option}_records": read.summary() for option, read in files.items()}
        print_json(result.as_json() | records)
        return
    console.print(f"train {result.train_rows:,} rows, test {result.test_rows:,} rows; "
                  f"model ranks by {rank_by}, baseline by p")  # fmt: skip
    console.print(table(result))
    console.print(
        f"fit {result.fit_seconds:.1f} s, scoring {result.score_rows_per_second:,.0f} rows/s"
    )


SHOWN = 5  # refused records named on the terminal; the JSON counts them all by reason


def _warn_left_out(option: str, read: LabelledFiles) -> None:
    """Say on stderr which records of --train / --test were refused, and why."""
    if read.rejected.is_empty():
        return
    errors.print(f"[yellow]warning:[/yellow] --{option}: {read.rejected.height:,} of "
                 f"{read.received:,} records refused and left out:")  # fmt: skip
    for file, detail in read.rejected.head(SHOWN).select("file", "detail").iter_rows():
        errors.print(f"  {file}: {detail}", highlight=False, markup=False, soft_wrap=True)
    if read.rejected.height > SHOWN:
        errors.print(f"  … and {read.rejected.height - SHOWN:,} more (see --json)")


@app.command("train")
def train_command(
    since: Date = None,
    until: Date = None,
    comment: Annotated[str | None, typer.Option(help="Recorded with the model.")] = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    as_json: Json = False,
) -> None:
    """Fit a model on the store's inspected declarations and register it (on a cluster: a
    month of them a partition)."""
    from tamis.learn.train import train_from_store
    from tamis.store import open_store

    engine = open_store()
    try:
        if on_cluster(workers, cluster, as_json=as_json):
            from tamis.cluster import connected
            from tamis.cluster.train import train_on_cluster

            with connected(workers, cluster) as client:
                version, metrics = train_on_cluster(engine, client, since, until, comment)
        else:
            version, metrics = train_from_store(engine, since, until, comment)
    except ValueError as error:
        _fail(str(error))
    if as_json:
        print_json({"version": version, "holdout_metrics": metrics})
        return
    console.print(f"model version {version} registered; holdout precision@5 "
                  f"{metrics.get('precision@5', float('nan')):.3f}, revenue@5 "
                  f"{metrics.get('revenue@5', float('nan')):.3f}")  # fmt: skip


Kind = Annotated[
    str,
    typer.Option(
        "--kind",
        help="fraud_lightgbm (the fraud models) or routing (routing's learnt combinations).",
    ),
]


@app.command("models")
def models_command(as_json: Json = False, kind: Kind = "fraud_lightgbm") -> None:
    """The registered models of a kind, the active one marked."""
    from tamis.learn.registry import list_models
    from tamis.store import open_store

    rows = list_models(open_store(), kind)
    if kind != "fraud_lightgbm" and not as_json:
        for r in rows:
            left_out = ", ".join(r["metrics"].get("left_out", {})) or "none"
            console.print(f"{'*' if r['active'] else ' '} {r['version']}: {r['rows']:,} inspected, "
                          f"{r['frauds']:,} frauds; no weight: {left_out}")  # fmt: skip
        return
    if as_json:
        print_json(rows)
        return
    table = Table("version", "active", "trained", "rows", "frauds", "precision@5", "revenue@5")
    for r in rows:
        m = r["metrics"]
        table.add_row(str(r["version"]), "*" if r["active"] else "",
                      f"{r['trained_from']:%Y-%m-%d} – {r['trained_until']:%Y-%m-%d}",
                      str(r["rows"]), str(r["frauds"]),
                      f"{m.get('precision@5', float('nan')):.3f}",
                      f"{m.get('revenue@5', float('nan')):.3f}")  # fmt: skip
    console.print(table)


Reason = Annotated[
    str, typer.Option("--reason", help="Why: kept with the change in the audit trail.")
]


def _reason(reason: str) -> str:
    if not reason.strip():
        _fail("--reason: say why the active model changes (it is kept in the audit trail)")
    return reason.strip()


@app.command("promote")
def promote_command(version: int, reason: Reason, kind: Kind = "fraud_lightgbm") -> None:
    """Make VERSION the active model of its kind."""
    from tamis.learn.registry import RegistryError, promote
    from tamis.store import open_store
    from tamis.users_cli import actor

    try:
        promote(open_store(), version, kind, actor(), _reason(reason))
    except RegistryError as error:
        _fail(str(error))
    console.print(f"model version {version} is active")


@app.command("rollback")
def rollback_command(reason: Reason, kind: Kind = "fraud_lightgbm") -> None:
    """Re-activate the model of a kind that was active before the current one."""
    from tamis.learn.registry import RegistryError, rollback
    from tamis.store import open_store
    from tamis.users_cli import actor

    try:
        version = rollback(open_store(), kind, actor(), _reason(reason))
    except RegistryError as error:
        _fail(str(error))
    console.print(f"rolled back: model version {version} is active")


@app.command("drift")
def drift_command(
    weeks: Annotated[int, typer.Option(min=1, help="Recent weeks compared.")] = 4,
    as_json: Json = False,
) -> None:
    """PSI of main features and score: training window against recent weeks."""
    from tamis.learn.drift import THRESHOLD
    from tamis.learn.train import store_drift
    from tamis.store import open_store

    try:
        report = store_drift(open_store(), weeks)
    except ValueError as error:
        _fail(str(error))
    if as_json:
        print_json({"threshold": THRESHOLD, "psi": report})
        return
    for name, value in report.items():
        flag = "  [red]drift[/red]" if value > THRESHOLD else ""
        console.print(f"  {name:<55} {value:7.3f}{flag}")


@app.command("uplift")
def uplift_command(as_json: Json = False) -> None:
    """Hit rate and revenue of each detector against the random-selection control group."""
    from tamis.learn.uplift import store_uplift
    from tamis.store import open_store

    try:
        table = store_uplift(open_store())
    except ValueError as error:
        _fail(str(error))
    if as_json:
        print_json(table.to_dicts())
        return
    console.print(table)


def _detector_report(engine):
    """The routing in force, the share of decisions it inspects (orange and red budgets,
    else 10 %) and what each detector and rule finds (``tamis.learn.detector_report``)."""
    from tamis.learn.combiner import routing_in_force
    from tamis.learn.detector_report import inspected_share, report

    routing = routing_in_force(engine)
    share = inspected_share(routing)
    return routing, share, report(engine, routing, share)


def _print_report(routing, share: float, rows) -> None:
    title = (f"{routing.combination}; marginal: revenue lost without it in the top {share:.0%}; "
             f"status against the lift floor {routing.learn.lift_floor}")  # fmt: skip
    table = Table("name", "flagged", "inspected", "hit rate", "revenue", "lift", "marginal",
                  "status", title=title)  # fmt: skip
    short = "{:,.0f}".format
    for r in rows.iter_rows(named=True):
        name = r["name"] if r["kind"] == "detector" else f"rule {r['name']}"
        above = f" (> {r['above']:g})" if r["above"] else ""
        table.add_row(name, f"{r['flagged']:,}{above}", f"{r['inspected']:,}",
                      "—" if r["hit_rate"] is None else f"{r['hit_rate']:.1%}", short(r["revenue"]),
                      "—" if r["lift"] is None else f"{r['lift']:.2f}",
                      "—" if r["marginal"] is None else short(r["marginal"]),
                      r["status"].split(":")[0])  # fmt: skip
    wide = Console(file=console.file, width=max(console.width, 120))  # not a pipe's 80
    wide.print(table)


@app.command("routing")
def routing_command(
    comment: Annotated[str | None, typer.Option(help="Recorded with the combination.")] = None,
    as_json: Json = False,
) -> None:
    """Learn routing's combination of detectors from inspection results, then report."""
    from tamis.learn.combiner import train
    from tamis.store import open_store

    engine = open_store()
    version = train(engine, comment=comment)
    routing, share, rows = _detector_report(engine)
    if as_json:
        print_json({"version": version, "share": share, "report": rows.to_dicts()})
        return
    if version is None:
        console.print("too few inspection results: routing keeps its fixed weights")
    else:
        console.print(f"routing combination version {version} registered")
    _print_report(routing, share, rows)


@app.command("report")
def report_command(as_json: Json = False) -> None:
    """What each detector and rule finds: flags, hit rate, lift, marginal revenue, status."""
    from tamis.store import open_store

    routing, share, rows = _detector_report(open_store())
    if as_json:
        print_json(rows.to_dicts())
        return
    _print_report(routing, share, rows)
