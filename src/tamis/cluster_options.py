"""The options of a command that can work on a Dask cluster (``tamis.cluster``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tamis.output import fail

WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, help="Work on a local Dask cluster of this many worker processes."),
]
ClusterOption = Annotated[str | None, typer.Option(
    help="Work on the Dask cluster at this scheduler address (tcp://host:8786).")]  # fmt: skip


def on_cluster(
    workers: int | None, cluster: str | None, path: Path | None = None, as_json: bool = False
) -> bool:
    """Whether to work on a cluster: one of the two options at most, and one for a folder."""
    if workers and cluster:
        fail("--workers starts a cluster on this machine, --cluster uses one: not both", as_json)
    if path is not None and path.is_dir() and not (workers or cluster):
        fail(f"{path} is a folder: work on it on a cluster (--workers N or --cluster ADDRESS)",
             as_json)  # fmt: skip
    return bool(workers or cluster)
