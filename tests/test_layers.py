"""The layer order of pyproject.toml ([tool.importlinter]) holds, and breaking it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import tamis

PROJECT = Path(__file__).resolve().parent.parent
SOURCE = Path(tamis.__file__).resolve().parent  # the package these tests import
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(source_root: Path, cwd: Path) -> subprocess.CompletedProcess:
    """lint-imports with the project's contracts over the package found in ``source_root``."""
    env = os.environ | {"PYTHONPATH": str(source_root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(PROJECT / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_import_follows_the_layer_order(tmp_path):
    checked = lint_imports(SOURCE.parent, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 broken" in checked.stdout


def test_a_foundation_importing_the_api_breaks_the_contract(tmp_path):
    copy = tmp_path / "src" / "tamis"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "channels.py", "a", encoding="utf-8") as module:
        module.write("\n\ndef _later():\n    from tamis.api import app  # noqa: F401\n")
    checked = lint_imports(copy.parent, tmp_path)
    assert checked.returncode != 0
    assert "tamis.channels is not allowed to import tamis.api" in checked.stdout
