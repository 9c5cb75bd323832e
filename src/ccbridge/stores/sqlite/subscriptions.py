"""The `SubscriptionStore` port and the compiled-subscription cache on SQLite, as a mixin of
`SqliteStore`.

The cache (`_subs`, and the router compiled from it) belongs to the writer thread: subscription
writes are writer jobs that change the row, the idempotency record and the registry notice, then
replace the cache and bump `subscriptions_version` in `meta` (`_commit_subs`), all in one
transaction. Other processes on the file notice the bump at the start of their next write batch
(the store's `_follow_other_writers`) and reload with `_load_subscriptions`. Reads (`get`, `list`)
catch up first: when the committed version differs from the cache's, an empty write batch makes
the writer reload. `cached_subscription` does not wait.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from ccbridge.core.event import Subscription
from ccbridge.core.ports import IdempotentRecord, Router
from ccbridge.core.registry import DELETED
from ccbridge.errors import ConflictError, FieldError, NotFoundError, QuotaExceeded
from ccbridge.stores import records
from ccbridge.stores.sqlite.mixin import SqliteMixin


class SqliteSubscriptions(SqliteMixin):
    """Subscription CRUD and the cache routing reads; mixed into `SqliteStore`."""

    if TYPE_CHECKING:  # the store's own, and the event and registry mixins'
        _subs: dict[str, Subscription]
        _subs_version: int  # the `subscriptions_version` the cache reflects
        _router: Router

        def _write_idempotent(self, conn: sqlite3.Connection, idem: IdempotentRecord | None) -> None: ...

        def _told_state(self, conn: sqlite3.Connection, subscription_id: str) -> str: ...

        def _queue_registry(
            self, conn: sqlite3.Connection, subscription_id: str, state: str, now: float
        ) -> bool: ...

        def _registry_wake(self) -> None: ...

    def _load_subscriptions(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute("SELECT doc FROM subscriptions ORDER BY created_ts").fetchall()
        self._subs_version = subscriptions_version(conn)
        self._subs = {s.id: s for s in (records.subscription_from_doc(r[0]) for r in rows)}
        self._router.replace(list(self._subs.values()))

    def _commit_subs(self, conn: sqlite3.Connection, subs: dict[str, Subscription]) -> None:
        """The cache after a subscription write, which is also marked (a version bump) for the other
        processes on the file."""
        (self._subs_version,) = conn.execute(
            "INSERT INTO meta(name, value) VALUES ('subscriptions_version', 1)"
            " ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value"
        ).fetchone()
        self._subs = subs
        self._router.replace(list(subs.values()))

    async def create_subscription(
        self, sub: Subscription, max_subscriptions: int, idem: IdempotentRecord | None = None
    ) -> Subscription:
        now = self._now()

        def job(conn: sqlite3.Connection) -> Subscription:
            existing = conn.execute("SELECT id FROM subscriptions WHERE name = ?", (sub.name,)).fetchone()
            if existing is not None:
                raise ConflictError(f"a subscription named {sub.name!r} already exists", existing[0])
            count = conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0]
            if count >= max_subscriptions:
                raise QuotaExceeded(
                    FieldError("name", f"the limit of {max_subscriptions} subscriptions is reached"),
                    title="subscription quota exceeded",
                )
            conn.execute(
                "INSERT INTO subscriptions(id, name, doc, created_ts, updated_ts) VALUES (?,?,?,?,?)",
                (sub.id, sub.name, records.subscription_to_doc(sub), now, now),
            )
            self._write_idempotent(conn, idem)
            self._queue_registry(conn, sub.id, "active", now)
            self._commit_subs(conn, {**self._subs, sub.id: sub})
            return sub

        created: Subscription = await self._writer.submit(job)
        self._registry_wake()
        return created

    async def update_subscription(self, sub: Subscription, idem: IdempotentRecord | None = None) -> None:
        now = self._now()

        def job(conn: sqlite3.Connection) -> None:
            clash = conn.execute(
                "SELECT id FROM subscriptions WHERE name = ? AND id != ?", (sub.name, sub.id)
            ).fetchone()
            if clash is not None:
                raise ConflictError(f"a subscription named {sub.name!r} already exists", clash[0])
            cur = conn.execute(
                "UPDATE subscriptions SET name = ?, doc = ?, updated_ts = ? WHERE id = ?",
                (sub.name, records.subscription_to_doc(sub), now, sub.id),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no subscription with id {sub.id}")
            self._write_idempotent(conn, idem)
            self._queue_registry(conn, sub.id, self._told_state(conn, sub.id), now)
            self._commit_subs(conn, {**self._subs, sub.id: sub})

        await self._writer.submit(job)
        self._registry_wake()

    async def delete_subscription(self, sub_id: str) -> bool:
        now = self._now()

        def job(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,))
            if cur.rowcount == 0:
                return False
            (cancelled,) = conn.execute(
                "SELECT count(*) FROM deliveries WHERE subscription_id = ? AND state = 'pending'",
                (sub_id,),
            ).fetchone()
            conn.execute(
                "UPDATE deliveries SET state = 'cancelled', last_error = 'subscription deleted', lease_until = NULL,"
                " updated_ts = ?"
                " WHERE subscription_id = ? AND state = 'pending'",
                (now, sub_id),
            )
            self._commit_subs(conn, {k: v for k, v in self._subs.items() if k != sub_id})
            self._pending -= cancelled
            self._queue_registry(conn, sub_id, DELETED, now)
            return True

        deleted: bool = await self._writer.submit(job)
        if deleted:
            self._registry_wake()
        return deleted

    async def get_subscription(self, sub_id: str) -> Subscription | None:
        await self._catch_up()
        return self._subs.get(sub_id)

    def cached_subscription(self, sub_id: str) -> Subscription | None:
        """The subscription as of this process's last write batch, without waiting: the dispatcher's
        per-delivery lookup. It leases through a write batch, so it is at most one lease behind."""
        return self._subs.get(sub_id)

    async def list_subscriptions(self) -> list[Subscription]:
        await self._catch_up()
        return sorted(self._subs.values(), key=lambda s: (s.created_at, s.id))

    async def _catch_up(self) -> None:
        """Reads show what another process on the file wrote: when the committed version differs from
        the cache's, an empty write batch makes the writer reload (see `_follow_other_writers`)."""
        if await self._reader.submit(subscriptions_version) != self._subs_version:
            await self._writer.submit(lambda conn: None)


def subscriptions_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE name = 'subscriptions_version'").fetchone()
    return 0 if row is None else int(row[0])
