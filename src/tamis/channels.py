"""Control channels, from least to most control.

green: release; blue: release, then post-clearance audit; yellow: documentary check;
orange: documents and scan; red: physical inspection.
"""

from __future__ import annotations

CHANNELS: tuple[str, ...] = ("green", "blue", "yellow", "orange", "red")
RANK: dict[str, int] = {c: i for i, c in enumerate(CHANNELS)}
NAMES: dict[str, dict[str, str]] = {  # a channel as a reader says it, by language
    "en": {c: c for c in CHANNELS},
    "fr": {"green": "vert", "blue": "bleu", "yellow": "jaune", "orange": "orange", "red": "rouge"},
}


def channel_name(channel: str, language: str = "en") -> str:
    """``channel`` in ``language`` (as stored where the language or channel is unknown)."""
    return NAMES.get(language, {}).get(channel, channel)


def channel_rank(channel: str) -> int:
    return RANK[channel]


def highest(*channels: str | None) -> str:
    return max((c for c in channels if c), key=channel_rank, default="green")
