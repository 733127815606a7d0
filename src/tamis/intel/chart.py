"""A drawing of an entity's neighbourhood (PNG): importers by risk, ties by kind."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files and HTTP responses only

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

TIE_COLOURS = {
    "declarant": "#a6cee3",
    "supplier": "#b2df8a",
    "address": "#fdbf6f",
    "phone": "#cab2d6",
    "account": "#fb9a99",
    "paid_to": "#ffff99",
}


def neighbourhood_chart(found: dict) -> bytes:
    """PNG bytes of ``tamis.intel.network.neighbourhood``: importers coloured by network
    risk (known offenders outlined in black), ties by kind, the entity itself larger."""
    g = nx.Graph()
    g.add_nodes_from((n["id"], n) for n in found["nodes"])
    g.add_edges_from((e["source"], e["target"]) for e in found["edges"])
    centre = f"importer:{found['entity']}"
    position = nx.spring_layout(g, seed=1, k=0.6)
    figure, axes = plt.subplots(figsize=(10, 8), dpi=100)
    nx.draw_networkx_edges(g, position, ax=axes, alpha=0.3)
    ties = [n for n, d in g.nodes(data=True) if d["kind"] != "importer"]
    nx.draw_networkx_nodes(
        g, position, nodelist=ties, ax=axes, node_size=60, node_shape="s",
        node_color=[TIE_COLOURS[g.nodes[n]["kind"]] for n in ties],
    )  # fmt: skip
    importers = [n for n, d in g.nodes(data=True) if d["kind"] == "importer"]
    drawn = nx.draw_networkx_nodes(
        g, position, nodelist=importers, ax=axes, cmap="Reds", vmin=0, vmax=1,
        node_size=[400 if n == centre else 150 for n in importers],
        node_color=[g.nodes[n].get("risk") or 0.0 for n in importers],
        edgecolors=["black" if g.nodes[n].get("known_offender") else "grey" for n in importers],
    )  # fmt: skip
    labels = {n: g.nodes[n]["label"] for n in importers if n == centre or g.nodes[n].get("risk")}
    nx.draw_networkx_labels(g, position, labels=labels, font_size=7, ax=axes)
    for kind, colour in TIE_COLOURS.items():
        axes.scatter([], [], marker="s", color=colour, label=kind)
    axes.legend(loc="lower left", fontsize=8, title="ties")
    figure.colorbar(drawn, ax=axes, label="network risk (black edge: known offender)")
    axes.set_title(f"Neighbourhood of {found['entity']}")
    axes.axis("off")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()
