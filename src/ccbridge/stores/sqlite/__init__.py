"""The embedded SQLite store: `SqliteStore` (the `Store` port), its writer thread, schema and row codecs."""

from ccbridge.stores.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
