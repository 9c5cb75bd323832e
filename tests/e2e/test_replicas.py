"""Two `ccbridge serve` replicas on one PostgreSQL, one SIGKILLed under load: every event answered 2xx
by either replica is delivered to a webhook, a gRPC consumer and a NATS JetStream subject (one
subscription fans out to the three); the dead replica's leases expire and the survivor delivers them.
A duplicate may only come from a delivery the dead replica had sent but not settled; they are counted
and printed, per endpoint."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg
import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from test_kill9 import EVENT_TYPE, EVENTS, Load, cxone_event
from test_workers import first_copies, first_repeat

from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.grpc_consumer import ConsumerBehaviour, GrpcConsumer
from ccbridge.testing.server import RunningServer, kill, wait_until

if TYPE_CHECKING:
    from ccbridge.testing.servers import Servers

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.nats]

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
NATS_URL = "nats://127.0.0.1:4222"
LEASE_SECONDS = 2
LOAD_SECONDS = 1.5  # of publishing to both replicas before the kill, and to the survivor after it
CONNECTIONS = 16
MIN_ACKED = 200


@dataclass
class Subject:
    """A JetStream stream on a subject of this test's own; `published` records the event id of every
    message published on it (a core subscriber sees redeliveries the stream de-duplicated)."""

    nc: Client
    stream: str
    name: str
    published: list[str] = field(default_factory=list)

    async def stored_ids(self) -> list[str]:
        """The event id of every message the stream holds, in order."""
        js = self.nc.jetstream()
        count = (await js.stream_info(self.stream)).state.messages
        return [(await js.get_msg(self.stream, seq)).headers["Nats-Msg-Id"] for seq in range(1, count + 1)]  # type: ignore[index]


@pytest.fixture
async def subject() -> AsyncIterator[Subject]:
    tag = uuid.uuid4().hex[:12]
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    found = Subject(nc, f"CCB_REPLICAS_{tag}", f"ccb.replicas.{tag}")
    await js.add_stream(name=found.stream, subjects=[found.name])

    async def record(msg: Msg) -> None:
        found.published.append((msg.headers or {}).get("ccbridge-event-id", ""))

    await nc.subscribe(found.name, cb=record)
    await nc.flush()
    try:
        yield found
    finally:
        await js.delete_stream(found.stream)
        await nc.close()


@dataclass
class Traffic:
    """Which replica answered 2xx (index -> count) and which replicas stopped accepting connections."""

    acked_by: Counter[int] = field(default_factory=Counter)
    down: set[int] = field(default_factory=set)


async def publish_alternating(
    replicas: list[RunningServer], token: str, stop: asyncio.Event, load: Load, traffic: Traffic
) -> None:
    """`CONNECTIONS` publishers POST unique events, each alternating between the replicas still up,
    until `stop` is set. A refused connection marks that replica down; a request with no answer is
    recorded as in doubt. One token serves both replicas (the signing keys are in the database)."""
    timeout = aiohttp.ClientTimeout(total=15)

    async def publisher(session: aiohttp.ClientSession, worker: int) -> None:
        n = 0
        while not stop.is_set():
            up = [i for i in range(len(replicas)) if i not in traffic.down]
            target = up[(worker + n) % len(up)]
            key = f"p{worker}-{n}"
            n += 1
            try:
                async with session.post(
                    replicas[target].base_url + EVENTS,
                    json=cxone_event(key),
                    headers={"Idempotency-Key": key},
                ) as response:
                    if 200 <= response.status < 300:
                        load.acked[key] = (await response.json())["id"]
                        traffic.acked_by[target] += 1
                    else:
                        load.note_status(response.status)
            except aiohttp.ClientConnectorError:
                load.refused += 1
                traffic.down.add(target)
            except (aiohttp.ClientError, TimeoutError):
                load.unanswered.add(key)

    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {token}"},
        connector=aiohttp.TCPConnector(limit=CONNECTIONS * len(replicas)),
        timeout=timeout,
    ) as session:
        await asyncio.gather(*(publisher(session, w) for w in range(CONNECTIONS)))


async def leases_by_owner(schema: str) -> dict[str, set[int]]:
    """Pending deliveries that are leased, by lease owner (one dispatcher per replica)."""
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        rows = await conn.fetch(
            f"SELECT lease_owner, id FROM {schema}.deliveries WHERE state = 'pending' AND lease_owner IS NOT NULL"
        )
    finally:
        await conn.close()
    owners: dict[str, set[int]] = {}
    for owner, delivery in rows:
        owners.setdefault(owner, set()).add(delivery)
    return owners


async def owners_leasing_after(schema: str, moment: float) -> set[str]:
    """The owners holding a lease that runs past `moment` (epoch seconds)."""
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        rows = await conn.fetch(
            f"SELECT DISTINCT lease_owner FROM {schema}.deliveries WHERE lease_until > $1", moment
        )
    finally:
        await conn.close()
    return {r[0] for r in rows}


async def states(schema: str, ids: set[int]) -> Counter[str]:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        rows = await conn.fetch(
            f"SELECT state FROM {schema}.deliveries WHERE id = ANY($1::bigint[])", list(ids)
        )
    finally:
        await conn.close()
    return Counter(r[0] for r in rows)


def duplicates(order: list[str]) -> int:
    return sum(n - 1 for n in Counter(order).values())


async def test_a_killed_replica_loses_no_acknowledged_event_and_the_survivor_delivers_its_leases(
    tmp_path: Path, schema: str, subject: Subject, servers: Servers
) -> None:
    """Publishers alternate between replicas A and B; A is SIGKILLed after LOAD_SECONDS and B takes
    LOAD_SECONDS more. Every acknowledged event reaches the webhook, the gRPC consumer and the
    stream; what A had leased at its death ends delivered (by B, once the leases expired); each
    duplicate's first copy arrived before the first redelivery, so none is caused by anything but
    the kill; the stream holds each event once."""
    overrides: dict[str, Any] = {
        "store": {"url": POSTGRES_URL, "postgres_schema": schema},
        "delivery": {"allowed_networks": ["127.0.0.0/8"], "lease_seconds": LEASE_SECONDS},
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with (
        WebhookReceiver(Behaviour(delay=0.05)) as receiver,
        GrpcConsumer(ConsumerBehaviour(delay=0.05)) as consumer,
    ):
        replica_a, replica_b = await asyncio.gather(
            servers.start(tmp_path / "a", overrides), servers.start(tmp_path / "b", overrides)
        )
        token = await replica_a.token()
        async with httpx.AsyncClient(
            base_url=replica_a.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            created = await api.post(
                "/api/v2/eventbridge/subscriptions",
                json={
                    "name": "replicas",
                    "eventType": EVENT_TYPE,
                    "endpoints": [
                        {"url": receiver.url},
                        {"url": consumer.address, "type": "grpc"},
                        {"url": f"{NATS_URL}/{subject.name}", "type": "queue"},
                    ],
                },
            )
        assert created.status_code == 201, created.text

        load, traffic, stop = Load(), Traffic(), asyncio.Event()
        at_kill: dict[str, Any] = {}

        async def kill_a_midway() -> None:
            await asyncio.sleep(LOAD_SECONDS)
            at_kill["acked"] = len(load.acked)
            at_kill["in_flight"] = (receiver.in_flight, len(consumer.calls) - len(consumer.received))
            await asyncio.to_thread(kill, replica_a, signal.SIGKILL)
            at_kill["time"] = time.time()
            at_kill["leases"] = await leases_by_owner(schema)
            await asyncio.sleep(LOAD_SECONDS)
            stop.set()

        await asyncio.gather(
            publish_alternating([replica_a, replica_b], token, stop, load, traffic), kill_a_midway()
        )
        acked = set(load.acked.values())
        print(
            f"\nacknowledged {len(acked)} (A {traffic.acked_by[0]}, B {traffic.acked_by[1]};"
            f" {at_kill['acked']} before the kill), unanswered {len(load.unanswered)}, refused"
            f" {load.refused}, rejected {load.rejected}; in flight at the kill: webhook"
            f" {at_kill['in_flight'][0]}, gRPC {at_kill['in_flight'][1]}"
        )
        assert len(acked) >= MIN_ACKED, "too little load to mean anything"
        assert traffic.acked_by[0] and traffic.acked_by[1], "both replicas must take events"
        assert len(acked) > at_kill["acked"], "nothing was acknowledged after the kill"
        assert not load.rejected, load.rejected

        # B leases (new rows, renewals, A's expired rows) past the end of A's last possible lease.
        survivor = await wait_until(
            lambda: owners_leasing_after(schema, at_kill["time"] + LEASE_SECONDS), timeout=20
        )
        assert survivor, "the survivor leased nothing after the kill"
        dead_leases = {d for owner, ids in at_kill["leases"].items() if owner not in survivor for d in ids}
        assert dead_leases, "the killed replica held no lease; nothing was tested"

        async def all_delivered() -> bool:
            return (
                acked <= {r.headers["webhook-id"] for r in receiver.received}
                and acked <= {e.id for e in consumer.received}
                and acked <= set(subject.published)
            )

        started = time.monotonic()
        await wait_until(all_delivered, timeout=30, interval=0.05)
        waited = time.monotonic() - started
        webhook = [r.headers["webhook-id"] for r in receiver.received]
        grpc = [e.id for e in consumer.received]
        published = list(subject.published)
        stored = await subject.stored_ids()
        body_ids = {r.json()["id"] for r in receiver.received}
        dead_states = await wait_until(
            lambda: _all_delivered_states(schema, dead_leases), timeout=10, interval=0.05
        ) or await states(schema, dead_leases)

    print(
        f"waited {waited:.1f}s after the load; A held {len(dead_leases)} leases at its death, now"
        f" {dict(dead_states)}; duplicates: webhook {duplicates(webhook)} of {len(webhook)}, gRPC"
        f" {duplicates(grpc)} of {len(grpc)}, NATS publishes {duplicates(published)} of {len(published)}"
        f" (stream holds {len(stored)} messages, {duplicates(stored)} duplicates)"
    )
    for name, order in (("webhook", webhook), ("gRPC", grpc), ("NATS", published)):
        missing = acked - set(order)
        assert not missing, (
            f"{len(missing)} acknowledged events never reached {name}, e.g. {sorted(missing)[:5]}"
        )
        repeated = {event for event, n in Counter(order).items() if n > 1}
        assert first_copies(order, repeated) < first_repeat(order), (
            f"a {name} duplicate not caused by the kill"
        )
    assert acked <= set(stored) and duplicates(stored) == 0
    assert body_ids == set(webhook)
    assert dead_states == Counter({"delivered": len(dead_leases)})


async def _all_delivered_states(schema: str, ids: set[int]) -> Counter[str] | None:
    """The states of `ids` once all are delivered (None until then: settlement is batched)."""
    found = await states(schema, ids)
    return found if found == Counter({"delivered": len(ids)}) else None
