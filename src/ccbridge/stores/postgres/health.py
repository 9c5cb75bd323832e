"""The `EndpointHealth` port on PostgreSQL: breaker records and rate-limiter slots in their own
tables (migration 30). A read-modify-write locks its row (`FOR UPDATE`, after an insert that makes
sure the row exists), so replicas recording at once are serialized on that endpoint only."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

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

_WAKE = WAKE_SQL.format("$1", "$2", "$3")
_SETTLE = records.SETTLE_COLUMNS.format(*(f"${n}" for n in range(1, 10)))


async def _defer(conn: Any, waiting: Settlement, now: float, lease_owner: str) -> None:
    await conn.execute(
        f"UPDATE deliveries SET {_SETTLE}", *records.settlement_params(waiting, now, lease_owner)
    )


async def _locked(conn: Any, sub_id: str, url: str) -> HealthRecord | None:
    row = await conn.fetchrow(
        "SELECT doc FROM endpoint_health WHERE subscription_id = $1 AND url = $2 FOR UPDATE", sub_id, url
    )
    return None if row is None else health_from_doc(row[0])


class PostgresEndpointHealth:
    """Mixed into `PostgresStore`, whose pool, clock and listeners it uses."""

    _now: Callable[[], float]
    _channel: str
    _instance: str

    def _notify(self) -> None: ...

    if TYPE_CHECKING:  # the store's own (a transaction on a pooled connection)

        def _conn(self, write: bool = False) -> contextlib.AbstractAsyncContextManager[Any]: ...

    async def _store_health(self, conn: Any, before: HealthRecord | None, after: HealthRecord) -> bool:
        """Write `after`; True when it woke the endpoint's deliveries (the caller notifies)."""
        await conn.execute(
            "INSERT INTO endpoint_health(subscription_id, url, doc, updated_ts) VALUES ($1,$2,$3,$4)"
            " ON CONFLICT (subscription_id, url) DO UPDATE SET doc = excluded.doc, updated_ts = excluded.updated_ts",
            after.subscription_id,
            after.url,
            health_to_doc(after),
            after.updated_at,
        )
        if not wakes(before, after):
            return False
        status = await conn.execute(_WAKE, self._now(), after.subscription_id, after.url)
        if status.split()[-1] == "0":
            return False
        await conn.execute("SELECT pg_notify($1, $2)", self._channel, self._instance)
        return True

    async def endpoint_health(self, subscription_id: str | None = None) -> list[HealthRecord]:
        async with self._conn() as conn:
            if subscription_id is None:
                rows = await conn.fetch("SELECT doc FROM endpoint_health ORDER BY subscription_id, url")
            else:
                rows = await conn.fetch(
                    "SELECT doc FROM endpoint_health WHERE subscription_id = $1 ORDER BY url", subscription_id
                )
        return [health_from_doc(r[0]) for r in rows]

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
        async with self._conn(write=True) as conn:
            verdict, until, changed = admit(await _locked(conn, subscription_id, url), owner, now, policy)
            if changed is not None:
                await self._store_health(conn, None, changed)
            if verdict == "wait" and waiting is not None:
                await _defer(conn, replace(waiting, next_attempt_at=until), now, lease_owner)
        return verdict, until

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
        async with self._conn(write=True) as conn:
            if result != "ok":  # the row exists before it is locked, so first failures count one by one
                await conn.execute(
                    "INSERT INTO endpoint_health(subscription_id, url, doc, updated_ts) VALUES ($1,$2,$3,$4)"
                    " ON CONFLICT DO NOTHING",
                    subscription_id,
                    url,
                    health_to_doc(HealthRecord(subscription_id, url, updated_at=now)),
                    now,
                )
            before = await _locked(conn, subscription_id, url)
            after = after_attempt(before, (subscription_id, url), owner, result, error, policy, now)
            if after is not None:
                woke = await self._store_health(conn, before, after)
                if after.state == "open" and waiting is not None:
                    await _defer(
                        conn, replace(waiting, next_attempt_at=after.next_probe_at or now), now, lease_owner
                    )
        if woke:
            self._notify()
        return after

    async def set_endpoint_enabled(self, subscription_id: str, url: str, enabled: bool) -> HealthRecord:
        now = self._now()
        async with self._conn(write=True) as conn:
            before = await _locked(conn, subscription_id, url)
            after = operator_set(before, (subscription_id, url), enabled, now)
            woke = await self._store_health(conn, before, after)
        if woke:
            self._notify()
        return after

    async def mark_disabled_notified(self, subscription_id: str, url: str, disabled_at: float) -> None:
        async with self._conn(write=True) as conn:
            record = await _locked(conn, subscription_id, url)
            if record is not None and record.disabled_at == disabled_at and not record.notified:
                await self._store_health(conn, record, replace(record, notified=True))

    async def take_rate_slot(self, key: str, per_second: float) -> float:
        now = self._now()
        async with self._conn(write=True) as conn:
            await conn.execute(
                "INSERT INTO rate_slots(key, tat) VALUES ($1, $2) ON CONFLICT DO NOTHING", key, now
            )
            stored = await conn.fetchval("SELECT tat FROM rate_slots WHERE key = $1 FOR UPDATE", key)
            tat, wait = rate_slot(float(stored), now, per_second)
            await conn.execute("UPDATE rate_slots SET tat = $2 WHERE key = $1", key, tat)
        return wait
