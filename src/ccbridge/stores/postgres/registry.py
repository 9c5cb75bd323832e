"""`RegistryOutbox` on PostgreSQL: notices written on the caller's connection, in its transaction.

The store's subscription writes call `_queue_registry` inside `_subscription_write`, so the notice
commits or rolls back with the write (and, as that transaction holds the subscriptions' version
row, in the same order as the writes across replicas). A delivery-state change is claimed with one
conditional upsert, so of several replicas seeing the same change only one queues its notice.
Each notice NOTIFYs the replicas' dispatchers like any committed delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccbridge.core.event import EndpointSpec
from ccbridge.core.registry import DELETED, REGISTRY_KIND, REGISTRY_SUBSCRIPTION, notice
from ccbridge.stores import records


class PostgresRegistryOutbox:
    _registry_endpoint: EndpointSpec | None = None
    _now: Callable[[], float]
    _channel: str
    _instance: str

    def _notify(self) -> None: ...

    def _conn(self, write: bool = False) -> Any: ...

    def enable_registry(self, endpoint: EndpointSpec) -> None:
        self._registry_endpoint = endpoint

    async def registry_state_changed(self, subscription_id: str, state: str) -> bool:
        if self._registry_endpoint is None:
            return False
        now = self._now()
        async with self._conn(write=True) as conn:
            claimed = await conn.fetchval(
                "INSERT INTO registry_states(subscription_id, state, changed_ts)"
                " SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = $1)"
                " ON CONFLICT (subscription_id) DO UPDATE SET state = excluded.state,"
                " changed_ts = excluded.changed_ts WHERE registry_states.state <> excluded.state RETURNING 1",
                subscription_id,
                state,
                now,
            )
            if claimed is None:
                return False
            await self._insert_notice(conn, subscription_id, state, now)
        self._notify()
        return True

    async def _told_state(self, conn: Any, subscription_id: str) -> str:
        """The last state told for the subscription, `active` when none was."""
        told = await conn.fetchval(
            "SELECT state FROM registry_states WHERE subscription_id = $1", subscription_id
        )
        return "active" if told is None else str(told)

    async def _queue_registry(self, conn: Any, subscription_id: str, state: str, now: float) -> bool:
        """Store one notice and the state told; False when no registry is configured."""
        if self._registry_endpoint is None:
            return False
        if state == DELETED:
            await conn.execute("DELETE FROM registry_states WHERE subscription_id = $1", subscription_id)
        else:
            await conn.execute(
                "INSERT INTO registry_states(subscription_id, state, changed_ts) VALUES ($1, $2, $3)"
                " ON CONFLICT (subscription_id) DO UPDATE SET state = excluded.state,"
                " changed_ts = excluded.changed_ts",
                subscription_id,
                state,
                now,
            )
        await self._insert_notice(conn, subscription_id, state, now)
        return True

    async def _insert_notice(self, conn: Any, subscription_id: str, state: str, now: float) -> None:
        endpoint = self._registry_endpoint
        assert endpoint is not None
        event, body = notice(subscription_id, state, now)
        await conn.execute(
            f"INSERT INTO events({records.EVENT_COLUMNS}, received_ts) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
            *records.event_params(event),
            now,
        )
        await conn.execute(
            "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type, kind, payload,"
            " next_attempt_at, created_ts, updated_ts) VALUES ($1,$2,$3,$4,$5,$6,$7,$7,$7)",
            event.id,
            REGISTRY_SUBSCRIPTION,
            endpoint.url,
            endpoint.type,
            REGISTRY_KIND,
            records.dumps(body),
            now,
        )
        await conn.execute("SELECT pg_notify($1, $2)", self._channel, self._instance)

    def _registry_wake(self) -> None:
        """After a subscription write committed: the dispatcher has a notice to send."""
        if self._registry_endpoint is not None:
            self._notify()
