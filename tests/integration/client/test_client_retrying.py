"""Retries below the client: what is retried, how long it waits, and what stays the same across tries.

The server is the real app; the faults are the wire's (a flaky proxy's answers, dropped connections).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from client_support import SETTINGS, Bridge, Fault, Sleeps

from ccbridge.client import (
    ApiConflictError,
    ApiNotFoundError,
    ApiServerError,
    ApiValidationError,
    BridgeClient,
    RateLimitExhausted,
    RetryOptions,
)
from ccbridge.core.retry import RetryPolicy
from ccbridge.errors import InputError, Retryable
from ccbridge.serve import free_port

SUB = {"name": "s", "eventType": "custom.x", "endpoints": [{"url": "https://h.example/x", "type": "webhook"}]}


async def test_retry_after_seconds_is_a_floor(bridge: Bridge, client: BridgeClient, sleeps: Sleeps) -> None:
    """A 429 with `Retry-After: 2` waits at least 2 s before the next try, which then succeeds."""
    bridge.wire.fail_next(Fault(429, "2"))
    assert await client.list_subscriptions() == []
    assert len(sleeps.delays) == 1 and sleeps.delays[0] >= 2.0
    assert len(bridge.wire.tries) == 2


async def test_retry_after_http_date_is_honoured(bridge: Bridge, sleeps: Sleeps) -> None:
    """`Retry-After` as an HTTP-date is read as seconds from now (here 7 s)."""
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    later = format_datetime(datetime(2024, 5, 1, 12, 0, 7, tzinfo=UTC), usegmt=True)
    bridge.wire.fail_next(Fault(503, later))
    async with bridge.client(sleeps, clock=lambda: now) as client:
        await client.list_subscriptions()
    assert sleeps.delays == [pytest.approx(7.0)]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_transient_statuses_are_retried(bridge: Bridge, client: BridgeClient, status: int) -> None:
    """429 and 500/502/503/504 are tried again until an answer that is not transient."""
    bridge.wire.fail_next(Fault(status), Fault(status))
    await client.list_subscriptions()
    assert len(bridge.wire.tries) == 3


async def _invalid(client: BridgeClient) -> Any:
    return await client.create_subscription({**SUB, "endpoints": [{"url": "ftp://x"}]})


async def _missing(client: BridgeClient) -> Any:
    return await client.get_subscription("no-such-id")


async def _duplicate(client: BridgeClient) -> Any:
    return await client.create_subscription(SUB)


@pytest.mark.parametrize(
    ("call", "error"),
    [(_invalid, ApiValidationError), (_missing, ApiNotFoundError), (_duplicate, ApiConflictError)],
    ids=["invalid", "not-found", "conflict"],
)
async def test_refusals_are_never_retried(
    bridge: Bridge,
    client: BridgeClient,
    sleeps: Sleeps,
    call: Callable[[BridgeClient], Awaitable[Any]],
    error: type[Exception],
) -> None:
    """An invalid body, an unknown id and a duplicate name are answered at once as their typed error."""
    await client.create_subscription({**SUB, "name": "s"})
    before = len(bridge.wire.tries)
    with pytest.raises(error) as caught:
        await call(client)
    assert 400 <= getattr(caught.value, "status", 0) < 500
    assert len(bridge.wire.tries) == before + 1 and sleeps.delays == []


async def test_idempotency_key_and_correlation_id_survive_retries(
    bridge: Bridge, client: BridgeClient
) -> None:
    """Every try of one create carries the same Idempotency-Key and X-Correlation-Id."""
    bridge.wire.fail_next(Fault(503), Fault(429, "0"), Fault(500, after=True))
    reply = await client.create_subscription(SUB, idempotency_key="key-1")
    assert reply.status == 201
    assert {r.headers["idempotency-key"] for r in bridge.wire.tries} == {"key-1"}
    assert len({r.headers["x-correlation-id"] for r in bridge.wire.tries}) == 1
    assert len(bridge.wire.tries) == 4
    assert len(await client.list_subscriptions()) == 1  # the lost answer was replayed, not re-created


async def test_each_logical_write_gets_its_own_generated_key(bridge: Bridge, client: BridgeClient) -> None:
    """Without a given key, each operation generates one; two operations never share it."""
    await client.create_subscription(SUB)
    await client.create_subscription({**SUB, "name": "t"})
    keys = [r.headers["idempotency-key"] for r in bridge.wire.tries]
    assert len(keys) == 2 and keys[0] != keys[1]


async def test_connection_errors_and_timeouts_are_retried(
    bridge: Bridge, client: BridgeClient, sleeps: Sleeps
) -> None:
    """A refused connection and a read timeout are retried like a 503."""
    bridge.wire.fail_next(httpx.ConnectError, httpx.ReadTimeout)
    assert await client.list_subscriptions() == []
    assert len(sleeps.delays) == 2 and len(bridge.wire.tries) == 3


async def test_exhausted_429_raises_rate_limit_exhausted(bridge: Bridge, sleeps: Sleeps) -> None:
    """A 429 on every try ends in RateLimitExhausted (a Retryable) carrying the last Retry-After."""
    bridge.wire.fail_next(*[Fault(429, "1")] * 5)
    async with bridge.client(sleeps, max_retries=4) as client:
        with pytest.raises(RateLimitExhausted) as caught:
            await client.list_subscriptions()
    assert isinstance(caught.value, Retryable) and caught.value.retry_after == 1.0
    assert len(bridge.wire.tries) == 5 and len(sleeps.delays) == 4


async def test_exhausted_5xx_raises_server_error(bridge: Bridge) -> None:
    """Persistent 503s give ApiServerError(status=503)."""
    bridge.wire.fail_next(*[Fault(503)] * 5)
    async with bridge.client(max_retries=4) as client:
        with pytest.raises(ApiServerError) as caught:
            await client.list_subscriptions()
    assert caught.value.status == 503


async def test_no_server_at_all_raises_server_error_without_status() -> None:
    """Nothing listening on the port: every try is refused, and the error has no status."""
    sleeps = Sleeps()
    settings = SETTINGS.model_copy(update={"base_url": f"http://127.0.0.1:{free_port()}"})
    retry = RetryOptions(policy=RetryPolicy(2, "exponential", 0.2, 5.0), sleep=sleeps)
    async with BridgeClient(settings, retry=retry) as client:
        with pytest.raises(ApiServerError) as caught:
            await client.list_subscriptions()
    assert caught.value.status is None and len(sleeps.delays) == 2


async def test_retry_after_beyond_the_cap_is_not_waited_out(bridge: Bridge, sleeps: Sleeps) -> None:
    """A Retry-After above max_retry_after fails at once instead of parking the caller for an hour."""
    bridge.wire.fail_next(Fault(429, "3600"))
    async with bridge.client(sleeps, max_retry_after=60) as client:
        with pytest.raises(RateLimitExhausted) as caught:
            await client.list_subscriptions()
    assert caught.value.retry_after == 3600 and sleeps.delays == []


async def test_backoff_is_capped_exponential_with_jitter(bridge: Bridge, sleeps: Sleeps) -> None:
    """Delays double from 0.2 s, each jittered within [base/2, base], and never exceed the 5 s cap."""
    bridge.wire.fail_next(*[Fault(503)] * 8)
    async with bridge.client(sleeps, max_retries=8) as client:
        await client.list_subscriptions()
    bases = [min(0.2 * 2**i, 5.0) for i in range(8)]
    assert len(sleeps.delays) == 8
    for delay, base in zip(sleeps.delays, bases, strict=True):
        assert base / 2 <= delay <= base


async def test_server_field_errors_reach_the_caller(client: BridgeClient) -> None:
    """A refused create's problem+json `errors` become ApiValidationError.errors (an InputError)."""
    body = {"eventType": "contact.created", "endpoints": [{"url": "ftp://x"}]}
    with pytest.raises(InputError) as caught:
        await client.create_subscription(body)
    assert [e.field for e in caught.value.errors] == ["name", "endpoints[0].url"]
    assert "http:// or https://" in caught.value.errors[1].message


async def test_conflict_carries_the_existing_id(client: BridgeClient) -> None:
    """A 409 on a duplicate name is ApiConflictError with the server's existingId."""
    first = await client.create_subscription(SUB)
    with pytest.raises(ApiConflictError) as caught:
        await client.create_subscription(SUB, idempotency_key="other")
    assert caught.value.existing_id == first.body["id"]
