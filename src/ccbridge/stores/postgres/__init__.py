"""The PostgreSQL store: `PostgresStore` (the `Store` port) on asyncpg, and its versioned migrations."""

from ccbridge.stores.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
