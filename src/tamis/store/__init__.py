"""The SQL store: tables, engine and migrations, bulk loads and columnar reads."""

from tamis.store.engine import open_store

__all__ = ["open_store"]
