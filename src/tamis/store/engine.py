"""Open the store: one engine for SQLite (embedded default) or PostgreSQL, migrated to head."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, column, create_engine, event, inspect, select, table
from sqlalchemy.engine import make_url

from tamis.settings import settings

MIGRATIONS = Path(__file__).parent / "migrations"
# A revision's id is its file's four-digit prefix, each revising the one before.
HEAD = max(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def normalise_url(url: str) -> str:
    """PostgreSQL URLs go through psycopg 3 whatever driver the user named."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")  # a writer waits its turn, a batch long
    cursor.close()


def create_store_engine(url: str | None = None, **kwargs) -> Engine:
    url = make_url(normalise_url(url or settings().database_url))
    if url.get_backend_name() == "postgresql":
        # PostgreSQL's JIT compiles a plan for ~100 ms: more than a page's whole query costs
        options = " ".join(filter(None, (url.query.get("options"), "-c jit=off")))
        url = url.update_query_dict({"options": options})
        # a pooled connection that a restart of the server closed is replaced, not handed to
        # the next request (which would fail once per dead connection)
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def at_head(engine: Engine) -> bool:
    """Whether the store's schema is at the latest revision: read without Alembic, whose
    import alone takes about 0.2 s of a command's start."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        version = table("alembic_version", column("version_num"))
        return conn.execute(select(version.c.version_num)).scalars().all() == [HEAD]


def open_store(url: str | None = None, **kwargs) -> Engine:
    """An engine on the configured store, its schema migrated to the latest revision."""
    engine = create_store_engine(url, **kwargs)
    if not at_head(engine):
        migrate(engine)
    return engine


@contextmanager
def one_writer(engine: Engine) -> Iterator[None]:
    """On a SQLite file, hold the store's writer lock (a file beside it) for a write
    transaction: writers of every process queue on it and each is woken as the last one
    ends. Without it they poll SQLite's lock, sleeping up to 100 ms between tries, and many
    concurrent lodgements leave the cores idle while waiting. Nothing on PostgreSQL."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(f"{database}-writer.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


@contextmanager
def transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """A transaction of its own on an engine; on a connection, the caller's transaction."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    else:
        yield bind
