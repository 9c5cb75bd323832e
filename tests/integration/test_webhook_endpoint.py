"""The webhook transport against real loopback receivers: headers, classification, timeouts, the guard."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from typing import Any

import orjson
import pytest

from ccbridge import __version__
from ccbridge.core import signatures
from ccbridge.core.event import Delivered, DeliveryJob, EndpointSpec, Event, Failed, Retry
from ccbridge.core.ports import Attempt, Endpoint
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.webhook import WebhookEndpoint, classify_status
from ccbridge.testing import WebhookReceiver

LOOPBACK = NetworkPolicy(allowed_networks=["127.0.0.0/8", "::1/128"])
SECRET = signatures.generate_secret()
EVENT = Event(
    id="evt_1",
    type="routing:interaction:completed",
    source="cxone",
    time="2024-05-01T12:00:00Z",
    data={"duration": 130, "note": "do-not-echo-this-body"},
    dialect="cxone",
    correlation_id="corr_1",
    received_at="2024-05-01T12:00:01Z",
)


def attempt_to(url: str, timeout: float = 5.0, headers: dict[str, str] | None = None) -> Attempt:
    job = DeliveryJob(id=1, event=EVENT, subscription_id="sub_1", endpoint=EndpointSpec(url), attempt=1)
    body = orjson.dumps(EVENT.delivery_body("sub_1", 1))
    signed = signatures.signed_headers(SECRET, EVENT.id, time.time(), body)
    return Attempt(job=job, body=body, headers={**signed, **(headers or {})}, timeout=timeout)


@pytest.fixture
async def endpoint() -> AsyncIterator[WebhookEndpoint]:
    webhook = WebhookEndpoint(LOOPBACK)
    yield webhook
    await webhook.aclose()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(secrets=[SECRET]) as server:
        yield server


def test_is_an_endpoint() -> None:
    """WebhookEndpoint satisfies the Endpoint port."""
    endpoint: Endpoint = WebhookEndpoint(LOOPBACK)
    assert endpoint is not None


async def test_delivers_body_and_headers(endpoint: WebhookEndpoint, receiver: WebhookReceiver) -> None:
    """The exact body arrives with the signed headers, custom headers, JSON content type and user agent."""
    attempt = attempt_to(receiver.url, headers={"X-Tenant": "acme"})
    assert await endpoint.send(attempt) == Delivered(200)
    [request] = receiver.received
    assert request.method == "POST" and request.body == attempt.body
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"ccbridge/{__version__}"
    assert request.headers["X-Tenant"] == "acme"
    assert request.headers["webhook-id"] == "evt_1"
    assert request.standard_valid is True and request.genesys_valid is True


async def test_attempt_headers_override_defaults(
    endpoint: WebhookEndpoint, receiver: WebhookReceiver
) -> None:
    """Content-Type set by the attempt (any case) replaces the default instead of duplicating it."""
    await endpoint.send(attempt_to(receiver.url, headers={"content-type": "application/cloudevents+json"}))
    assert receiver.received[0].headers.getall("Content-Type") == ["application/cloudevents+json"]


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
async def test_2xx_is_delivered(endpoint: WebhookEndpoint, receiver: WebhookReceiver, status: int) -> None:
    """Every 2xx answer is Delivered with its status."""
    receiver.behave(status=status)
    assert await endpoint.send(attempt_to(receiver.url)) == Delivered(status)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
async def test_transient_statuses_retry(
    endpoint: WebhookEndpoint, receiver: WebhookReceiver, status: int
) -> None:
    """408, 425, 429 and 5xx are retried, with a short reason and the status."""
    receiver.behave(status=status)
    assert await endpoint.send(attempt_to(receiver.url)) == Retry(f"HTTP {status}", status, None)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 413, 422])
async def test_other_4xx_fail(endpoint: WebhookEndpoint, receiver: WebhookReceiver, status: int) -> None:
    """Other 4xx answers fail permanently with the status in the reason."""
    receiver.behave(status=status)
    assert await endpoint.send(attempt_to(receiver.url)) == Failed(f"HTTP {status}", status)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_fail_and_are_not_followed(
    endpoint: WebhookEndpoint, receiver: WebhookReceiver, status: int
) -> None:
    """A 3xx is a permanent failure; the Location is never requested."""
    receiver.behave(status=status, headers={"Location": receiver.url + "/moved"})
    outcome = await endpoint.send(attempt_to(receiver.url))
    assert isinstance(outcome, Failed) and outcome.status == status and f"HTTP {status}" in outcome.reason
    assert [r.path for r in receiver.received] == ["/hook"]  # a followed redirect happens inside send


async def test_retry_after_seconds_is_the_floor(endpoint: WebhookEndpoint, receiver: WebhookReceiver) -> None:
    """A 429 with Retry-After: 7 retries no sooner than 7 s."""
    receiver.behave(status=429, retry_after="7")
    assert await endpoint.send(attempt_to(receiver.url)) == Retry("HTTP 429", 429, 7.0)


async def test_retry_after_http_date(endpoint: WebhookEndpoint, receiver: WebhookReceiver) -> None:
    """A 503 with an HTTP-date Retry-After gives the seconds until that date."""
    receiver.behave(status=503, retry_after=formatdate(time.time() + 120, usegmt=True))
    outcome = await endpoint.send(attempt_to(receiver.url))
    assert isinstance(outcome, Retry) and outcome.after is not None and 110 <= outcome.after <= 121


async def test_unreadable_retry_after_is_ignored(
    endpoint: WebhookEndpoint, receiver: WebhookReceiver
) -> None:
    """A Retry-After that is neither seconds nor a date leaves the schedule alone."""
    receiver.behave(status=503, retry_after="later, maybe")
    assert await endpoint.send(attempt_to(receiver.url)) == Retry("HTTP 503", 503, None)


async def test_fail_first_then_delivered(endpoint: WebhookEndpoint, receiver: WebhookReceiver) -> None:
    """The same endpoint retries into success once the receiver recovers."""
    receiver.behave(fail_first=2)
    outcomes = [await endpoint.send(attempt_to(receiver.url)) for _ in range(3)]
    assert outcomes == [Retry("HTTP 503", 503), Retry("HTTP 503", 503), Delivered(200)]


async def test_timeout_is_retried(endpoint: WebhookEndpoint, receiver: WebhookReceiver) -> None:
    """A receiver slower than the attempt's timeout gives Retry("timeout after ..."): the attempt gave up
    rather than waiting for the receiver's answer."""
    receiver.behave(delay=30)
    outcome = await asyncio.wait_for(endpoint.send(attempt_to(receiver.url, timeout=0.3)), 20)
    assert outcome == Retry("timeout after 0.3s")


async def test_slow_dns_counts_against_the_timeout(
    endpoint: WebhookEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that takes too long to resolve is a timeout within the attempt's deadline."""

    async def hanging_getaddrinfo(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        await asyncio.sleep(10)
        return []

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", hanging_getaddrinfo)
    assert await endpoint.send(attempt_to("http://slow.test/hook", timeout=0.2)) == Retry(
        "timeout after 0.2s"
    )


async def test_connection_refused_is_retried(endpoint: WebhookEndpoint) -> None:
    """A closed port gives Retry("connection refused")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert await endpoint.send(attempt_to(f"http://127.0.0.1:{port}/hook")) == Retry("connection refused")


async def test_loopback_refused_without_allow_list(receiver: WebhookReceiver) -> None:
    """Without an allow-list a loopback URL fails permanently and nothing is sent."""
    webhook = WebhookEndpoint(NetworkPolicy())
    try:
        outcome = await webhook.send(attempt_to(receiver.url))
        by_name = await webhook.send(attempt_to(receiver.url.replace("127.0.0.1", "localhost")))
    finally:
        await webhook.aclose()
    assert outcome == Failed("address 127.0.0.1 is loopback; allow it with delivery.allowed_networks")
    assert isinstance(by_name, Failed) and "is loopback" in by_name.reason
    assert receiver.received == []


async def test_loopback_accepted_with_allowed_networks(receiver: WebhookReceiver) -> None:
    """allowed_networks ["127.0.0.0/8"] admits the loopback receiver, by address and by name."""
    webhook = WebhookEndpoint(NetworkPolicy(allowed_networks=["127.0.0.0/8", "::1/128"]))
    try:
        assert await webhook.send(attempt_to(receiver.url)) == Delivered(200)
        assert await webhook.send(attempt_to(receiver.url.replace("127.0.0.1", "localhost"))) == Delivered(
            200
        )
    finally:
        await webhook.aclose()
    assert len(receiver.received) == 2


async def test_connects_to_the_checked_address(
    receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection goes to the address the policy resolved and checked (a name only it knows)."""

    async def fake_getaddrinfo(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host != "hooks.test":
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_getaddrinfo)
    webhook = WebhookEndpoint(LOOPBACK)
    try:
        url = receiver.url.replace("127.0.0.1", "hooks.test")
        assert await webhook.send(attempt_to(url)) == Delivered(200)
        assert await webhook.send(attempt_to(url.replace("hooks.test", "gone.test"))) == Retry(
            "cannot resolve gone.test"
        )
    finally:
        await webhook.aclose()
    assert receiver.received[0].headers["Host"].startswith("hooks.test:")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "not a url", "http:///nohost", "file:///etc/passwd"])
async def test_unusable_urls_fail(endpoint: WebhookEndpoint, url: str) -> None:
    """A URL that is not http(s) with a host fails permanently without a request."""
    outcome = await endpoint.send(attempt_to(url))
    assert isinstance(outcome, Failed) and "URL" in outcome.reason


async def test_header_injection_fails(endpoint: WebhookEndpoint, receiver: WebhookReceiver) -> None:
    """A header value with CR/LF is refused as a permanent failure, not raised."""
    outcome = await endpoint.send(attempt_to(receiver.url, headers={"X-A": "a\r\nX-B: b"}))
    assert outcome == Failed("invalid request headers")
    assert receiver.received == []


async def test_reasons_never_leak_body_or_secret(
    endpoint: WebhookEndpoint, receiver: WebhookReceiver
) -> None:
    """Failure reasons are short and contain neither the body nor the signing secret."""
    outcomes = []
    for status in (400, 503):
        receiver.behave(status=status)
        outcomes.append(await endpoint.send(attempt_to(receiver.url)))
    for outcome in outcomes:
        assert isinstance(outcome, Retry | Failed)
        assert len(outcome.reason) < 80
        assert "do-not-echo" not in outcome.reason and SECRET not in outcome.reason


async def test_per_host_connection_limit(receiver: WebhookReceiver) -> None:
    """Concurrent sends share one pool and never exceed limit_per_host connections to a receiver."""
    receiver.behave(delay=0.1)
    webhook = WebhookEndpoint(LOOPBACK, limit_per_host=3)
    try:
        outcomes = await asyncio.gather(*(webhook.send(attempt_to(receiver.url)) for _ in range(12)))
    finally:
        await webhook.aclose()
    assert outcomes == [Delivered(200)] * 12
    assert receiver.max_in_flight == 3


async def test_send_after_aclose_reopens(endpoint: WebhookEndpoint, receiver: WebhookReceiver) -> None:
    """aclose() closes the pool; a later send opens a fresh one."""
    assert await endpoint.send(attempt_to(receiver.url)) == Delivered(200)
    await endpoint.aclose()
    assert await endpoint.send(attempt_to(receiver.url)) == Delivered(200)


def test_classify_status_table() -> None:
    """The status table: 2xx delivered, 408/425/429/5xx retried with Retry-After, the rest failed."""
    assert classify_status(200, {}, 0) == Delivered(200)
    assert classify_status(429, {"Retry-After": "3"}, 0) == Retry("HTTP 429", 429, 3.0)
    assert classify_status(500, {}, 0) == Retry("HTTP 500", 500)
    assert classify_status(404, {"Retry-After": "3"}, 0) == Failed("HTTP 404", 404)
    assert isinstance(classify_status(304, {}, 0), Failed)
