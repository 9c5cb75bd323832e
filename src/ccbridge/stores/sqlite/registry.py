"""`RegistryOutbox` on SQLite: notices written by the writer thread, inside the caller's transaction.

The store's subscription writes call `_queue_registry` from their writer job, so the notice commits
or rolls back with the write. `_pending` (the store's count of unsettled deliveries) grows by each
notice queued; the store wakes its dispatcher after the commit (`_registry_wake`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ccbridge.core.event import EndpointSpec
from ccbridge.core.registry import DELETED, REGISTRY_KIND, REGISTRY_SUBSCRIPTION, notice
from ccbridge.stores import records
from ccbridge.stores.sqlite.writer import SerialExecutor


class SqliteRegistryOutbox:
    _registry_endpoint: EndpointSpec | None = None
    _pending: int
    _now: Callable[[], float]
    _writer: SerialExecutor

    def _notify(self) -> None: ...

    def enable_registry(self, endpoint: EndpointSpec) -> None:
        self._registry_endpoint = endpoint

    async def registry_state_changed(self, subscription_id: str, state: str) -> bool:
        if self._registry_endpoint is None:
            return False
        now = self._now()

        def job(conn: sqlite3.Connection) -> bool:
            if (
                conn.execute("SELECT 1 FROM subscriptions WHERE id = ?", (subscription_id,)).fetchone()
                is None
            ):
                return False
            told = conn.execute(
                "SELECT state FROM registry_states WHERE subscription_id = ?", (subscription_id,)
            ).fetchone()
            if told is not None and told[0] == state:
                return False
            return self._queue_registry(conn, subscription_id, state, now)

        queued = bool(await self._writer.submit(job))
        if queued:
            self._notify()
        return queued

    def _told_state(self, conn: sqlite3.Connection, subscription_id: str) -> str:
        """The last state told for the subscription, `active` when none was."""
        row = conn.execute(
            "SELECT state FROM registry_states WHERE subscription_id = ?", (subscription_id,)
        ).fetchone()
        return "active" if row is None else str(row[0])

    def _queue_registry(self, conn: sqlite3.Connection, subscription_id: str, state: str, now: float) -> bool:
        """Store one notice (an event row and its delivery) and the state told; False when no
        registry is configured. Runs in the writer's transaction."""
        endpoint = self._registry_endpoint
        if endpoint is None:
            return False
        if state == DELETED:
            conn.execute("DELETE FROM registry_states WHERE subscription_id = ?", (subscription_id,))
        else:
            conn.execute(
                "INSERT INTO registry_states(subscription_id, state, changed_ts) VALUES (?,?,?)"
                " ON CONFLICT(subscription_id) DO UPDATE SET state = excluded.state, changed_ts = excluded.changed_ts",
                (subscription_id, state, now),
            )
        event, body = notice(subscription_id, state, now)
        conn.execute(
            f"INSERT INTO events({records.EVENT_COLUMNS}, received_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (*records.event_params(event), now),
        )
        conn.execute(
            "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type, kind, payload,"
            " next_attempt_at, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                event.id,
                REGISTRY_SUBSCRIPTION,
                endpoint.url,
                endpoint.type,
                REGISTRY_KIND,
                records.dumps(body),
                now,
                now,
                now,
            ),
        )
        self._pending += 1
        return True

    def _registry_wake(self) -> None:
        """After a subscription write committed: the dispatcher has a notice to send."""
        if self._registry_endpoint is not None:
            self._notify()
