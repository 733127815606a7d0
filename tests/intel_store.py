"""A store holding a small synthetic year and its other sources, for the intelligence tests."""

from __future__ import annotations

from pathlib import Path

from tamis import synth
from tamis.ingest import ingest
from tamis.intel.ingest import ingest_source
from tamis.store import open_store


def loaded_store(url: str, folder: Path, declarations: int, seed: int):
    """(engine, synthetic year): declarations and the four other sources ingested."""
    year = synth.generate(declarations, seed)
    paths = synth.write(year, folder / "year.parquet")
    engine = open_store(url)
    ingest(paths["items"], "canonical", engine)
    for source in synth.Synthetic.SOURCES:
        ingest_source(paths[source], source, engine)
    return engine, year
