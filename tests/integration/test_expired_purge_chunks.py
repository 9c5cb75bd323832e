"""Housekeeping deletes in bounded pages on both stores (`purge_expired(chunk=...)`,
`purge_replays(..., chunk=...)`, beyond the contract): whatever the page size, each step removes
exactly what has expired, and no single transaction deletes more than one page of it, so a backlog
never holds the SQLite write lock or a PostgreSQL transaction for long.

How a transaction's deletes are seen: on PostgreSQL a row trigger (installed by the test in the
test's schema) logs each deleted row with `txid_current()`; on SQLite every writer job is wrapped so
the rows of the watched tables are counted before and after it, in the job's own transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest

from ccbridge.core.event import DeadLetterSpec, EndpointSpec, Event
from ccbridge.core.ports import IdempotentRecord, ReplaySpec, Settlement
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.core.times import IDEMPOTENCY_WINDOW
from ccbridge.stores.postgres import PostgresStore
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event, sample_subscription

URL = "postgresql://postgres@127.0.0.1:5432/test"
WATCHED = ("idempotency", "deliveries", "replay_marks", "replay_jobs")
Most = Callable[[str], Awaitable[int]]
"""The most rows of a table deleted in one transaction since the store was opened."""
T = TypeVar("T")

_LOG_DDL = """
CREATE TABLE purge_log (tx bigint NOT NULL, tbl text NOT NULL);
CREATE FUNCTION purge_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {schema}.purge_log VALUES (txid_current(), TG_TABLE_NAME);
    RETURN OLD;
END $$;
"""


@pytest.fixture(params=["sqlite", "postgres"])
async def opened(
    request: pytest.FixtureRequest, tmp_path: Path, schema: str
) -> AsyncIterator[tuple[SqliteStore | PostgresStore, ManualClock, Most]]:
    clock = ManualClock()
    if request.param == "sqlite":
        lite = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)
        await lite.open()
        removed: dict[str, list[int]] = {t: [0] for t in WATCHED}
        submit = lite._writer.submit

        async def counted(job: Callable[[sqlite3.Connection], T]) -> T:
            def run(conn: sqlite3.Connection) -> T:
                before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in WATCHED}
                result = job(conn)
                for t in WATCHED:
                    removed[t].append(before[t] - conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
                return result

            return await submit(run)

        lite._writer.submit = counted  # type: ignore[method-assign]

        async def most_sqlite(table: str) -> int:
            return max(removed[table])

        try:
            yield lite, clock, most_sqlite
        finally:
            await lite.close()
        return
    pg = PostgresStore(URL, SubscriptionRouter(), clock=clock, schema=schema)
    await pg.open()
    conn = await asyncpg.connect(URL, server_settings={"search_path": schema})
    try:
        await conn.execute(_LOG_DDL.format(schema=schema))
        for table in WATCHED:
            await conn.execute(
                f"CREATE TRIGGER {table}_logged AFTER DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION purge_logged()"
            )

        async def most_postgres(table: str) -> int:
            return int(
                await conn.fetchval(
                    "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM purge_log WHERE tbl = $1"
                    " GROUP BY tx) per_tx",
                    table,
                )
            )

        yield pg, clock, most_postgres
    finally:
        await conn.close()
        await pg.close()


def _record(scope: str, key: str, at: float) -> IdempotentRecord:
    return IdempotentRecord(scope, key, "hash", 202, {"key": key}, at)


async def test_idempotency_records_go_in_pages_of_every_size(
    opened: tuple[SqliteStore | PostgresStore, ManualClock, Most],
) -> None:
    """Stale and live records interleave in key order, across two scopes (the key has two columns),
    so pages end on every kind of boundary."""
    store, clock, most = opened
    live: list[tuple[str, str]] = []
    for chunk in (1, 2, 3, 5, 10, 5000):
        names = [(scope, f"c{chunk:04d}-k{n}") for scope in ("a", "b") for n in range(5)]
        stale = names[::2]
        for n, (scope, key) in enumerate(names):
            at = clock.t - IDEMPOTENCY_WINDOW - 1 if (scope, key) in stale else clock.t
            await store.create_replay(f"job-{chunk}-{n}", ReplaySpec(0, 1), _record(scope, key, at))
        live += [name for name in names if name not in stale]

        await store.purge_expired(chunk=chunk)

        assert [n for n in names if await store.get_idempotent(*n, max_age=1e12) is None] == stale, chunk
        assert all([await store.get_idempotent(*n, max_age=1e12) is not None for n in live]), chunk
        assert await most("idempotency") <= chunk, chunk


async def _dead_letters(store: SqliteStore | PostgresStore, first: int, count: int) -> None:
    for n in range(first, first + count):
        await store.append_event(sample_event(n))
        [job] = await store.lease("w", 10, 30)
        await store.settle("w", [Settlement(job.id, "dead", 1, error="HTTP 400")])


async def test_dead_letters_past_retention_go_in_pages(
    opened: tuple[SqliteStore | PostgresStore, ManualClock, Most],
) -> None:
    store, clock, most = opened
    sub = replace(sample_subscription("s1", "a"), dead_letter=DeadLetterSpec(True, None, 2))
    await store.create_subscription(sub, 10)
    first = 1
    for chunk in (1, 3, 6, 5000):
        await _dead_letters(store, first, 6)
        clock.advance(3 * 86400)
        await _dead_letters(store, first + 6, 2)
        expected = 6 if first == 1 else 8  # the last round's two young ones are old now

        assert await store.purge_expired(chunk=chunk) == expected, chunk

        left = await store.list_dead_letters("s1")
        assert sorted(d.event_id for d in left) == [f"evt-{first + 6}", f"evt-{first + 7}"], chunk
        assert await most("deliveries") <= chunk, chunk
        first += 8


async def _finished_replay(store: SqliteStore | PostgresStore, job_id: str, events: int) -> None:
    """A replay job that queued `events` deliveries (so as many marks) and succeeded."""
    endpoint = EndpointSpec("http://127.0.0.1/replayed")

    def route(_: Event) -> list[tuple[str, EndpointSpec]]:
        return [("s1", endpoint)]

    await store.create_replay(job_id, ReplaySpec(0, 1e12))
    claimed = await store.claim_replay("owner", 30)
    assert claimed is not None and claimed.id == job_id
    done = await store.replay_step(job_id, "owner", route, events + 1, 30)
    assert done is not None and done.state == "succeeded" and done.enqueued == events


async def test_finished_replay_jobs_and_their_marks_go_in_pages(
    opened: tuple[SqliteStore | PostgresStore, ManualClock, Most],
) -> None:
    store, clock, most = opened
    await store.create_subscription(sample_subscription("s1", "a"), 10)
    for n in range(7):
        await store.append_event(sample_event(n, type_="nobody.listens"))
    for chunk in (1, 2, 7, 5000):
        jobs = [f"job-{chunk}-{n}" for n in range(3)]
        for job_id in jobs:
            await _finished_replay(store, job_id, 7)
        clock.advance(10)

        assert await store.purge_replays(clock.t - 1, chunk=chunk) == 3, chunk

        assert [await store.get_replay(j) for j in jobs] == [None, None, None], chunk
        assert await most("replay_marks") <= chunk, chunk
        assert await most("replay_jobs") <= chunk, chunk
    # the deliveries the jobs queued are ordinary deliveries and stay: 4 rounds of 3 jobs of 7
    assert len(await store.lease("w", 1000, 30)) == 4 * 3 * 7
