"""Attempts for the broker endpoint tests (real NATS and RabbitMQ on loopback)."""

from __future__ import annotations

import json
import socket
import uuid

from ccbridge.core.event import DeliveryJob, EndpointSpec, Event
from ccbridge.core.ports import Attempt
from ccbridge.endpoints.netguard import NetworkPolicy

LOOPBACK = NetworkPolicy(allowed_networks=["127.0.0.0/8"])
"""The brokers of these tests listen on loopback, which the default policy refuses."""


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def make_attempt(url: str, *, event_id: str = "evt-1", attempt: int = 1, timeout: float = 5.0) -> Attempt:
    event = Event(
        id=event_id,
        type="routing:interaction:completed",
        source="cxone",
        time="2026-05-01T12:00:00Z",
        data={"channel": "voice", "duration": 130},
        dialect="cxone",
        correlation_id="corr-1",
        received_at="2026-05-01T12:00:01Z",
    )
    job = DeliveryJob(
        id=1, event=event, subscription_id="sub-1", endpoint=EndpointSpec(url, "queue"), attempt=attempt
    )
    body = json.dumps(event.delivery_body("sub-1", attempt)).encode()
    return Attempt(
        job=job, body=body, headers={"X-Correlation-Id": "corr-1", "X-Static": "s"}, timeout=timeout
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
