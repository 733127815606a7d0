"""The network of parties: importers and what ties them — declarants, suppliers, addresses,
phones and bank accounts — from declarations and every other source.

Network risk spreads from known offenders (importers with a non-compliant inspection or a
transit movement diverted) by personalised PageRank: an importer close to many offenders
through few, specific ties (a shared phone, an account abroad, a small address) scores
high; a tie through a hub (a broker or supplier serving hundreds) carries little. Each
importer's risk is what reaches it from *other* offenders (an offender's walks back to
itself are left out), so a known offender alone in its corner is no network risk while a
ring whose members point at each other is. Communities (Louvain) reveal rings; ties first
seen recently are "new links".
``build`` stores one row per importer in ``network_scores`` and the graph's ties in
``network_ties``; ``neighbourhood`` reads the ties around one entity from there, without
rebuilding the graph: the graph and the risks are those of the last build.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import networkx as nx
import numpy as np
import polars as pl
from scipy.sparse import diags, identity
from scipy.sparse.linalg import splu
from sqlalchemy import Engine, delete, select, tuple_

from tamis.intel.parties import address_key
from tamis.intel.tables import network_scores, network_ties
from tamis.store.load import bulk_insert
from tamis.store.tables import declarations, inspection_outcomes
from tamis.transit.tables import SERIOUS, transit_alerts, transit_movements

col = pl.col
# A company's own ties (its phone, its bank account, its address) weigh more than trade
# ties (its broker, its suppliers and the accounts it pays them on), which legitimate firms
# share by the hundred.
TIE_WEIGHT = {
    "phone": 4.0,
    "account": 4.0,
    "address": 3.0,
    "declarant": 1.0,
    "supplier": 1.0,
    "paid_to": 1.0,
}
KINDS = ("importer", *TIE_WEIGHT)
ALPHA = 0.5  # short walks: risk stays within a few ties of the offenders
NEW_LINK_DAYS = 90
EDGE_SCHEMA = {
    "importer_id": pl.String,
    "kind": pl.String,
    "value": pl.String,
    "seen": pl.Datetime("us"),
}


def node(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def _ties(frame: pl.DataFrame, kind: str, value: pl.Expr, seen: str) -> pl.DataFrame:
    return frame.select(
        "importer_id",
        pl.lit(kind).alias("kind"),
        value.alias("value"),
        col(seen).cast(pl.Datetime("us")).alias("seen"),
    ).drop_nulls(["importer_id", "value"])


def read_ties(engine: Engine) -> pl.DataFrame:
    """importer_id, kind, value, first_seen, n: every tie of every importer, all sources."""
    from tamis.intel.ingest import read_source
    from tamis.intel.resolve import attribute

    with engine.connect() as conn:
        header = pl.read_database(
            select(
                declarations.c.importer_id,
                declarations.c.declarant_id,
                declarations.c.supplier_id,
                declarations.c.importer_address,
                declarations.c.lodged_at,
            ),
            conn,
            schema_overrides={
                "importer_id": pl.String,
                "declarant_id": pl.String,
                "supplier_id": pl.String,
                "importer_address": pl.String,
                "lodged_at": pl.Datetime("us"),
            },
        )
    parts = [
        _ties(header, "declarant", col("declarant_id"), "lodged_at"),
        _ties(header, "supplier", col("supplier_id"), "lodged_at"),
        _ties(header, "address", address_key(col("importer_address")), "lodged_at"),
    ]
    sources = {
        "manifests": [("address", address_key(col("consignee_address")), "arrival_date")],
        "payments": [
            ("account", col("payer_account"), "value_date"),
            ("paid_to", col("beneficiary_account"), "value_date"),
        ],
        "tax_returns": [
            ("phone", col("phone"), "period_start"),
            ("address", address_key(col("company_address")), "period_start"),
        ],
    }
    for source, ties in sources.items():
        frame = read_source(engine, source)
        if frame.height:
            frame = attribute(engine, source, frame)
            parts += [_ties(frame, kind, value, seen) for kind, value, seen in ties]
    return (
        pl.concat(parts)
        .group_by("importer_id", "kind", "value")
        .agg(col("seen").min().alias("first_seen"), pl.len().alias("n"))
    )


def graph(ties: pl.DataFrame) -> nx.Graph:
    g = nx.Graph()
    for importer, kind, value, first_seen, n in ties.iter_rows():
        g.add_node(node("importer", importer), kind="importer", label=importer)
        g.add_node(node(kind, value), kind=kind, label=value)
        g.add_edge(
            node("importer", importer),
            node(kind, value),
            weight=TIE_WEIGHT[kind],
            first_seen=first_seen,
            n=n,
        )
    return g


def known_offenders(engine: Engine) -> dict[str, int]:
    """importer_id -> offences known of it: its declarations found non-compliant, and its
    transit movements whose goods vanished, left their route, or arrived short."""
    query = (
        select(declarations.c.importer_id, inspection_outcomes.c.declaration_id)
        .join_from(inspection_outcomes, declarations)
        .where(inspection_outcomes.c.result == "non_compliant")
        .distinct()
    )
    diverted = (
        select(transit_movements.c.holder, transit_movements.c.mrn)
        .join(transit_alerts, transit_alerts.c.mrn == transit_movements.c.mrn)
        .where(transit_alerts.c.kind.in_(SERIOUS), transit_movements.c.role == "departure")
        .distinct()
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all() + conn.execute(diverted).all()
    counts: dict[str, int] = {}
    for importer, _ in rows:
        counts[importer] = counts.get(importer, 0) + 1
    return counts


def pagerank_from_others(g: nx.Graph, seeds: dict[str, float]) -> dict[str, float]:
    """Personalised PageRank with restart on the seeds (weighted), each seed's own share of
    its score left out: x_s = (1 - alpha) (I - alpha P^T)^-1 e_s for every seed at once."""
    nodes = list(g.nodes)
    if not seeds:
        return dict.fromkeys(nodes, 0.0)
    index = {n: k for k, n in enumerate(nodes)}
    w = nx.to_scipy_sparse_array(g, nodelist=nodes, weight="weight", format="csr")
    transition = diags(1.0 / np.asarray(w.sum(axis=1)).ravel()) @ w
    system = splu((identity(len(nodes), format="csc") - ALPHA * transition.T).tocsc())
    columns = [index[s] for s in seeds]
    weights = np.array(list(seeds.values()), float)
    weights /= weights.sum()
    restart = np.zeros((len(nodes), len(columns)))
    restart[columns, np.arange(len(columns))] = 1.0
    walks = (1 - ALPHA) * system.solve(restart)  # column s: PageRank personalised on s
    walks[columns, np.arange(len(columns))] = 0.0
    return dict(zip(nodes, walks @ weights, strict=True))


def scores(g: nx.Graph, offenders: dict[str, int], as_of: datetime | None) -> pl.DataFrame:
    """One row per importer: PageRank from the other offenders, its percentile, its
    community and the offenders in it, its ties first seen in the last days."""
    importers = [n for n, kind in g.nodes(data="kind") if kind == "importer"]
    seeds = {node("importer", i): k for i, k in offenders.items() if node("importer", i) in g}
    rank = pagerank_from_others(g, seeds)
    communities = nx.community.louvain_communities(g, weight="weight", seed=1)
    community = {n: k for k, members in enumerate(communities) for n in members}
    recent = (as_of - timedelta(days=NEW_LINK_DAYS)) if as_of else None
    rows = []
    for n in importers:
        new = sum(
            1 for _, _, seen in g.edges(n, data="first_seen") if recent and seen and seen >= recent
        )
        rows.append((g.nodes[n]["label"], rank[n], community[n], n in seeds, new))
    frame = pl.DataFrame(
        rows,
        schema={
            "entity_id": pl.String,
            "pagerank": pl.Float64,
            "community": pl.Int64,
            "known_offender": pl.Boolean,
            "new_links": pl.Int64,
        },
        orient="row",
    )
    members = frame.group_by("community").agg(
        pl.len().alias("community_size"), col("known_offender").sum().alias("community_offenders")
    )
    return (
        frame.join(members, on="community")
        .with_columns(col("pagerank").rank("average").truediv(pl.len()).alias("percentile"))
        .with_columns(risk(col("percentile")).alias("risk"))
        .sort("pagerank", descending=True)
    )


def risk(percentile: pl.Expr) -> pl.Expr:
    """Risk in [0, 1]: nothing below the 90th percentile, then linear to 1 at the top."""
    return ((percentile - 0.9) / 0.1).clip(0.0, 1.0)


@dataclass
class Built:
    importers: int
    nodes: int
    edges: int
    known_offenders: int
    communities: int
    seconds: float


def build(engine: Engine) -> Built:
    """Compute every importer's network risk and store it (replacing the previous)."""
    started = time.perf_counter()
    ties = read_ties(engine)
    g = graph(ties)
    offenders = known_offenders(engine)
    as_of = ties["first_seen"].max() if ties.height else None
    frame = scores(g, offenders, as_of).with_columns(
        pl.lit(datetime.now(UTC).replace(tzinfo=None)).alias("computed_at")
    )
    stored_ties = ties.with_columns(
        pl.len().over("kind", "value").alias("shared_by"),
        pl.len().over("importer_id").alias("importer_ties"),
    )
    with engine.begin() as conn:
        conn.execute(delete(network_scores))
        conn.execute(delete(network_ties))
        if frame.height:
            bulk_insert(conn, network_scores.name, frame)
            bulk_insert(conn, network_ties.name, stored_ties)
    return Built(
        frame.height,
        g.number_of_nodes(),
        g.number_of_edges(),
        int(frame["known_offender"].sum()) if frame.height else 0,
        frame["community"].n_unique() if frame.height else 0,
        round(time.perf_counter() - started, 2),
    )


def read_scores(engine: Engine, entities: list[str] | None = None) -> pl.DataFrame:
    """The stored network risk of every importer, or of ``entities``."""
    query = select(network_scores)
    if entities is not None:
        query = query.where(network_scores.c.entity_id.in_(entities))
    with engine.connect() as conn:
        return pl.read_database(query, conn, infer_schema_length=None)


def ties_around(engine: Engine, entity: str, depth: int) -> pl.DataFrame:
    """The stored ties (rows of ``network_ties``) within ``depth`` steps of the entity: its
    ties (1), the importers sharing them (2), their ties (3), and so on."""
    t = network_ties.c
    with engine.connect() as conn:

        def read(where) -> pl.DataFrame:
            return pl.read_database(select(network_ties).where(where), conn)

        found = read(t.importer_id == entity)
        for step in range(2, depth + 1):
            if step % 2 == 0:  # the importers sharing the ties found
                keys = found.select("kind", "value").unique().rows()
                found = read(tuple_(t.kind, t.value).in_(keys)) if keys else found
            else:  # the ties of the importers found
                found = read(t.importer_id.in_(found["importer_id"].unique().to_list()))
    return found


def neighbourhood(engine: Engine, entity: str, depth: int = 2) -> dict | None:
    """The entity, what ties it (depth 1) and the importers sharing those ties (depth 2),
    with their network risk, as of the last ``build``; None when the entity is not in the
    network (or no network was built)."""
    ties = ties_around(engine, entity, depth)
    if ties.is_empty():
        return None
    around = graph(ties.select("importer_id", "kind", "value", "first_seen", "n"))
    degree = {node("importer", i): k for i, k in ties.select("importer_id", "importer_ties").rows()}
    degree |= {node(k, v): d for k, v, d in ties.select("kind", "value", "shared_by").rows()}
    importers = ties["importer_id"].unique().to_list()
    scored = {r["entity_id"]: r for r in read_scores(engine, importers).iter_rows(named=True)}
    nodes = []
    for n, data in around.nodes(data=True):
        entry = {"id": n, "kind": data["kind"], "label": data["label"], "degree": degree[n]}
        if data["kind"] == "importer":
            s = scored.get(data["label"], {})
            entry |= {k: s.get(k) for k in ("risk", "known_offender", "community")}
        nodes.append(entry)
    edges = []
    for a, b, e in around.edges(data=True):
        tie = b if around.nodes[a]["kind"] == "importer" else a
        seen = e["first_seen"]
        edges.append(
            {
                "source": a,
                "target": b,
                "kind": around.nodes[tie]["kind"],
                "first_seen": seen.isoformat() if seen else None,
                "n": e["n"],
            }
        )
    me = scored.get(entity, {})
    return {
        "entity": entity,
        "risk": me.get("risk"),
        "known_offender": me.get("known_offender"),
        "community": me.get("community"),
        "community_size": me.get("community_size"),
        "community_offenders": me.get("community_offenders"),
        "new_links": me.get("new_links"),
        "nodes": sorted(nodes, key=lambda x: (KINDS.index(x["kind"]), x["label"])),
        "edges": edges,
    }
