"""The peer's Celery workers: each task POSTs the event to every webhook in `PEER_WEBHOOKS`
(comma-separated), with the event id as `webhook-id` and the caller's `X-Correlation-Id`.

`acks_late`: the message is acknowledged after the task ran, so a worker that dies mid-task leaves
it to be redelivered (at-least-once, as ccbridge); `reject_on_worker_lost` requeues it when a
prefork child is killed. A failing webhook retries the task after a second. One keep-alive HTTP
session per thread (a greenlet under gevent).

    PEER_WEBHOOKS=http://127.0.0.1:9001/hook bench/peers/.venv/bin/celery -A tasks worker -P threads -c 32
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import requests
from celery import Celery
from celery.signals import worker_ready

WEBHOOKS = [url for url in os.environ.get("PEER_WEBHOOKS", "").split(",") if url]
app = Celery("peer", broker=os.environ.get("PEER_BROKER", "amqp://guest:guest@127.0.0.1:5672//"))
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=int(os.environ.get("PEER_PREFETCH", "4")),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
_local = threading.local()


@worker_ready.connect
def _announce(**_: Any) -> None:
    """Touches `PEER_READY_FILE` once the worker consumes (the bench waits for it)."""
    if ready := os.environ.get("PEER_READY_FILE"):
        Path(ready).touch()


def session() -> requests.Session:
    found: requests.Session | None = getattr(_local, "session", None)
    if found is None:
        found = _local.session = requests.Session()
    return found


@app.task(name="peer.deliver", bind=True, max_retries=None, ignore_result=True)
def deliver(self, event_id: str, correlation: str, body: str) -> None:  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/json", "webhook-id": event_id, "X-Correlation-Id": correlation}
    try:
        for url in WEBHOOKS:
            session().post(url, data=body.encode(), headers=headers, timeout=10).raise_for_status()
    except requests.RequestException as exc:
        raise self.retry(exc=exc, countdown=1) from exc
