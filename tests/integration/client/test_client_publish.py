"""The publisher (seed 004) against the real app: schema validation, the UUIDv5 key, correlation,
de-duplication by the server, and batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import client_support
import orjson
import pytest
from client_support import Bridge, Fault, Sleeps

from ccbridge.client import BridgeClient, PublishConfig, RateLimitExhausted, event_key, publish, publish_lines
from ccbridge.client.api import correlation
from ccbridge.errors import ConfigError, InputError

SCHEMA = Path(__file__).parent / "data" / "order_created.schema.json"
CONFIG = PublishConfig.model_validate(
    {"event_types": {"OrderCreated": {"schema": str(SCHEMA), "business_key": "orderId"}}}
)
ORDER: dict[str, Any] = {**client_support.ORDER, "metadata": {"source": "checkout-api", "version": "2.1"}}


async def test_publish_sends_the_seed_004_request(bridge: Bridge, client: BridgeClient) -> None:
    """The body is CXone `{eventType, attributes, timestamp}` with tracing attributes and both headers."""
    result = await publish(client, "OrderCreated", ORDER, config=CONFIG, correlation_id="trace-abc-123")
    (request,) = bridge.wire.tries
    body = orjson.loads(request.content)
    assert body["eventType"] == "OrderCreated" and body["timestamp"] == ORDER["timestamp"]
    assert body["attributes"]["_correlationId"] == "trace-abc-123"
    assert body["attributes"]["_publishedAt"].endswith("Z")
    assert {k: v for k, v in body["attributes"].items() if not k.startswith("_")} == ORDER
    assert (
        request.headers["X-Idempotency-Key"]
        == result.idempotency_key
        == event_key("OrderCreated", "ORD-1234567890")
    )
    assert request.headers["X-Correlation-Id"] == "trace-abc-123"
    assert result.event_id and not result.duplicate
    assert bridge.stored_events() == 1


async def test_republish_is_a_duplicate_with_the_original_id(bridge: Bridge, client: BridgeClient) -> None:
    """Publishing the same business transaction again is answered 200 with the original event id."""
    first = await publish(client, "OrderCreated", ORDER, config=CONFIG)
    again = await publish(client, "OrderCreated", {**ORDER, "totalAmount": 1}, config=CONFIG)
    assert again.duplicate and again.event_id == first.event_id
    assert bridge.stored_events() == 1


async def test_lost_answer_is_retried_and_lands_once(bridge: Bridge, client: BridgeClient) -> None:
    """An answer lost after the server stored the event is retried with the same key: one event."""
    bridge.wire.fail_next(Fault(503, "0", after=True))
    result = await publish(client, "OrderCreated", ORDER, config=CONFIG)
    assert bridge.stored_events() == 1 and len(bridge.wire.tries) == 2
    assert result.duplicate  # the retry saw the stored original


async def test_every_schema_error_is_reported_and_nothing_sent(bridge: Bridge, client: BridgeClient) -> None:
    """All violations (pattern, type, format, unknown field) are listed at once; no request is made."""
    bad = {**ORDER, "orderId": "123", "totalAmount": "much", "timestamp": "yesterday", "extra": 1}
    with pytest.raises(InputError) as caught:
        await publish(client, "OrderCreated", bad, config=CONFIG)
    fields = {e.field for e in caught.value.errors}
    assert {"data.orderId", "data.totalAmount", "data.timestamp", "data"} <= fields
    assert bridge.wire.tries == [] and bridge.wire.token_tries == []


async def test_unknown_type_is_a_config_error(client: BridgeClient) -> None:
    """A type without a registered schema is a ConfigError naming publish.event_types."""
    with pytest.raises(ConfigError) as caught:
        await publish(client, "Nope", ORDER, config=CONFIG)
    assert caught.value.path == "publish.event_types"


async def test_correlation_scope_is_used_when_no_id_is_given(bridge: Bridge, client: BridgeClient) -> None:
    """Inside `correlation(...)` the publish carries that id in the header and the attributes."""
    with correlation("run-7"):
        await publish(client, "OrderCreated", ORDER, config=CONFIG)
    (request,) = bridge.wire.tries
    assert request.headers["X-Correlation-Id"] == "run-7"
    assert orjson.loads(request.content)["attributes"]["_correlationId"] == "run-7"


async def test_batch_accounts_for_every_line(bridge: Bridge, client: BridgeClient) -> None:
    """Published, duplicates and rejected (not JSON, schema, unknown type, no data) add up to the lines."""

    def line(data: dict[str, Any], kind: str = "OrderCreated") -> str:
        return orjson.dumps({"type": kind, "data": data}).decode()

    lines = [
        line(ORDER),
        line({**ORDER, "orderId": "ORD-0000000002"}),
        "",
        line(ORDER),  # duplicate of line 1
        "{not json",
        line({**ORDER, "currency": "usd"}),
        line(ORDER, "Unknown"),
        '{"type": "OrderCreated"}',
    ]
    ticks: list[int] = []
    result = await publish_lines(client, lines, config=CONFIG, concurrency=3, on_done=lambda: ticks.append(1))
    assert (result.published, result.duplicates) == (2, 1)
    assert [r.line for r in result.rejected] == [5, 6, 7, 8]
    assert result.total == 7 == len(ticks)
    assert result.rejected[1].errors[0].field == "data.currency"
    assert result.rejected[2].errors[0].field == "type"
    assert bridge.stored_events() == 2


async def test_batch_transport_failures_are_rejected_not_dropped(bridge: Bridge) -> None:
    """An event whose retries are exhausted is counted as rejected with the reason."""
    bridge.wire.fail_next(*[Fault(503)] * 2)
    async with bridge.client(max_retries=1) as client:
        result = await publish_lines(
            client, [orjson.dumps({"type": "OrderCreated", "data": ORDER}).decode()], config=CONFIG
        )
    assert result.published == 0 and len(result.rejected) == 1
    assert "503" in result.rejected[0].errors[0].message
    assert bridge.stored_events() == 0


async def test_a_429_without_retry_after_waits_the_documents_5_seconds(
    bridge: Bridge, sleeps: Sleeps
) -> None:
    """Seed 004 reads a missing Retry-After as 5 s: the next try waits at least that, not 0.2 s."""
    bridge.wire.fail_next(Fault(429))
    async with bridge.client(sleeps) as client:
        result = await publish(client, "OrderCreated", ORDER, config=CONFIG)
    assert result.event_id and len(bridge.wire.tries) == 2
    assert len(sleeps.delays) == 1 and sleeps.delays[0] >= 5.0


async def test_a_retry_after_beyond_the_budget_is_reported_with_the_wait_asked(
    bridge: Bridge, sleeps: Sleeps
) -> None:
    """A Retry-After of 90 s with a 60 s budget is not waited out; the error says both figures."""
    bridge.wire.fail_next(Fault(429, "90"))
    async with bridge.client(sleeps, max_retry_after=60) as client:
        with pytest.raises(RateLimitExhausted) as caught:
            await publish(client, "OrderCreated", ORDER, config=CONFIG)
    assert caught.value.retry_after == 90 and sleeps.delays == []
    assert "asked to wait 90 s" in str(caught.value) and "budget of 60 s" in str(caught.value)
