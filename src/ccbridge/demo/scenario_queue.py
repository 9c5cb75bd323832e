"""Seed 001's `"type": "queue"`: one event fanned out to a NATS JetStream subject, a plain NATS subject
and a RabbitMQ queue, on the machine's own brokers (NATS 127.0.0.1:4222 with
JetStream, RabbitMQ 127.0.0.1:5672 guest/guest; `make test` starts them when they are down).

The demo makes its own stream, subject and queue with a fresh name and removes them afterwards, then
shows what each broker got: one body (a webhook's), with the event id as `Nats-Msg-Id` / `message_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import aio_pika
import nats
import orjson

from ccbridge.demo.context import SUBS, Demo, counts, cxone_event, short

NATS_URL = "nats://127.0.0.1:4222"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


async def queue_fan_out(ctx: Demo) -> None:
    """A CXone subscription with three queue endpoints; one event reaches all three."""
    tag = uuid.uuid4().hex[:8]
    try:
        nc = await nats.connect(NATS_URL, allow_reconnect=False, connect_timeout=2)
    except Exception as exc:
        ctx.check("NATS reachable at 127.0.0.1:4222", "yes", f"no ({type(exc).__name__})")
        return
    try:
        rabbit = await aio_pika.connect(AMQP_URL, timeout=5)
    except Exception as exc:
        await nc.close()
        ctx.check("RabbitMQ reachable at 127.0.0.1:5672", "yes", f"no ({type(exc).__name__})")
        return
    js = nc.jetstream()
    try:
        await _fan_out(ctx, js, nc, rabbit, tag)
    finally:
        with contextlib.suppress(Exception):
            await js.delete_stream(f"DEMO_{tag}")
        await nc.close()
        await rabbit.close()


async def _fan_out(ctx: Demo, js: Any, nc: Any, rabbit: Any, tag: str) -> None:
    stream, stored, plain, queue_name = (
        f"DEMO_{tag}",
        f"demo.{tag}.stored",
        f"demo.{tag}.plain",
        f"demo-{tag}",
    )
    await js.add_stream(name=stream, subjects=[stored])
    got: asyncio.Queue[Any] = asyncio.Queue()
    await nc.subscribe(plain, cb=got.put)
    await nc.flush()
    queue = await (await rabbit.channel()).declare_queue(queue_name, auto_delete=True)
    created = await ctx.create(
        {
            "name": f"queues-{tag}",
            "eventType": "queue.event",
            "endpoints": [
                {"url": f"{NATS_URL}/{stored}", "type": "queue"},
                {"url": f"{NATS_URL}/{plain}", "type": "queue"},
                {"url": f"amqp://guest:guest@127.0.0.1:5672/?routing_key={queue_name}", "type": "queue"},
            ],
        }
    )
    ctx.check("subscription: 2 NATS subjects and a RabbitMQ queue", 201, created.status_code)
    ack = (await ctx.publish(cxone_event("queue.event", {"queue": "support", "waiting": 3}))).json()
    event_id = str(ack.get("id"))
    on_plain = await _within(got.get())
    on_rabbit = await _rabbit_message(queue)
    stream_msg = await _within(js.get_msg(stream, 1))
    body = stream_msg.data if stream_msg is not None else None
    ctx.check(
        f"JetStream {stored}: stored, Nats-Msg-Id = event id",
        f"1 message, {short(event_id)}",
        _stream_figure(stream_msg, await js.stream_info(stream)),
    )
    ctx.check(
        f"plain NATS {plain}: the subscriber got it",
        f"event {short(event_id)}, same body as in the stream",
        _nats_figure(on_plain, body),
    )
    ctx.check(
        f"RabbitMQ queue {queue_name}: persistent, message_id = event id",
        f"persistent {short(event_id)}, same body as in the stream",
        _rabbit_figure(on_rabbit, body),
    )
    # the consumers can hold the message before the dispatcher's batched settlement commits
    status_url = f"{SUBS}/{created.json()['id']}/delivery-status"
    status = (await ctx.api.get(status_url)).json()
    for _ in range(80):
        if counts(status) == (3, 0, 0, 0):
            break
        await asyncio.sleep(0.1)
        status = (await ctx.api.get(status_url)).json()
    ctx.check("delivery-status (delivered, pending, retrying, dead)", (3, 0, 0, 0), counts(status))


async def _within(awaitable: Any, seconds: float = 5.0) -> Any:
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except Exception:
        return None


async def _rabbit_message(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage | None:
    for _ in range(50):
        message = await queue.get(timeout=5, fail=False)
        if message is not None:
            await message.ack()
            return message
        await asyncio.sleep(0.1)
    return None


def _same(body: bytes | None, other: bytes | None) -> str:
    if body is None or other is None:
        return "a body missing"
    return "same body as in the stream" if orjson.loads(body) == orjson.loads(other) else "a different body"


def _stream_figure(message: Any, info: Any) -> str:
    if message is None:
        return f"{info.state.messages} messages, none readable"
    return f"{info.state.messages} message, {short((message.headers or {}).get('Nats-Msg-Id'))}"


def _nats_figure(message: Any, body: bytes | None) -> str:
    if message is None:
        return "nothing"
    return f"event {short((message.headers or {}).get('ccbridge-event-id'))}, {_same(message.data, body)}"


def _rabbit_figure(message: aio_pika.abc.AbstractIncomingMessage | None, body: bytes | None) -> str:
    if message is None:
        return "nothing"
    mode = "persistent" if message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT else "transient"
    return f"{mode} {short(message.message_id)}, {_same(message.body, body)}"
