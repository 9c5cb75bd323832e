"""`type: queue`: one Endpoint that hands each attempt to the broker its URL's scheme names
(`nats://`, `tls://` -> NATS; `amqp://` -> RabbitMQ), so the dispatcher keeps one transport per type."""

from __future__ import annotations

from urllib.parse import urlsplit

from ccbridge.core.event import Failed, Outcome
from ccbridge.core.ports import Attempt, Endpoint
from ccbridge.core.redact import mask_url

NATS_SCHEMES = ("nats", "tls")
AMQP_SCHEMES = ("amqp",)


class QueueEndpoint:
    """Routes by scheme; an unknown scheme is `Failed` (the same URL can never be delivered)."""

    def __init__(self, nats: Endpoint, amqp: Endpoint) -> None:
        self._by_scheme = {**dict.fromkeys(NATS_SCHEMES, nats), **dict.fromkeys(AMQP_SCHEMES, amqp)}
        self._endpoints = (nats, amqp)

    async def send(self, attempt: Attempt) -> Outcome:
        url = attempt.job.endpoint.url
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            scheme = ""
        endpoint = self._by_scheme.get(scheme)
        if endpoint is None:
            return Failed(f"unsupported queue URL {mask_url(url)!r} (nats://, tls:// or amqp://)")
        return await endpoint.send(attempt)

    async def aclose(self) -> None:
        for endpoint in self._endpoints:
            await endpoint.aclose()
