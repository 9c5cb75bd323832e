"""The gateway's per-subject rate limit kept in the store: gateways on two store instances of one file
or database (two replicas) share one subject's budget, and when the store cannot answer the check
the request is refused with Unavailable (fail closed) and nothing is stored."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from ingest_support import ORDER, Issuers, section

from ccbridge.api.problems import answer_for
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.errors import RateLimited, Unavailable
from ccbridge.ingest import IngestGateway, compile_ingest
from ccbridge.ingest.testing import FakeClock, MemoryAppend
from ccbridge.stores.postgres import PostgresStore
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.relay import Relay

URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def limited(per_second: float = 1.0, burst: int = 3) -> dict[str, Any]:
    doc = section()
    doc["rate_limit"] = {"per_subject_per_second": per_second, "burst": burst}
    return doc


def order(n: int) -> bytes:
    return orjson.dumps({**ORDER, "transaction_id": f"T-{n}"})


async def outcomes(gateways: list[IngestGateway], issuers: Issuers, clock: FakeClock, n: int) -> list[str]:
    """`n` requests of subject erp, taking turns over `gateways`: "ok" or the retry_after refused."""
    answers = []
    for i in range(n):
        try:
            await gateways[i % len(gateways)].handle(issuers.ec.bearer(clock.now()), order(i))
            answers.append("ok")
        except RateLimited as refused:
            answers.append(f"wait {refused.retry_after:.2f}")
    return answers


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_two_replicas_share_one_subjects_budget(
    backend: str, tmp_path: Path, config_dir: Path, issuers: Issuers, clock: FakeClock, schema: str
) -> None:
    """Two gateways, each on its own store instance of one file / one schema, take turns: together
    they admit the burst of 3 (not 3 each), refuse the rest with 429 and the wait, and another
    subject keeps its own budget."""

    def open_store() -> SqliteStore | PostgresStore:
        if backend == "sqlite":
            return SqliteStore(str(tmp_path / "shared.db"), SubscriptionRouter(), clock=clock)
        return PostgresStore(URL, SubscriptionRouter(), clock=clock, schema=schema)

    stores = [open_store(), open_store()]
    appends = [MemoryAppend(), MemoryAppend()]
    compiled = compile_ingest(limited(per_second=1, burst=3), config_dir)
    for store in stores:
        await store.open()
    gateways = [
        IngestGateway(compiled, a, clock, rate_limits=s) for a, s in zip(appends, stores, strict=True)
    ]
    try:
        assert await outcomes(gateways, issuers, clock, 5) == ["ok", "ok", "ok", "wait 1.00", "wait 1.00"]
        assert [len(a.events) for a in appends] == [2, 1]
        with pytest.raises(RateLimited) as caught:
            await gateways[1].handle(issuers.ec.bearer(clock.now()), order(9))
        assert answer_for(caught.value).status == 429
        await gateways[1].handle(issuers.ec.bearer(clock.now(), sub="crm"), order(10))
        clock.advance(1.0)
        assert await outcomes(gateways[::-1], issuers, clock, 2) == ["ok", "wait 1.00"]
    finally:
        for store in stores:
            await store.close()


async def test_a_store_outage_refuses_with_unavailable_and_stores_nothing(
    config_dir: Path, issuers: Issuers, clock: FakeClock, schema: str
) -> None:
    """PostgreSQL out of reach (a relay cut): the check cannot be made, so the request is refused
    with Unavailable and a Retry-After (503), never admitted unchecked; once the database is back,
    requests are admitted again."""
    relay = Relay(5432)
    await relay.restore()
    store = PostgresStore(
        f"postgresql://postgres@127.0.0.1:{relay.port}/test", SubscriptionRouter(), clock=clock, schema=schema
    )
    await store.open()
    append = MemoryAppend()
    gateway = IngestGateway(compile_ingest(limited(), config_dir), append, clock, rate_limits=store)
    try:
        await gateway.handle(issuers.ec.bearer(clock.now()), order(1))
        await relay.cut()
        for n in range(2):  # the pool's broken session, then a connection refused
            with pytest.raises(Unavailable) as caught:
                await gateway.handle(issuers.ec.bearer(clock.now()), order(2 + n))
            answer = answer_for(caught.value)
            assert answer.status == 503 and (caught.value.retry_after or 0) > 0
        assert len(append.events) == 1
        await relay.restore()
        await gateway.handle(issuers.ec.bearer(clock.now()), order(5))
        assert len(append.events) == 2
    finally:
        await relay.cut()
        await store.close()


async def test_a_store_failing_the_check_in_an_unmapped_way_is_unavailable_too(
    tmp_path: Path, config_dir: Path, issuers: Issuers, clock: FakeClock
) -> None:
    """The SQLite file's table gone under the store (another tool dropped it): not an error the store
    maps, still a refusal with Unavailable (503), not a 500, and nothing stored."""
    store = SqliteStore(str(tmp_path / "broken.db"), SubscriptionRouter(), clock=clock)
    await store.open()
    append = MemoryAppend()
    gateway = IngestGateway(compile_ingest(limited(), config_dir), append, clock, rate_limits=store)
    try:
        with sqlite3.connect(tmp_path / "broken.db") as other:
            other.execute("DROP TABLE rate_tokens")
        with pytest.raises(Unavailable) as caught:
            await gateway.handle(issuers.ec.bearer(clock.now()), order(1))
        assert answer_for(caught.value).status == 503 and caught.value.retry_after == 5.0
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        assert append.events == []
    finally:
        await store.close()


def test_a_rate_limit_without_a_store_to_keep_it_is_refused(config_dir: Path, clock: FakeClock) -> None:
    """Configured but given nowhere to keep it, the gateway refuses to start rather than not limit."""
    with pytest.raises(ValueError, match="RateLimits"):
        IngestGateway(compile_ingest(limited(), config_dir), MemoryAppend(), clock)
