"""The `EventLog` and `IdempotencyRecords` ports on SQLite, as a mixin of `SqliteStore`.

An append is one job on the writer thread, committed in its group commit: the idempotency check,
routing with the writer's compiled subscriptions, admission under `max_pending`, the event and one
pending delivery per target all happen in that job's transaction, and the caller returns only after
the commit (the 2xx promise). A key seen within `IDEMPOTENCY_WINDOW` answers the stored event
(`created` False); an older one is cleared from its event and starts a new one. Reads run on the
reader thread.

`_write_idempotent` is the writing half of `IdempotencyRecords`: callers run it inside their own
writer job, so the record commits with the change it answers.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import orjson

from ccbridge.core.event import Event
from ccbridge.core.ports import AppendResult, IdempotentRecord, Router
from ccbridge.core.times import IDEMPOTENCY_WINDOW
from ccbridge.stores import records
from ccbridge.stores.sqlite.mixin import SqliteMixin


class SqliteEvents(SqliteMixin):
    """Appends and reads of events, and idempotency records; mixed into `SqliteStore`."""

    if TYPE_CHECKING:  # the store's own, and the admission mixin's
        _router: Router

        def _admit(self, deliveries: int) -> None: ...

    async def append_event(self, event: Event) -> AppendResult:
        now = self._now()

        def job(conn: sqlite3.Connection) -> AppendResult:
            if event.idempotency_key is not None:
                row = conn.execute(
                    f"SELECT {records.EVENT_COLUMNS}, received_ts FROM events WHERE idempotency_key = ?",
                    (event.idempotency_key,),
                ).fetchone()
                if row is not None:
                    if now - row[10] < IDEMPOTENCY_WINDOW:
                        return AppendResult(records.event_from_row(row[:10]), created=False)
                    conn.execute(
                        "UPDATE events SET idempotency_key = NULL WHERE seq = (SELECT seq FROM "
                        "events WHERE idempotency_key = ?)",
                        (event.idempotency_key,),
                    )
            targets = self._router.route(event)
            self._admit(len(targets))
            conn.execute(
                f"INSERT INTO events({records.EVENT_COLUMNS}, received_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*records.event_params(event), now),
            )
            if targets:
                conn.executemany(
                    "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type,"
                    " next_attempt_at, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?)",
                    [(event.id, sub_id, ep.url, ep.type, now, now, now) for sub_id, ep in targets],
                )
                self._pending += len(targets)
            return AppendResult(event, created=True, deliveries=len(targets))

        result = await self._writer.submit(job)
        if result.deliveries:
            self._notify()
        return result

    async def get_event(self, event_id: str) -> Event | None:
        def job(conn: sqlite3.Connection) -> Event | None:
            row = conn.execute(
                f"SELECT {records.EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,)
            ).fetchone()
            return None if row is None else records.event_from_row(row)

        return await self._reader.submit(job)

    async def count_events(self) -> int:
        return int(
            await self._reader.submit(lambda c: c.execute("SELECT count(*) FROM events").fetchone()[0])
        )

    def _write_idempotent(self, conn: sqlite3.Connection, idem: IdempotentRecord | None) -> None:
        if idem is not None:
            conn.execute(
                "INSERT OR REPLACE INTO idempotency(scope, key, body_hash, status, response, created_ts)"
                " VALUES (?,?,?,?,?,?)",
                (
                    idem.scope,
                    idem.key,
                    idem.body_hash,
                    idem.status,
                    records.dumps(idem.response),
                    idem.created_at,
                ),
            )

    async def get_idempotent(
        self, scope: str, key: str, max_age: float = IDEMPOTENCY_WINDOW
    ) -> IdempotentRecord | None:
        def job(conn: sqlite3.Connection) -> IdempotentRecord | None:
            row = conn.execute(
                "SELECT body_hash, status, response, created_ts FROM idempotency WHERE scope = ? AND key = ?",
                (scope, key),
            ).fetchone()
            if row is None or self._now() - row[3] > max_age:
                return None
            return IdempotentRecord(scope, key, row[0], row[1], orjson.loads(row[2]), row[3])

        return await self._reader.submit(job)
