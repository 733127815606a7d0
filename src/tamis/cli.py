"""The ``tamis`` command: one entry point over the same core as the API."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

# The sub-commands' modules are cheap to import: each command imports its package itself.
from tamis.cases.cli import assistance_app, audit_app, cases_app, watchlist_app
from tamis.cluster_options import ClusterOption, WorkersOption, on_cluster
from tamis.documents.cli import app as documents_app
from tamis.intel.cli import app as intel_app
from tamis.intel.cli import network_app
from tamis.learn.cli import app as learn_app
from tamis.offences.cli import app as offences_app
from tamis.output import JsonOption, fail, print_json, print_mapping
from tamis.progress import progress_bar
from tamis.social.cli import app as social_app
from tamis.transit.cli import app as transit_app
from tamis.users_cli import DEMO_ADMIN, audit_trail_command, seed_demo_admin
from tamis.users_cli import app as users_app
from tamis.valuation.cli import app as valuation_app

if TYPE_CHECKING:
    import polars as pl

app = typer.Typer(help="Tamis: customs risk management and targeting.", no_args_is_help=True)


db_app = typer.Typer(
    help="The store: schema migrations, partitions by month.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
rules_app = typer.Typer(
    help="Risk profiles (rules), kept as versioned rule sets.", no_args_is_help=True
)
app.add_typer(rules_app, name="rules")
app.add_typer(valuation_app, name="valuation", help="Value control: the reference-price database.")
app.add_typer(learn_app, name="learn", help="Data mining: models learnt from inspection outcomes.")
app.add_typer(users_app, name="users")
app.add_typer(cases_app, name="cases")
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(audit_app, name="post-clearance")
app.add_typer(assistance_app, name="assistance")
app.command("audit-trail")(audit_trail_command)
app.add_typer(intel_app, name="intel", help="Cross-source intelligence and entity resolution.")
app.add_typer(network_app, name="network", help="The network of parties and its risk.")
app.add_typer(transit_app, name="transit", help="Transit: movements, messages, guarantees, alerts.")
app.add_typer(
    offences_app, name="offences", help="Offences: penalties, settlements, courts, payments."
)
app.add_typer(documents_app, name="documents")
app.add_typer(social_app, name="social")
console = Console()
errors = Console(stderr=True)
FolderArgument = Annotated[
    Path,
    typer.Argument(help="CSV, Parquet or JSON Lines file (on a cluster: or a folder of them)."),
]


@app.command("ingest")
def ingest_command(
    path: FolderArgument,
    profile: Annotated[str, typer.Option(help="Mapping profile: a shipped name or a YAML path.")],
    as_json: JsonOption = False,
    batch_rows: Annotated[int | None, typer.Option(help="Rows per transaction.")] = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Load declarations from a file; invalid records go to the quarantine with their reason."""
    from tamis import scoreboard  # noqa: F401  (it listens to what ingest stores)
    from tamis.ingest import ProfileError, SourceError, ingest
    from tamis.store import open_store

    clustered = on_cluster(workers, cluster, path, as_json)
    engine = open_store()
    try:
        with progress_bar(f"ingest {path.name}") as update:
            if clustered:
                return _ingest_on_cluster(path, profile, engine, workers, cluster, update, as_json)
            summary = ingest(path, profile, engine, batch_rows=batch_rows, progress=update)
    except (ProfileError, SourceError, ValueError) as error:
        fail(str(error), as_json)
    except KeyboardInterrupt:
        errors.print("interrupted: whole batches are stored; run the same command to complete")
        raise typer.Exit(130) from None
    result = summary.as_dict()
    if as_json:
        print_json(result)
        return
    print_mapping(f"Ingested {path}", {k: v for k, v in result.items() if k != "source"})
    if summary.rejected:
        console.print("See them with: tamis quarantine --source " + summary.source_id[:12])


def _ingest_on_cluster(path, profile, engine, workers, address, progress, as_json) -> None:
    from tamis.cluster import connected, ingest_dataset

    with connected(workers, address) as client:
        files = ingest_dataset(path, profile, engine, client, progress)
    counted = ("received", "accepted", "rejected", "inserted", "already_stored")
    totals = {"files": len(files)} | {k: sum(f[k] for f in files) for k in counted}
    if as_json:
        print_json(totals | {"per_file": files})
        return
    print_mapping(f"Ingested {path}", totals)
    if totals["rejected"]:
        console.print("See them with: tamis quarantine (each file is a source of its own)")


@app.command("quarantine")
def quarantine_command(
    source: Annotated[str | None, typer.Option(help="Source id (or its first characters).")] = None,
    export: Annotated[
        Path | None, typer.Option(help="Write them to .csv, .parquet or .jsonl.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to list on screen.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List or export the rejected records, with source, row, field, value and reason."""
    from tamis.ingest import quarantined
    from tamis.store import open_store

    frame = quarantined(open_store(), source)
    if export:
        writers = {
            ".csv": frame.write_csv,
            ".parquet": frame.write_parquet,
            ".jsonl": frame.write_ndjson,
        }
        if export.suffix not in writers:
            fail(f"--export {export}: expected a .csv, .parquet or .jsonl file name")
        writers[export.suffix](export)
        errors.print(f"{frame.height:,} quarantined records written to {export}")
        return
    if as_json:
        print_json(frame.head(limit).to_dicts() if limit else frame.to_dicts())
        return
    table = Table(title=f"{frame.height:,} quarantined records", title_justify="left")
    for column in ("source_row", "record_key", "field", "value", "reason"):
        table.add_column(column)
    for row in (
        frame.head(limit).select("source_row", "record_key", "field", "value", "reason").iter_rows()
    ):
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    if frame.height:
        console.print(frame.group_by("reason").len().sort("len", descending=True))


@app.command("status")
def status_command(as_json: JsonOption = False) -> None:
    """What the store holds."""
    from tamis.store import open_store
    from tamis.store.summary import store_summary

    summary = store_summary(open_store())
    print_json(summary) if as_json else print_mapping("Tamis store", summary)


@app.command("synth")
def synth_command(
    declarations: Annotated[int, typer.Option(help="Number of declarations.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data.")] = 7,
    out: Annotated[Path, typer.Option(help="Output .parquet, .csv or .jsonl.")] = Path(
        "year.parquet"
    ),
    start: Annotated[str, typer.Option(help="First lodgement day (YYYY-MM-DD).")] = "2025-01-01",
    days: Annotated[int, typer.Option(help="Days covered.")] = 365,
) -> None:
    """Generate a synthetic year of declarations with planted, labelled fraud."""
    from tamis import synth

    data = synth.generate(declarations, seed, start=date.fromisoformat(start), days=days)
    synth.write(data, out)
    items = data.items
    declared = items["declaration_id"].n_unique()
    frauds = items.filter("fraud")["declaration_id"].n_unique()
    console.print(
        f"{declared:,} declarations ({items.height:,} items) written to {out}; "
        f"{frauds:,} with planted fraud; manifests, payments, trademark register and tax "
        "returns beside it"
    )


@app.command("assess")
def assess_command(
    path: FolderArgument,
    out: Annotated[Path, typer.Option(help="Decisions: .parquet, .jsonl or .csv (on a "
                                           "cluster: a folder, a Parquet file a partition).")],
    profile: Annotated[str, typer.Option(help="Mapping profile.")] = "canonical",
    record_decisions: Annotated[
        bool, typer.Option("--record/--no-record", help="Store each decision.")
    ] = True,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Score a whole file in batch: one row per declaration with channel, score and reasons."""
    from tamis.assess import assess_file, assessor_from_store
    from tamis.ingest import ProfileError, SourceError
    from tamis.store import open_store

    clustered = on_cluster(workers, cluster, path)
    engine = open_store()
    assessor = assessor_from_store(engine)
    recorded = engine if record_decisions else None
    try:
        with progress_bar(f"assess {path.name}") as update:
            if clustered:
                summary = _assess_on_cluster(path, profile, assessor, out, recorded,
                                             workers, cluster, update)  # fmt: skip
            else:
                summary = assess_file(path, profile, assessor, out, recorded, progress=update)
    except (ProfileError, SourceError, ValueError) as error:
        fail(str(error))
    result = {
        "out": str(out),
        "rule_set_version": assessor.rule_set_version,
        "detectors": [d.name for d in assessor.detectors],
        **summary.__dict__,
    }
    print_json(result) if as_json else print_mapping(f"Assessed {path}", result)


def _assess_on_cluster(path, profile, assessor, out, engine, workers, address, progress):
    from tamis.cluster import assess_dataset, connected

    if out.suffix:
        fail(f"--out {out}: on a cluster, decisions go to a folder (one file a partition)")
    with connected(workers, address) as client:
        return assess_dataset(path, profile, assessor, out, client, engine, progress=progress)


def _rule_set_or_fail(engine, version: int | None):
    from tamis import rulesets

    try:
        return rulesets.get(engine, version) if version else rulesets.current(engine)[1]
    except LookupError as error:
        fail(str(error))


@rules_app.command("list")
def rules_list(version: Annotated[int | None, typer.Option(help="Default: current.")] = None):
    """The rules of a version."""
    from tamis import rulesets
    from tamis.store import open_store

    engine = open_store()
    rulesets.ensure_rule_set(engine)
    table = Table(title=f"Rule set {version or rulesets.current(engine)[0]}", title_justify="left")
    for column in ("id", "active", "weight / channel", "author", "description"):
        table.add_column(column)
    for r in _rule_set_or_fail(engine, version).rules:
        table.add_row(
            r.id, "yes" if r.active else "no", str(r.weight or r.channel), r.author, r.description
        )
    console.print(table)


@rules_app.command("show")
def rules_show(rule_id: str, version: Annotated[int | None, typer.Option()] = None) -> None:
    """One rule, in full."""
    from tamis.store import open_store

    rule = next(
        (r for r in _rule_set_or_fail(open_store(), version).rules if r.id == rule_id), None
    )
    if rule is None:
        fail(f"no rule {rule_id!r}")
    print_json(rule.model_dump(mode="json", by_alias=True, exclude_none=True))


@rules_app.command("apply")
def rules_apply(
    file: Annotated[Path, typer.Argument(help="YAML rule set.")],
    author: Annotated[str, typer.Option(help="Who makes the change.")],
    comment: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Make a YAML rule set the current version (a new version if anything changed)."""
    from tamis import rulesets
    from tamis.detectors.rules import RuleSetError, rule_set_from_file
    from tamis.store import open_store

    try:
        rule_set = rule_set_from_file(file)
    except (RuleSetError, OSError) as error:
        fail(str(error))
    version = rulesets.apply(open_store(), rule_set, author, comment)
    console.print(f"rule set version {version}: {len(rule_set.rules)} rules")


@rules_app.command("diff")
def rules_diff(old: int, new: int) -> None:
    """What changed between two versions."""
    from tamis import rulesets
    from tamis.store import open_store

    engine = open_store()
    print_json(rulesets.diff(_rule_set_or_fail(engine, old), _rule_set_or_fail(engine, new)))


@rules_app.command("versions")
def rules_versions() -> None:
    """Every version with its author and time."""
    from tamis import rulesets
    from tamis.store import open_store

    print_json(rulesets.history(open_store()))


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes, each with its own models (about one per core; failed "
            "logins are then counted apart unless TAMIS_RATE_LIMIT_STORAGE is Redis).",
        ),
    ] = 1,
) -> None:
    """Serve the dashboard (/), the API (under /api) and /health."""
    import uvicorn

    uvicorn.run(
        "tamis.api.app:served_app", factory=True, host=host, port=port, workers=workers,
        log_level="warning",
    )  # fmt: skip


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the store's schema to the latest revision."""
    from tamis.store import open_store

    engine = open_store()
    console.print(f"{engine.url.render_as_string(hide_password=True)} is at the latest revision")


@db_app.command("rebuild-scoreboard")
def db_rebuild_scoreboard() -> None:
    """Recompute the dashboard's scoreboard sums from the store (e.g. after an upgrade)."""
    from tamis.scoreboard.update import rebuild
    from tamis.store import open_store

    with progress_bar("scoreboard") as update:
        counted = rebuild(open_store(), progress=update)
    console.print(f"scoreboard rebuilt from {counted:,} declarations")


@db_app.command("partitions")
def db_partitions(
    ahead: Annotated[int, typer.Option(help="Months to create beyond the current one.", min=0)] = 3,
    as_json: JsonOption = False,
) -> None:
    """PostgreSQL: create the months ahead, and a month of its own for every row lodged in a
    month not created yet (held until then by the default partition); each month's rows."""
    from tamis.refusals import Refusal
    from tamis.store import open_store, partitions

    engine = open_store()
    try:
        done = partitions.maintain(engine, ahead)
        with engine.connect() as conn:
            held = partitions.month_rows(conn)
    except Refusal as refused:
        fail(str(refused), as_json)
    created = [f"{m:%Y-%m}" for m in done.created]
    if as_json:
        return print_json({"created": created, "moved": done.moved, "months": held})
    console.print(f"months created: {', '.join(created) or 'none'}; rows moved: {done.moved}")
    table = Table("month", *partitions.PARTITIONED, title="rows by month of lodgement")
    for row in held:
        table.add_row(f"{row['month']:%Y-%m}", *(f"{row[t]:,}" for t in partitions.PARTITIONED))
    console.print(table)


@db_app.command("archive")
def db_archive(
    month: Annotated[str, typer.Argument(help="The month to archive, YYYY-MM.")],
    to: Annotated[Path, typer.Option(help="Folder of the Parquet files, one per table.")],
    as_json: JsonOption = False,
) -> None:
    """PostgreSQL: write a month of declarations, items and decisions to Parquet, then
    detach and drop its partitions."""
    from datetime import datetime

    from tamis.refusals import Refusal
    from tamis.store import open_store, partitions

    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        fail(f"month: {month[:20]!r} is not a month written YYYY-MM", as_json)
    try:
        done = partitions.archive(open_store(), first, to)
    except Refusal as refused:
        fail(str(refused), as_json)
    summary = {t: {"rows": done.rows[t], "file": str(done.files[t])} for t in done.files}
    if as_json:
        return print_json({"month": month, "archived": summary})
    print_mapping(f"{month} archived and dropped", summary)


@app.command("demo")
def demo_command(
    workdir: Annotated[Path, typer.Option(help="Where the demo's files go.")] = Path("demo"),
    declarations: Annotated[int, typer.Option(help="Declarations in the synthetic year.")] = 20_000,
    serve: Annotated[
        bool | None,
        typer.Option(
            "--serve/--no-serve",
            help="Serve the dashboard at the end [default: when standard input is a terminal].",
        ),
    ] = None,  # fmt: skip
    host: Annotated[str, typer.Option(help="Where the dashboard listens.")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """The main job on the embedded store: synthetic year → ingest → channels → cases and
    inspection results → a model → the dashboard."""
    workdir.mkdir(parents=True, exist_ok=True)
    year = workdir / "year.parquet"
    console.rule("1. A synthetic year of import declarations")
    synth_command(declarations=declarations, seed=7, out=year, start="2025-01-01", days=365)
    console.rule("2. Ingest into the store, with manifests, payments, trademarks, tax returns")
    ingest_command(year, "canonical")
    from tamis import synth
    from tamis.intel.cli import ingest_command as ingest_source_command

    for source in synth.Synthetic.SOURCES:
        ingest_source_command(year.with_name(f"year.{source}.parquet"), source, None, False)
    console.rule("3. What the store holds")
    status_command()
    console.rule("4. Value control: reference prices from the year's history")
    from tamis.valuation.cli import build_command

    build_command(window_months=12, until=None, min_n=20, full=False, as_json=False)
    console.rule("5. Selectivity: every declaration gets a channel")
    assessed = workdir / "assessed.parquet"
    assess_command(year, out=assessed, profile="canonical", record_decisions=True)
    import polars as pl

    from tamis.assess import channel_mix
    from tamis.store import open_store

    truth = pl.read_parquet(year, columns=["declaration_id", "fraud", "revenue_at_stake"])
    decided = pl.read_parquet(assessed)
    console.print("Channel mix and hit rate against the planted ground truth:")
    console.print(channel_mix(decided, truth))
    from tamis.learn.detector_report import inspected_share
    from tamis.route import load_routing

    inspected = decided["channel"].is_in(["orange", "red"]).mean()
    capacity = inspected_share(load_routing())
    console.print(f"sent to inspection (orange, red): {inspected:.1%}; capacity {capacity:.0%}")
    console.rule("6. The targeting centre: cases, and inspection results coming back")
    engine = open_store()
    password = seed_demo_admin(engine)
    if password:
        console.print(f"demo login: {DEMO_ADMIN} / {password}  (shown once)")
    else:
        console.print(f"demo login: {DEMO_ADMIN} (created by an earlier run; `tamis users reset`)")
    record_demo_inspections(engine, year, decided)
    console.rule("7. Data mining: a model learnt from the inspection results")
    from tamis.learn.cli import models_command, train_command

    train_command(since=None, until=None, comment="demo", as_json=False)
    models_command(as_json=False)
    console.rule("8. Selectivity learnt from the results: what each detector and rule earns")
    from tamis.learn.cli import routing_command

    routing_command(comment="demo", as_json=False)
    console.rule("9. Cross-source intelligence: entities across sources, network risk")
    from tamis.intel.cli import network_build_command, network_top_command, resolve_command

    resolve_command(threshold=0.5, as_json=False)
    network_build_command(as_json=False)
    network_top_command(limit=5)
    console.print("See one with: tamis network show IMPORTER_ID")
    console.rule("10. Offences: fraud notices, penalties, settlements and the courts")
    from tamis.offences.cli import demo_command as offences_demo_command

    offences_demo_command(as_json=False)
    console.rule("11. Trade documents: registered in a log a partner witnesses")
    from tamis.documents.cli import demo_command as documents_demo_command

    documents_demo_command(workdir=workdir, declarations=60, as_json=False)
    console.rule("12. Transit: movements under bond, their seals tracked on the way")
    from tamis.transit.cli import synth_command as transit_synth_command

    transit_synth_command(movements=400, seed=7, out=workdir / "seals.csv", as_json=False)
    console.rule("13. Social media: sellers of copies linked to importers")
    from tamis.social.cli import demo_command as social_demo_command

    social_demo_command(workdir=workdir, declarations=declarations, as_json=False)
    console.rule("14. The dashboard")
    console.print(f"Dashboard: http://{host}:{port}/")
    if password:
        console.print(f"demo login: {DEMO_ADMIN} / {password}")
    else:
        console.print(f"demo login: {DEMO_ADMIN} (password printed when it was created)")
    if serve if serve is not None else sys.stdin.isatty():
        console.print("Serving; stop with Ctrl+C.")
        serve_command(host=host, port=port)
    else:
        console.print("Not serving (no terminal): start it with `tamis serve`.")


def record_demo_inspections(engine, year: Path, decided: pl.DataFrame, pending_days: int = 7):
    """Inspectors' results, simulated from the planted truth: cases are worked through the
    case workflow, except those of the last ``pending_days`` (still in the queues); other
    inspected declarations (random picks) are recorded in bulk."""
    import polars as pl

    from tamis import scoreboard  # noqa: F401  (it listens to the results stored)
    from tamis.cases import cases
    from tamis.cases.results import InspectionIn, record_result
    from tamis.inspections import record_outcomes, simulated_results
    from tamis.store.read import read_outcomes

    columns = ["declaration_id", "lodged_at", "fraud", "fraud_type", "revenue_at_stake"]
    truth = pl.read_parquet(year, columns=columns)  # per item
    lodged = truth.select("declaration_id", "lodged_at")
    results = simulated_results(decided, truth, lodged)
    known = read_outcomes(engine)["declaration_id"].implode()
    results = results.filter(~pl.col("declaration_id").is_in(known))  # a rerun adds none
    pending_from = lodged["lodged_at"].max() - timedelta(days=pending_days)
    by_declaration = {r["declaration_id"]: r for r in results.iter_rows(named=True)}
    open_cases = cases.queue(engine, status="open", limit=10**9)
    worked = 0
    with progress_bar("inspectors work the cases") as update:
        for case in open_cases:
            found = by_declaration.pop(case["declaration_id"], None)
            if found is None or found["inspected_at"] > pending_from:
                continue
            inspection = InspectionIn(
                result=found["result"],
                fraud_type=found["fraud_type"],
                revenue_recovered=round(found["revenue_recovered"], 2),
                inspected_at=found["inspected_at"],
            )
            record_result(engine, case["case_id"], inspection, "demo-inspector")
            worked += 1
            update(worked, len(open_cases))
    rest = results.filter(pl.col("declaration_id").is_in(list(by_declaration)))
    stored = record_outcomes(engine, rest) if rest.height else 0
    found = results.filter(pl.col("result") == "non_compliant").height
    console.print(
        f"{worked:,} cases worked and closed with their results, {stored:,} other inspections "
        f"recorded, {found:,} non-compliant; {len(open_cases) - worked:,} cases still open"
    )


if __name__ == "__main__":
    app()
