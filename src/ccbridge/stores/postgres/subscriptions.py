"""The `SubscriptionStore` port and the compiled-subscription cache on PostgreSQL, as a mixin of
`PostgresStore`.

The cache (`_subs`, and the router compiled from it) reflects one `subscriptions_version`, a counter
every subscription write bumps in its own transaction. `_sync_subscriptions` reloads it when the
committed counter differs; appends and leases call it first inside their transaction, and in READ
COMMITTED that read sees every commit made before it, so routing never uses subscriptions older
than those committed before the request began, whichever replica wrote them. Reads (`get`, `list`)
catch up first the same way; `cached_subscription` does not wait and answers as of the latest lease.

Writes run in `_subscription_write`: bumping the counter row locks it until commit, so subscription
writes are serialized across replicas (names stay unique and the quota holds); after the commit the
cache is refreshed and the other replicas are told on the subscriptions channel. A registry notice
and the idempotency record commit in the same transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ccbridge.core.event import Subscription
from ccbridge.core.ports import IdempotentRecord, Router
from ccbridge.core.registry import DELETED
from ccbridge.errors import ConflictError, FieldError, NotFoundError, QuotaExceeded
from ccbridge.stores import records
from ccbridge.stores.postgres.answers import rowcount
from ccbridge.stores.postgres.mixin import PostgresMixin


class PostgresSubscriptions(PostgresMixin):
    """Subscription CRUD and the cache routing reads; mixed into `PostgresStore`."""

    if TYPE_CHECKING:  # the store's own, and the event and registry mixins'
        _subs: dict[str, Subscription]
        _subs_version: int  # the `subscriptions_version` the cache reflects
        _router: Router
        _subs_channel: str

        @staticmethod
        async def _write_idempotent(conn: Any, idem: IdempotentRecord | None) -> None: ...

        async def _told_state(self, conn: Any, subscription_id: str) -> str: ...

        async def _queue_registry(self, conn: Any, subscription_id: str, state: str, now: float) -> bool: ...

        def _registry_wake(self) -> None: ...

    async def _sync_subscriptions(self, conn: Any, version: int | None = None) -> None:
        """Reload the cache (and the router) when the committed version differs from the cache's."""
        if version is None:
            version = await conn.fetchval("SELECT value FROM counters WHERE name = 'subscriptions_version'")
        if version != self._subs_version:
            self._apply_subscriptions(int(version), await _read_subscriptions(conn))

    def _apply_subscriptions(self, version: int, subs: list[Subscription]) -> None:
        if version < self._subs_version:  # a concurrent reload already brought something newer
            return
        self._subs_version = version
        self._subs = {s.id: s for s in subs}
        self._router.replace(subs)

    @contextlib.asynccontextmanager
    async def _subscription_write(self) -> AsyncIterator[Any]:
        """A transaction that changes subscriptions: it bumps (and so locks until commit) the version
        row first, which serializes subscription writes across replicas, and refreshes the cache after
        the commit."""
        async with self._conn(write=True) as conn:
            version = await conn.fetchval(
                "UPDATE counters SET value = value + 1 WHERE name = 'subscriptions_version' RETURNING value"
            )
            yield conn
            subs = await _read_subscriptions(conn)
            await conn.execute("SELECT pg_notify($1, $2)", self._subs_channel, self._instance)
        self._apply_subscriptions(int(version), subs)

    async def create_subscription(
        self, sub: Subscription, max_subscriptions: int, idem: IdempotentRecord | None = None
    ) -> Subscription:
        now = self._now()
        async with self._subscription_write() as conn:
            existing = await conn.fetchval("SELECT id FROM subscriptions WHERE name = $1", sub.name)
            if existing is not None:
                raise ConflictError(f"a subscription named {sub.name!r} already exists", existing)
            if await conn.fetchval("SELECT count(*) FROM subscriptions") >= max_subscriptions:
                raise QuotaExceeded(
                    FieldError("name", f"the limit of {max_subscriptions} subscriptions is reached"),
                    title="subscription quota exceeded",
                )
            await conn.execute(
                "INSERT INTO subscriptions(id, name, doc, created_ts, updated_ts) VALUES ($1,$2,$3,$4,$4)",
                sub.id,
                sub.name,
                records.subscription_to_doc(sub),
                now,
            )
            await self._write_idempotent(conn, idem)
            await self._queue_registry(conn, sub.id, "active", now)
        self._registry_wake()
        return sub

    async def update_subscription(self, sub: Subscription, idem: IdempotentRecord | None = None) -> None:
        now = self._now()
        async with self._subscription_write() as conn:
            clash = await conn.fetchval(
                "SELECT id FROM subscriptions WHERE name = $1 AND id <> $2", sub.name, sub.id
            )
            if clash is not None:
                raise ConflictError(f"a subscription named {sub.name!r} already exists", clash)
            status = await conn.execute(
                "UPDATE subscriptions SET name = $1, doc = $2, updated_ts = $3 WHERE id = $4",
                sub.name,
                records.subscription_to_doc(sub),
                now,
                sub.id,
            )
            if rowcount(status) == 0:
                raise NotFoundError(f"no subscription with id {sub.id}")
            await self._write_idempotent(conn, idem)
            await self._queue_registry(conn, sub.id, await self._told_state(conn, sub.id), now)
        self._registry_wake()

    async def delete_subscription(self, sub_id: str) -> bool:
        now = self._now()
        async with self._subscription_write() as conn:
            if rowcount(await conn.execute("DELETE FROM subscriptions WHERE id = $1", sub_id)) == 0:
                return False
            await conn.execute(
                "UPDATE deliveries SET state = 'cancelled', last_error = 'subscription deleted',"
                " lease_until = NULL, updated_ts = $1 WHERE subscription_id = $2 AND state = 'pending'",
                now,
                sub_id,
            )
            await self._queue_registry(conn, sub_id, DELETED, now)
        self._registry_wake()
        return True

    async def get_subscription(self, sub_id: str) -> Subscription | None:
        await self._catch_up()
        return self._subs.get(sub_id)

    def cached_subscription(self, sub_id: str) -> Subscription | None:
        """The subscription as of this instance's latest lease (each lease checks the version first)."""
        return self._subs.get(sub_id)

    async def list_subscriptions(self) -> list[Subscription]:
        await self._catch_up()
        return sorted(self._subs.values(), key=lambda s: (s.created_at, s.id))

    async def _catch_up(self) -> None:
        async with self._conn() as conn:
            await self._sync_subscriptions(conn)


async def _read_subscriptions(conn: Any) -> list[Subscription]:
    rows = await conn.fetch("SELECT doc FROM subscriptions ORDER BY created_ts, id")
    return [records.subscription_from_doc(r[0]) for r in rows]
