"""``tamis social``: read analysts' exports of social-media posts, group sellers, link them
to importers, and look at them; synthetic posts for trying it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tamis.output import JsonOption, fail, print_json, print_mapping
from tamis.progress import progress_bar
from tamis.users_cli import actor

app = typer.Typer(
    help="Social media: sellers of copies found in exported posts, linked to importers.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
SellerArg = Annotated[str, typer.Argument(help="A seller id (S-...).")]


def _engine():
    from tamis.store import open_store

    return open_store()


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="Exports: NDJSON, JSON or CSV.")],
    profile: Annotated[
        str | None,
        typer.Option(help="Mapping profile (default: found from each file's shape)."),
    ] = None,
    images: Annotated[
        Path | None, typer.Option(help="Folder of the images the posts name (hashed only).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Read exports of posts (refused records quarantined), purge posts past retention,
    then group sellers and link them to importers."""
    from tamis.ingest import ProfileError, SourceError
    from tamis.social.exports import ingest_posts
    from tamis.social.links import refresh
    from tamis.social.views import purge

    engine = _engine()
    results = []
    for path in paths:
        try:
            with progress_bar(f"ingest {path.name}") as update:
                results.append(ingest_posts(path, engine, profile, images, progress=update))
        except (ProfileError, SourceError) as error:
            fail(str(error), as_json)
    purged = purge(engine, actor())
    with progress_bar("sellers and links") as update:
        update(0, None)
        refreshed = refresh(engine, actor())
    result = {"files": [r.as_dict() for r in results], "purged": purged, **refreshed}
    if as_json:
        print_json(result)
        return
    for r in results:
        shown = r.as_dict()
        print_mapping(f"Ingested {shown.pop('source')}", shown, console)
    print_mapping("Sellers and links", {"purged": purged, **refreshed}, console)


@app.command("link")
def link_command(as_json: JsonOption = False) -> None:
    """Group accounts into sellers and link sellers to importers again (after entity
    resolution or new case photos)."""
    from tamis.social.links import refresh

    result = refresh(_engine(), actor())
    print_json(result) if as_json else print_mapping("Sellers and links", result, console)


@app.command("sellers")
def sellers_command(
    brand: Annotated[str | None, typer.Option(help="Only sellers of this brand.")] = None,
    linked: Annotated[
        bool | None, typer.Option("--linked/--unlinked", help="With or without an importer.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Sellers advertising copies, most posts first."""
    from tamis.social.views import list_sellers

    found = list_sellers(_engine(), actor(), brand, linked, True, limit)
    if as_json:
        print_json(found)
        return
    table = Table(title=f"{found['total']} seller(s) advertising copies")
    for name in ("seller", "accounts", "posts", "copies", "brands", "low price", "links"):
        table.add_column(name)
    for s in found["sellers"]:
        table.add_row(
            s["seller_id"], ", ".join(s["accounts"][:3]), str(s["posts"]), str(s["copy_posts"]),
            ", ".join(s["brands"]), f"{s['low_price']:g}" if s["low_price"] else "",
            str(s["links"]),
        )  # fmt: skip
    console.print(table)


@app.command("seller")
def seller_command(seller_id: SellerArg, as_json: JsonOption = False) -> None:
    """A seller: accounts, posts, links to importers with their evidence."""
    from tamis.social.views import seller

    try:
        found = seller(_engine(), seller_id, actor(), posts=20)
    except LookupError as error:
        fail(str(error))
    if as_json:
        print_json(found)
        return
    keep = ("seller_id", "accounts", "names", "posts", "copy_posts", "brands", "phones",
            "places", "low_price")  # fmt: skip
    print_mapping(f"Seller {seller_id}", {k: found[k] for k in keep}, console)
    for link in found["links"]:
        steps = "; ".join(f"{s['kind']} {s['value']} ({s['weight']:g})" for s in link["evidence"])
        console.print(f"→ {link['importer_id']} (score {link['score']:g}): {steps}")


@app.command("case")
def case_command(seller_id: SellerArg, as_json: JsonOption = False) -> None:
    """Open a case about a seller; its posts are kept for the case."""
    from tamis.social.views import case_from_seller

    try:
        opened = case_from_seller(_engine(), seller_id, actor())
    except LookupError as error:
        fail(str(error))
    print_json(opened) if as_json else print_mapping("Case opened", opened, console)


@app.command("watch")
def watch_command(seller_id: SellerArg, as_json: JsonOption = False) -> None:
    """A watchlist of the seller's linked importers for its brands' goods."""
    from tamis.social.views import watchlist_from_seller

    try:
        made = watchlist_from_seller(_engine(), seller_id, actor())
    except (LookupError, ValueError) as error:
        fail(str(error))
    print_json(made) if as_json else print_mapping("Watchlist created", made, console)


@app.command("purge")
def purge_command(
    days: Annotated[
        int | None, typer.Option(min=0, help="Retention in days [default: the setting].")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Delete posts past their retention that no case holds."""
    from tamis.social.views import purge

    deleted = {"deleted": purge(_engine(), actor(), days)}
    print_json(deleted) if as_json else print_mapping("Posts purged", deleted, console)


@app.command("synth")
def synth_command(
    out: Annotated[Path, typer.Option(help="Folder for the exports, images and truth.")],
    declarations: Annotated[
        int, typer.Option(min=100, help="Declarations of the synthetic year (as tamis synth).")
    ] = 20_000,
    seed: Annotated[int, typer.Option(help="The synthetic year's seed (as tamis synth).")] = 7,
    posts: Annotated[int, typer.Option(min=10)] = 3000,
    as_json: JsonOption = False,
) -> None:
    """Synthetic posts planted on the importers of `tamis synth`'s year (same declarations
    and seed), with hard negatives, in the export formats analysts bring."""
    from dataclasses import asdict
    from datetime import date

    from tamis import synth
    from tamis.social.synthetic import write_posts

    year = synth.generate(declarations, seed, start=date(2025, 1, 1), days=365)
    files = {k: str(v) for k, v in asdict(write_posts(year, out, seed, posts)).items()}
    print_json(files) if as_json else print_mapping("Synthetic posts", files, console)


@app.command("demo")
def demo_command(
    workdir: Annotated[Path, typer.Option(help="Where `tamis demo` wrote its year.")] = Path(
        "demo"
    ),
    declarations: Annotated[int, typer.Option(min=100)] = 20_000,
    as_json: JsonOption = False,
) -> None:
    """Synthetic exports of posts planted on the demo year's importers: photos of seized
    goods on cases, the exports read, sellers linked to importers, and a declaration of a
    linked importer routed with its social-media reason."""
    from datetime import date

    import polars as pl
    from sqlalchemy import select

    from tamis import synth
    from tamis.assess import assess_file, assessor_from_store
    from tamis.reasons import render_all
    from tamis.social.evaluation import load
    from tamis.social.synthetic import write_posts
    from tamis.social.tables import social_links

    engine = _engine()
    year = synth.generate(declarations, 7, start=date(2025, 1, 1), days=365)
    files = write_posts(year, workdir / "posts", 7, posts=max(300, min(3000, declarations // 5)))
    with progress_bar("posts: photos on cases, exports, sellers, links") as update:
        summaries, refreshed = load(engine, files, update)
    read = {f.posts.profile: f.as_dict() for f in summaries}
    with engine.connect() as conn:
        linked = set(conn.execute(select(social_links.c.importer_id)).scalars())
    items = workdir / "year.parquet"
    chosen = pl.read_parquet(items).filter(pl.col("importer_id").is_in(sorted(linked)))
    shown = None
    if chosen.height:
        subset, decided = (
            workdir / "social_declarations.parquet",
            workdir / "social_decided.parquet",
        )
        chosen.write_parquet(subset)
        assess_file(subset, "canonical", assessor_from_store(engine), decided)
        said = pl.read_parquet(decided).filter(
            pl.col("reasons").list.eval(pl.element().str.contains('"social.copies"')).list.any()
        )
        if said.height:
            row = said.sort("score", descending=True).row(0, named=True)
            shown = {"declaration_id": row["declaration_id"], "channel": row["channel"],
                     "reasons": render_all(row["reasons"], "en")}  # fmt: skip
    result = {"read": read, **refreshed, "declaration": shown}
    if as_json:
        print_json(result)
        return
    for profile, summary in read.items():
        print_mapping(f"Read ({profile})", {k: summary[k] for k in
                      ("received", "accepted", "rejected", "images")}, console)  # fmt: skip
    print_mapping("Sellers and links", refreshed, console)
    sellers_command(brand=None, linked=True, limit=5, as_json=False)
    if shown:
        console.print(f"Declaration {shown['declaration_id']} → {shown['channel']}:")
        for said_once in shown["reasons"]:
            console.print(f"  • {said_once}")
    console.print("See a seller with: tamis social seller S-…  (or the dashboard's Social media)")
