"""``tamis intel``: load the other sources, resolve entities, list cross-check findings;
``tamis network``: the graph of parties around an entity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tamis.intel.sources import SOURCES
from tamis.output import JsonOption, fail, print_json, print_mapping
from tamis.progress import progress_bar

app = typer.Typer(
    help="Cross-source intelligence: manifests, payments, trademarks, tax returns, entities.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True)


@app.command("ingest")
def ingest_command(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines file.")],
    source: Annotated[str, typer.Option(help=f"One of: {', '.join(SOURCES)}.")],
    profile: Annotated[
        str | None, typer.Option(help="Mapping profile (default: the source's own format).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Load a source file; invalid records go to the quarantine with their reason."""
    from tamis.ingest import ProfileError, SourceError
    from tamis.intel.ingest import ingest_source
    from tamis.store import open_store

    if source not in SOURCES:
        fail(f"--source {source!r}: expected one of {', '.join(SOURCES)}")
    engine = open_store()
    try:
        with progress_bar(f"ingest {path.name}") as update:
            summary = ingest_source(path, source, engine, profile, progress=update)
    except (ProfileError, SourceError) as error:
        fail(str(error), as_json)
    result = {"source_kind": source, **summary.as_dict()}
    if as_json:
        print_json(result)
        return
    print_mapping(f"Ingested {path}", {k: v for k, v in result.items() if k != "source"}, console)
    if summary.rejected:
        console.print("See them with: tamis quarantine --source " + summary.source_id[:12])


@app.command("resolve")
def resolve_command(
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Match probability from which pairs link.")
    ] = 0.5,
    spark: Annotated[
        str | None,
        typer.Option(help="Run Splink on Spark at this master URL (local[2], spark://host:7077)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve the parties of every source into entities (Splink); analysts' decisions hold."""
    from tamis.intel.resolve import SparkMasterError, resolve
    from tamis.store import open_store

    engine = open_store()
    with progress_bar("resolve entities") as update:
        update(0, None)
        try:
            result = resolve(engine, threshold, spark).as_dict()
        except SparkMasterError as error:
            fail(str(error), as_json)
    print_json(result) if as_json else print_mapping("Entities resolved", result, console)


@app.command("entity")
def entity_command(
    entity: Annotated[str, typer.Argument(help="An entity id (an importer id, or ENT-...).")],
    as_json: JsonOption = False,
) -> None:
    """The records of every source resolved to one entity, and their keys for decisions."""
    from tamis.intel.resolve import entity_records_of
    from tamis.store import open_store

    records = entity_records_of(open_store(), entity)
    if records.is_empty():
        fail(f"no entity {entity!r}: run `tamis intel resolve` first, or check the id")
    if as_json:
        print_json(records.to_dicts())
        return
    console.print(f"[bold]{entity}[/bold]: {records.height} record(s)")
    for r in records.iter_rows(named=True):
        extra = ", ".join(
            f"{k} {r[k]}" for k in ("customs_id", "address", "phone", "account") if r[k]
        )
        console.print(f"  {r['record_key']}  {r['source']:<12} {r['name']}  ({extra})")


@app.command("decide")
def decide_command(
    record_l: Annotated[str, typer.Argument(help="A record key (see `tamis intel entity`).")],
    record_r: Annotated[str, typer.Argument(help="Another record key.")],
    analyst: Annotated[str, typer.Option(help="Who decides.")],
    confirm: Annotated[
        bool, typer.Option("--confirm/--split", help="Same company, or not the same.")
    ],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Confirm or split a pair of records; every later `resolve` applies the decision."""
    from tamis.intel.resolve import decide
    from tamis.store import open_store

    try:
        decide(open_store(), record_l, record_r, "confirm" if confirm else "split", analyst, reason)
    except ValueError as error:
        fail(str(error))
    console.print(
        f"{'confirmed' if confirm else 'split'}: {record_l} / {record_r} "
        "(applied by the next `tamis intel resolve`)"
    )


@app.command("findings")
def findings_command(
    detector: Annotated[str, typer.Argument(help="manifest, payments, brands or tax.")],
    out: Annotated[Path | None, typer.Option(help="Write them all to .csv or .parquet.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to list on screen.")] = 20,
) -> None:
    """The discrepancies a cross-check finds over the whole store."""
    import polars as pl

    from tamis.detectors.base import StoreContext
    from tamis.detectors.registry import CROSS_SOURCE
    from tamis.reasons import render_all
    from tamis.store import open_store
    from tamis.store.read import read_items

    sources = {d.name: s for s, d in CROSS_SOURCE.items()}
    if detector not in sources:
        fail(f"no cross-check {detector!r}: expected one of {', '.join(sources)}")
    engine = open_store()
    history = read_items(engine)
    context = StoreContext(engine)
    context.items = history
    found = CROSS_SOURCE[sources[detector]].from_store(engine, context)
    if found is None:
        fail(f"the store holds no {sources[detector]}: load them with `tamis intel ingest`")
    frame = found.findings(history)
    keys = [c for c in FINDING_KEYS if c in frame.columns]
    # the reasons in words (they are stored as codes and figures: tamis.reasons)
    said = pl.Series("reason", render_all(frame["reason"].to_list(), "en"), pl.String)
    frame = frame.select(*keys, "reason").with_columns(said)
    if out:
        frame.write_parquet(out) if out.suffix == ".parquet" else frame.write_csv(out)
        errors.print(f"{frame.height:,} findings written to {out}")
        return
    console.print(f"{frame.height:,} findings")
    for row in frame.head(limit).iter_rows(named=True):
        key = " ".join(str(row[k]) for k in keys if row[k] is not None)
        console.print(f"  {key}: {row['reason']}", highlight=False)


FINDING_KEYS = ("kind", "declaration_id", "item_number", "bill_number", "payment_id",
                "tax_number", "period_start")  # fmt: skip


network_app = typer.Typer(
    help="The network of importers, declarants, suppliers, addresses, phones, accounts.",
    no_args_is_help=True,
)


@network_app.command("build")
def network_build_command(as_json: JsonOption = False) -> None:
    """Compute every importer's network risk from the known offenders (inspections)."""
    from tamis.intel.network import build
    from tamis.store import open_store

    with progress_bar("network risk") as update:
        update(0, None)
        built = build(open_store()).__dict__
    print_json(built) if as_json else print_mapping("Network built", built, console)


@network_app.command("top")
def network_top_command(limit: Annotated[int, typer.Option(help="How many.")] = 20) -> None:
    """The importers of highest network risk."""
    from rich.table import Table

    from tamis.intel.network import read_scores
    from tamis.store import open_store

    scores = read_scores(open_store())
    if scores.is_empty():
        fail("no network risk yet: run `tamis network build`")
    table = Table(title=f"Top {limit} importers by network risk", title_justify="left")
    for column in ("importer", "risk", "known offender", "community", "offenders in it", "new"):
        table.add_column(column)
    for r in scores.sort("pagerank", descending=True).head(limit).iter_rows(named=True):
        table.add_row(
            r["entity_id"],
            f"{r['risk']:.2f}",
            "yes" if r["known_offender"] else "",
            f"{r['community']} ({r['community_size']} importers)",
            str(r["community_offenders"]),
            str(r["new_links"]),
        )
    console.print(table)


@network_app.command("show")
def network_show_command(
    entity: Annotated[str, typer.Argument(help="An importer id.")],
    depth: Annotated[int, typer.Option(min=1, max=3, help="Ties to follow.")] = 2,
    chart: Annotated[Path | None, typer.Option(help="Also draw it to this PNG file.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The neighbourhood of an entity: its ties and the importers that share them."""
    from tamis.intel.network import neighbourhood
    from tamis.store import open_store

    found = neighbourhood(open_store(), entity, depth)
    if found is None:
        fail(
            f"{entity!r} is not in the network: an importer id of the store is expected, "
            "and the network built (`tamis network build`)"
        )
    if chart:
        from tamis.intel.chart import neighbourhood_chart

        chart.write_bytes(neighbourhood_chart(found))
        errors.print(f"chart: {chart}")
    if as_json:
        print_json(found)
        return
    print_neighbourhood(found)


def print_neighbourhood(found: dict) -> None:
    risk = found["risk"]
    console.print(
        f"[bold]{found['entity']}[/bold]  network risk "
        f"{'not built' if risk is None else f'{risk:.2f}'}"
        + ("  [red]known offender[/red]" if found["known_offender"] else "")
    )
    if found["community_size"]:
        console.print(
            f"community {found['community']}: {found['community_size']} importers, "
            f"{found['community_offenders']} known offender(s); "
            f"{found['new_links']} tie(s) new in the last 90 days"
        )
    nodes = {n["id"]: n for n in found["nodes"]}
    centre = f"importer:{found['entity']}"
    ties = {}
    for e in found["edges"]:
        a, b = e["source"], e["target"]
        if centre in (a, b):
            ties[b if a == centre else a] = e
    for tie_id, edge in sorted(ties.items(), key=lambda kv: (kv[1]["kind"], kv[0])):
        tie = nodes[tie_id]
        others = sorted(
            {
                (e["source"] if e["target"] == tie_id else e["target"])
                for e in found["edges"]
                if tie_id in (e["source"], e["target"])
            }
            - {centre}
        )
        console.print(
            f"  {tie['kind']:<9} {tie['label']}  (since {(edge['first_seen'] or '?')[:10]}, "
            f"{tie['degree'] - 1} other importer(s))"
        )
        for other in others[:8]:
            o = nodes[other]
            flag = " known offender" if o.get("known_offender") else ""
            risk = "" if o.get("risk") is None else f" risk {o['risk']:.2f}"
            console.print(f"      {o['label']}{risk}{flag}")
        if len(others) > 8:
            console.print(f"      … and {len(others) - 8} more")
