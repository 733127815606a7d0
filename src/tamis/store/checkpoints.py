"""SQLite's WAL checkpoints off the request path, for a server.

In WAL mode SQLite copies the log back into the database (a checkpoint, with its fsyncs)
inside whichever commit crosses 1,000 pages: at lodgement, one request in seventy paid
about 15 ms for it. A server's connections leave checkpoints to a thread of their own
instead, which runs a passive checkpoint (it never blocks readers or writers) every second.
"""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import Engine, event

INTERVAL = 1.0  # seconds


def _no_autocheckpoint(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


class Checkpointer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Take over the engine's checkpoints (SQLite files only; otherwise nothing)."""
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
            return
        if not event.contains(self.engine, "connect", _no_autocheckpoint):  # one app, two runs
            event.listen(self.engine, "connect", _no_autocheckpoint)
        self.engine.dispose()  # pooled connections reopen without automatic checkpoints
        self._thread = threading.Thread(
            target=self._run, args=(database,), name="sqlite-checkpoints", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Checkpoint what is left and hand checkpoints back to the connections."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        if event.contains(self.engine, "connect", _no_autocheckpoint):
            event.remove(self.engine, "connect", _no_autocheckpoint)
        self.engine.dispose()

    def _run(self, database: str) -> None:
        conn = sqlite3.connect(database, check_same_thread=False)
        try:
            while not self._stop.wait(INTERVAL):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()
