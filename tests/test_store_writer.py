"""Writers of a SQLite store take turns on its writer lock; PostgreSQL needs none."""

from __future__ import annotations

import threading
import time

from tamis.store import open_store
from tamis.store.engine import one_writer


def test_writers_of_a_sqlite_file_take_turns_woken_as_the_last_one_ends(tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    said, first_in, go_on = [], threading.Event(), threading.Event()

    def first() -> None:
        with one_writer(engine):
            said.append("first in")
            first_in.set()
            go_on.wait(10)
            said.append("first out")

    def second() -> None:
        first_in.wait(10)
        with one_writer(engine):
            said.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_in.wait(10)
    time.sleep(0.3)
    assert said == ["first in"]  # the second waits
    go_on.set()
    for thread in threads:
        thread.join(10)
    assert said == ["first in", "first out", "second in"]
    assert (tmp_path / "store.db-writer.lock").exists()


def test_postgresql_and_memory_stores_have_no_writer_lock(postgres_url):
    for engine in (open_store(postgres_url), open_store("sqlite://")):
        with one_writer(engine), one_writer(engine):  # nothing held: no wait
            pass
        engine.dispose()
