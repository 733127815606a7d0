"""Control channels, from least to most control.

green: release; blue: release, then post-clearance audit; yellow: documentary check;
orange: documents and scan; red: physical inspection.
"""

from __future__ import annotations

CHANNELS: tuple[str, ...] = ("green", "blue", "yellow", "orange", "red")
RANK: dict[str, int] = {c: i for i, c in enumerate(CHANNELS)}


def channel_rank(channel: str) -> int:
    return RANK[channel]


def highest(*channels: str | None) -> str:
    return max((c for c in channels if c), key=channel_rank, default="green")
