"""How long the command line takes to answer: `tamis --help` and `tamis status`.

Each command runs as a fresh process (the same Python, ``-m tamis.cli``), ``--runs`` times,
``status`` on a temporary SQLite store migrated once beforehand; prints the median and the
slowest wall time of each. ``startup_seconds()`` gives the medians to other benchmarks.

Target: ≤ 0.5 s each.

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {"tamis --help": ["--help"], "tamis status": ["status"]}


def _run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tamis.cli", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - started


def startup_times(runs: int = 5) -> dict[str, list[float]]:
    """Wall seconds of each run, per command."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "startup.db"
        env = {**os.environ, "TAMIS_DATABASE_URL": f"sqlite:///{store}"}
        _run(["status"], env)  # creates and migrates the store; not timed
        return {name: [_run(args, env) for _ in range(runs)] for name, args in COMMANDS.items()}


def startup_seconds(runs: int = 5) -> dict[str, float]:
    """Median wall seconds per command."""
    return {name: statistics.median(times) for name, times in startup_times(runs).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for name, times in startup_times(args.runs).items():
        print(f"{name:<14} median {statistics.median(times):5.2f} s   max {max(times):5.2f} s")


if __name__ == "__main__":
    main()
