"""`tamis` starts quickly: help and status load no library they do not use.

Checked by the modules a fresh process has imported, never by timing (bench/startup.py
times the commands)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from alembic.config import Config
from alembic.script import ScriptDirectory
from typer.main import get_command
from typer.testing import CliRunner

from tamis.cli import app
from tamis.store import open_store
from tamis.store.engine import HEAD, MIGRATIONS, at_head, create_store_engine

HEAVY = ("lightgbm", "lleaves", "sklearn", "splink", "duckdb", "matplotlib", "fastapi",
         "uvicorn", "polars", "pyarrow", "numpy", "networkx", "pyspark")  # fmt: skip
GROUPS = {name: group for name, group in get_command(app).commands.items()
          if hasattr(group, "commands")}  # fmt: skip

# Runs `tamis` with each argument list of argv[1] in one process, then prints which of the
# modules named in argv[2] it has imported.
PROBE = """
import json, sys
from tamis.cli import app
for args in json.loads(sys.argv[1]):
    try:
        app(args)
    except SystemExit as end:
        assert not end.code, (args, end.code)
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""


def probe(tmp_path, commands: list[list[str]], modules: tuple[str, ...]) -> tuple[str, list]:
    """What a fresh process prints for the commands, and which of the modules it imported."""
    env = {**os.environ, "TAMIS_DATABASE_URL": f"sqlite:///{tmp_path / 'tamis.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(commands), json.dumps(modules)],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    )  # fmt: skip
    printed, _, last = done.stdout.rstrip("\n").rpartition("\n")
    return printed, json.loads(last)


def test_help_of_every_command_group_loads_neither_the_store_nor_a_heavy_library(tmp_path):
    helps = [["--help"], *([name, "--help"] for name in GROUPS)]
    assert probe(tmp_path, helps, (*HEAVY, "sqlalchemy", "alembic"))[1] == []


def test_status_on_a_fresh_store_prints_its_summary_then_reads_it_without_migrating(tmp_path):
    summary = json.loads(probe(tmp_path, [["status", "--json"]], ())[0])
    assert summary["declarations"] == 0 and summary["quarantined"] == {}
    table, loaded = probe(tmp_path, [["status"]], (*HEAVY, "alembic"))
    assert "Tamis store" in table and "declarations_by_office" in table
    assert loaded == []


def test_help_names_every_command_group_with_its_help_and_each_group_its_commands():
    runner = CliRunner()
    top = " ".join(runner.invoke(app, ["--help"]).output.replace("│", " ").split())
    for name, group in GROUPS.items():
        assert f"{name} {' '.join(group.help.split()[:4])}" in top
        listed = runner.invoke(app, [name, "--help"])
        assert listed.exit_code == 0
        assert all(command in listed.output for command in group.commands), name


def test_a_store_is_at_the_head_revision_once_opened_and_that_head_is_alembics(store_url):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert HEAD == ScriptDirectory.from_config(config).get_current_head()
    fresh = create_store_engine(store_url)
    assert not at_head(fresh)
    fresh.dispose()
    opened = open_store(store_url)
    assert at_head(opened)
    opened.dispose()
