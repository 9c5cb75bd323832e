"""`ReadHealth` for SQLite: one trivial query on the reader thread, bounded in time."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from ccbridge.core.redact import mask_text
from ccbridge.stores.sqlite.writer import SerialExecutor


class SqliteReadProbe:
    """Mixin of `SqliteStore`: `read_problem` asks the reader connection for one row of `meta`."""

    _reader: SerialExecutor

    async def read_problem(self, within: float = 2.0) -> str | None:
        def job(conn: sqlite3.Connection) -> Any:
            return conn.execute("SELECT count(*) FROM meta").fetchone()

        try:
            await asyncio.wait_for(self._reader.submit(job), within)
        except TimeoutError:
            return f"the store did not answer within {within:g} s"
        except Exception as exc:  # any failure means "not ready", with its reason
            return mask_text(f"the store does not answer: {type(exc).__name__}: {exc}")
        return None
