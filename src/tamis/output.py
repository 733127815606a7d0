"""Printing results for people and for scripts."""

from __future__ import annotations

import json
import sys


def print_json(value) -> None:
    """One JSON document on stdout: what ``--json`` prints everywhere."""
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")
