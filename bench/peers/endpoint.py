"""The peer's ingest endpoint: Starlette on uvicorn + uvloop + httptools (the stack `ccbridge serve`
runs on), `POST /api/v2/eventbridge/events` parses the JSON, publishes one Celery task message to
RabbitMQ (persistent, on a channel with publisher confirms) and answers 201 once the broker
confirmed it. `GET /stats` answers how many events were confirmed (the bench's expected count);
`GET /healthz` answers once the broker connection is open.

The message is Celery's task protocol 2 (headers `task`, `id`, ...; body `[args, kwargs, embed]`
as JSON) on the default exchange to the `celery` queue, which is what `task.apply_async` sends; it
is built here because Celery's own producer (kombu) is synchronous and would block the event loop.

    bench/peers/.venv/bin/python bench/peers/endpoint.py --port 8098
"""

from __future__ import annotations

import argparse
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import aio_pika
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BROKER = os.environ.get("PEER_BROKER", "amqp://guest:guest@127.0.0.1:5672/")
QUEUE = "celery"
TASK = "peer.deliver"
EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
STATE: dict[str, object] = {"confirmed": 0}


def task_message(event_id: str, correlation: str, body: bytes) -> aio_pika.Message:
    headers = {
        "lang": "py",
        "task": TASK,
        "id": event_id,
        "root_id": event_id,
        "parent_id": None,
        "group": None,
        "retries": 0,
        "eta": None,
        "expires": None,
        "timelimit": [None, None],
        "ignore_result": True,
    }
    payload = orjson.dumps([[event_id, correlation, body.decode()], {}, EMBED])
    return aio_pika.Message(
        payload,
        headers=headers,  # type: ignore[arg-type]
        content_type="application/json",
        content_encoding="utf-8",
        correlation_id=event_id,
        message_id=event_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


async def publish(request: Request) -> Response:
    body = await request.body()
    event = orjson.loads(body)
    event_id = str(uuid.uuid4())
    correlation = request.headers.get("x-correlation-id") or event_id
    exchange: aio_pika.abc.AbstractExchange = STATE["exchange"]  # type: ignore[assignment]
    await exchange.publish(task_message(event_id, correlation, body), routing_key=QUEUE)  # awaits the confirm
    STATE["confirmed"] = int(STATE["confirmed"]) + 1  # type: ignore[call-overload]
    ack = {"id": event_id, "eventType": event.get("eventType"), "correlationId": correlation}
    return Response(orjson.dumps(ack), status_code=201, media_type="application/json")


async def stats(request: Request) -> Response:
    return Response(orjson.dumps({"confirmed": STATE["confirmed"]}), media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    connection = await aio_pika.connect_robust(BROKER)
    channel = await connection.channel(publisher_confirms=True)
    await channel.declare_queue(QUEUE, durable=True)
    STATE["exchange"] = channel.default_exchange
    try:
        yield
    finally:
        await connection.close()


app = Starlette(
    routes=[
        Route("/api/v2/eventbridge/events", publish, methods=["POST"]),
        Route("/stats", stats),
        Route("/healthz", healthz),
    ],
    lifespan=lifespan,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    main()
