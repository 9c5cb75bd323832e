"""The `EndpointHealth` port on SQLite: breaker records and rate-limiter slots in their own tables.

Every change is a job of the one writer, inside its transaction (which holds the file's write lock),
so a read-modify-write is atomic across the processes sharing the file too."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace

from ccbridge.core.endpoint_health import (
    Admission,
    AttemptResult,
    BreakerPolicy,
    HealthRecord,
    admit,
    after_attempt,
    operator_set,
    rate_slot,
)
from ccbridge.core.ports import Settlement
from ccbridge.stores import records
from ccbridge.stores.health_rows import WAKE_SQL, health_from_doc, health_to_doc, wakes
from ccbridge.stores.sqlite.writer import SerialExecutor

_WAKE = WAKE_SQL.format("?1", "?2", "?3")
_SETTLE = records.SETTLE_COLUMNS.format(*"?" * 9)


def _defer(conn: sqlite3.Connection, waiting: Settlement, now: float, lease_owner: str) -> None:
    conn.execute(f"UPDATE deliveries SET {_SETTLE}", records.settlement_params(waiting, now, lease_owner))


def _read(conn: sqlite3.Connection, sub_id: str, url: str) -> HealthRecord | None:
    row = conn.execute(
        "SELECT doc FROM endpoint_health WHERE subscription_id = ? AND url = ?", (sub_id, url)
    ).fetchone()
    return None if row is None else health_from_doc(row[0])


class SqliteEndpointHealth:
    """Mixed into `SqliteStore`, whose writer, reader, clock and listeners it uses."""

    _writer: SerialExecutor
    _reader: SerialExecutor
    _now: Callable[[], float]

    def _notify(self) -> None: ...

    def _store_health(
        self, conn: sqlite3.Connection, before: HealthRecord | None, after: HealthRecord
    ) -> bool:
        """Write `after`; True when it woke the endpoint's deliveries (the caller notifies)."""
        conn.execute(
            "INSERT INTO endpoint_health(subscription_id, url, doc, updated_ts) VALUES (?,?,?,?)"
            " ON CONFLICT(subscription_id, url) DO UPDATE SET doc = excluded.doc, updated_ts = excluded.updated_ts",
            (after.subscription_id, after.url, health_to_doc(after), after.updated_at),
        )
        if not wakes(before, after):
            return False
        return conn.execute(_WAKE, (self._now(), after.subscription_id, after.url)).rowcount > 0

    async def endpoint_health(self, subscription_id: str | None = None) -> list[HealthRecord]:
        def job(conn: sqlite3.Connection) -> list[HealthRecord]:
            where, params = ("WHERE subscription_id = ?", (subscription_id,)) if subscription_id else ("", ())
            rows = conn.execute(
                f"SELECT doc FROM endpoint_health {where} ORDER BY subscription_id, url", params
            ).fetchall()
            return [health_from_doc(r[0]) for r in rows]

        return await self._reader.submit(job)

    async def admit_delivery(
        self,
        subscription_id: str,
        url: str,
        owner: str,
        policy: BreakerPolicy,
        waiting: Settlement | None = None,
        lease_owner: str = "",
    ) -> tuple[Admission, float | None]:
        now = self._now()

        def job(conn: sqlite3.Connection) -> tuple[Admission, float | None]:
            verdict, until, changed = admit(_read(conn, subscription_id, url), owner, now, policy)
            if changed is not None:
                self._store_health(conn, None, changed)
            if verdict == "wait" and waiting is not None:
                _defer(conn, replace(waiting, next_attempt_at=until), now, lease_owner)
            return verdict, until

        return await self._writer.submit(job)

    async def record_attempt(
        self,
        subscription_id: str,
        url: str,
        owner: str,
        result: AttemptResult,
        error: str | None,
        policy: BreakerPolicy,
        waiting: Settlement | None = None,
        lease_owner: str = "",
    ) -> HealthRecord | None:
        now = self._now()
        woke = False

        def job(conn: sqlite3.Connection) -> HealthRecord | None:
            nonlocal woke
            before = _read(conn, subscription_id, url)
            after = after_attempt(before, (subscription_id, url), owner, result, error, policy, now)
            if after is not None:
                woke = self._store_health(conn, before, after)
                if after.state == "open" and waiting is not None:
                    _defer(
                        conn, replace(waiting, next_attempt_at=after.next_probe_at or now), now, lease_owner
                    )
            return after

        record = await self._writer.submit(job)
        if woke:
            self._notify()
        return record

    async def set_endpoint_enabled(self, subscription_id: str, url: str, enabled: bool) -> HealthRecord:
        now = self._now()
        woke = False

        def job(conn: sqlite3.Connection) -> HealthRecord:
            nonlocal woke
            before = _read(conn, subscription_id, url)
            after = operator_set(before, (subscription_id, url), enabled, now)
            woke = self._store_health(conn, before, after)
            return after

        record = await self._writer.submit(job)
        if woke:
            self._notify()
        return record

    async def mark_disabled_notified(self, subscription_id: str, url: str, disabled_at: float) -> None:
        def job(conn: sqlite3.Connection) -> None:
            record = _read(conn, subscription_id, url)
            if record is not None and record.disabled_at == disabled_at and not record.notified:
                self._store_health(conn, record, replace(record, notified=True))

        await self._writer.submit(job)

    async def take_rate_slot(self, key: str, per_second: float) -> float:
        now = self._now()

        def job(conn: sqlite3.Connection) -> float:
            row = conn.execute("SELECT tat FROM rate_slots WHERE key = ?", (key,)).fetchone()
            tat, wait = rate_slot(None if row is None else float(row[0]), now, per_second)
            conn.execute(
                "INSERT INTO rate_slots(key, tat) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET tat = excluded.tat",
                (key, tat),
            )
            return wait

        return await self._writer.submit(job)
