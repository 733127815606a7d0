"""Changed declarations, announced: whoever records decisions or inspection outcomes (ingest,
results) announces the declarations it changed, in the transaction that changed them, and
whoever keeps figures over them (the scoreboard) listens. The writers import no listener:
a lower layer tells a higher one without importing it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection

Listener = Callable[[Connection, Sequence[str]], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Call ``listener(conn, declaration_ids)`` on every announcement (once, however often
    it is registered)."""
    if listener not in _listeners:
        _listeners.append(listener)


def announce(conn: Connection, declaration_ids: Sequence[str]) -> None:
    """These declarations' decisions or outcomes changed in ``conn``'s transaction."""
    for listener in _listeners:
        listener(conn, declaration_ids)
