"""Retries below the client: what is retried, how long it waits, and what stays the same across tries."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from client_fakes import FakeApi, Fault, Sleeps, make_client

from ccbridge.client import (
    ApiConflictError,
    ApiNotFoundError,
    ApiServerError,
    ApiValidationError,
    BridgeClient,
    RateLimitExhausted,
)
from ccbridge.errors import InputError, Retryable

SUB = {"name": "s", "eventType": "custom.x", "endpoints": [{"url": "https://h.example/x", "type": "webhook"}]}


async def test_retry_after_seconds_is_a_floor(client: BridgeClient, fake: FakeApi, sleeps: Sleeps) -> None:
    """A 429 with `Retry-After: 2` waits at least 2 s before the next try, which then succeeds."""
    fake.fail_next(Fault(429, "2"))
    assert await client.list_subscriptions() == []
    assert len(sleeps.delays) == 1 and sleeps.delays[0] >= 2.0
    assert len(fake.requests) == 2


async def test_retry_after_http_date_is_honoured(fake: FakeApi, sleeps: Sleeps) -> None:
    """`Retry-After` as an HTTP-date is read as seconds from now (here 7 s)."""
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    later = format_datetime(datetime(2024, 5, 1, 12, 0, 7, tzinfo=UTC), usegmt=True)
    fake.fail_next(Fault(503, later))
    async with make_client(fake, sleeps, clock=lambda: now) as client:
        await client.list_subscriptions()
    assert sleeps.delays == [pytest.approx(7.0)]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_transient_statuses_are_retried(client: BridgeClient, fake: FakeApi, status: int) -> None:
    """429 and 500/502/503/504 are tried again until an answer that is not transient."""
    fake.fail_next(Fault(status), Fault(status))
    await client.list_subscriptions()
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, ApiValidationError), (404, ApiNotFoundError), (409, ApiConflictError), (422, ApiValidationError)],
)
async def test_other_4xx_are_never_retried(
    client: BridgeClient, fake: FakeApi, sleeps: Sleeps, status: int, error: type[Exception]
) -> None:
    """400/404/409/422 are answered to the caller at once as their typed error, after one try."""
    fake.fail_next(Fault(status))
    with pytest.raises(error):
        await client.create_subscription(SUB)
    assert len(fake.requests) == 1 and sleeps.delays == []


async def test_idempotency_key_and_correlation_id_survive_retries(
    client: BridgeClient, fake: FakeApi
) -> None:
    """Every try of one create carries the same Idempotency-Key and X-Correlation-Id."""
    fake.fail_next(Fault(503), Fault(429, "0"), Fault(500, after=True))
    reply = await client.create_subscription(SUB, idempotency_key="key-1")
    assert reply.status == 201
    assert {h["idempotency-key"] for h in fake.seen} == {"key-1"}
    assert len({h["x-correlation-id"] for h in fake.seen}) == 1
    assert len(fake.subscriptions) == 1  # the lost answer was replayed, not re-created


async def test_each_logical_write_gets_its_own_generated_key(client: BridgeClient, fake: FakeApi) -> None:
    """Without a given key, each operation generates one; two operations never share it."""
    await client.create_subscription(SUB)
    await client.create_subscription({**SUB, "name": "t"})
    keys = [h["idempotency-key"] for h in fake.seen]
    assert len(keys) == 2 and keys[0] != keys[1]


async def test_connection_errors_and_timeouts_are_retried(fake: FakeApi, sleeps: Sleeps) -> None:
    """A refused connection and a read timeout are retried like a 503."""
    errors = [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")]

    async def handler(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/token") and errors:
            raise errors.pop(0)
        return await fake.handler(request)

    async with make_client(fake, sleeps) as client:
        client._transport._inner = httpx.MockTransport(handler)
        assert await client.list_subscriptions() == []
    assert len(sleeps.delays) == 2


async def test_exhausted_429_raises_rate_limit_exhausted(fake: FakeApi, sleeps: Sleeps) -> None:
    """A 429 on every try ends in RateLimitExhausted (a Retryable) carrying the last Retry-After."""
    fake.fail_next(*[Fault(429, "1")] * 5)
    async with make_client(fake, sleeps, max_retries=4) as client:
        with pytest.raises(RateLimitExhausted) as caught:
            await client.list_subscriptions()
    assert isinstance(caught.value, Retryable) and caught.value.retry_after == 1.0
    assert len(fake.requests) == 5 and len(sleeps.delays) == 4


async def test_exhausted_5xx_and_dead_network_raise_server_error(fake: FakeApi) -> None:
    """Persistent 503s give ApiServerError(status=503); no connection at all gives status None."""
    fake.fail_next(*[Fault(503)] * 5)
    async with make_client(fake, max_retries=4) as client:
        with pytest.raises(ApiServerError) as caught:
            await client.list_subscriptions()
        assert caught.value.status == 503

        def down(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused")

        client._transport._inner = httpx.MockTransport(down)
        with pytest.raises(ApiServerError) as caught:
            await client.list_subscriptions()
        assert caught.value.status is None


async def test_retry_after_beyond_the_cap_is_not_waited_out(fake: FakeApi, sleeps: Sleeps) -> None:
    """A Retry-After above max_retry_after fails at once instead of parking the caller for an hour."""
    fake.fail_next(Fault(429, "3600"))
    async with make_client(fake, sleeps, max_retry_after=60) as client:
        with pytest.raises(RateLimitExhausted) as caught:
            await client.list_subscriptions()
    assert caught.value.retry_after == 3600 and sleeps.delays == []


async def test_backoff_is_capped_exponential_with_jitter(fake: FakeApi, sleeps: Sleeps) -> None:
    """Delays double from 0.2 s, each jittered within [base/2, base], and never exceed the 5 s cap."""
    fake.fail_next(*[Fault(503)] * 8)
    async with make_client(fake, sleeps, max_retries=8) as client:
        await client.list_subscriptions()
    bases = [min(0.2 * 2**i, 5.0) for i in range(8)]
    assert len(sleeps.delays) == 8
    for delay, base in zip(sleeps.delays, bases, strict=True):
        assert base / 2 <= delay <= base


async def test_server_field_errors_reach_the_caller(client: BridgeClient, fake: FakeApi) -> None:
    """A 422 problem+json's `errors` become ApiValidationError.errors (an InputError) field by field."""

    async def invalid(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return await fake.handler(request)
        problem = {
            "title": "invalid subscription",
            "status": 422,
            "errors": [{"field": "endpoints[0].url", "message": "bad"}, {"field": "name", "message": "x"}],
        }
        return httpx.Response(422, json=problem, headers={"Content-Type": "application/problem+json"})

    client._transport._inner = httpx.MockTransport(invalid)
    with pytest.raises(InputError) as caught:
        await client.create_subscription(SUB)
    assert [(e.field, e.message) for e in caught.value.errors] == [("endpoints[0].url", "bad"), ("name", "x")]


async def test_conflict_carries_the_existing_id(client: BridgeClient, fake: FakeApi) -> None:
    """A 409 on a duplicate name is ApiConflictError with the server's existingId."""
    first = await client.create_subscription(SUB)
    with pytest.raises(ApiConflictError) as caught:
        await client.create_subscription(SUB, idempotency_key="other")
    assert caught.value.existing_id == first.body["id"]
