"""The whole `/ingest` flow: source choice, schema, mapping, the stored event, idempotency, limits."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from ingest_support import ORDER, Issuers, MakeGateway, section

from ccbridge.api.problems import answer_for
from ccbridge.core.event import Event
from ccbridge.core.ports import AppendResult
from ccbridge.errors import InputError, Malformed, RateLimited, Retryable, TooLarge
from ccbridge.ingest import IngestGateway, compile_ingest
from ccbridge.ingest.testing import FakeClock

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def order(**changes: Any) -> bytes:
    """The sample order with `changes` applied (value None deletes the field)."""
    doc = {**ORDER, **changes}
    return orjson.dumps({k: v for k, v in doc.items() if v is not None})


def expected_key(event_type: str, business_key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event_type}:{business_key}"))


async def test_accepted_order_is_stored_as_a_genesys_event(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A valid order is mapped, stored once and answered 202 with its deterministic key and event id."""
    harness = await make_gateway()
    headers = {**issuers.ec.bearer(clock.now()), "X-Correlation-Id": "corr-1", "traceparent": TRACEPARENT}
    result = await harness.gateway.handle(headers, order())
    (event,) = harness.store.events
    key = expected_key("custom.legacy.orders.order_created", "T-1001")
    assert result.status_code == 202 and not result.duplicate
    assert result.body == {"status": "accepted", "idempotency_key": key, "event_id": event.id}
    assert uuid.UUID(event.id).version == 4
    assert event.type == "custom.legacy.orders.order_created"
    assert event.time == "2024-05-01T12:00:00Z"
    assert event.source == {"system": "legacy-ordering-platform", "version": "2.1.0"}
    assert event.data == {
        "transaction_id": "T-1001",
        "amount": 129.5,
        "currency": "EUR",
        "original_type": "order_created",
        "channel": "erp",
        "region": "unknown",
    }
    assert event.dialect == "genesys"
    assert event.correlation_id == "corr-1"
    assert event.received_at == "2024-05-01T12:00:00.000Z"  # the injected clock, as every receivedAt
    assert event.idempotency_key == key
    assert event.metadata == {"ingestSource": "orders", "subject": "erp", "traceparent": TRACEPARENT}


async def test_repeat_answers_202_with_the_same_key_and_original_event_id(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A legacy retry of the same business event stores nothing new and returns the first event's id."""
    harness = await make_gateway()
    first = await harness.gateway.handle(issuers.ec.bearer(clock.now()), order())
    again = await harness.gateway.handle(issuers.rsa.bearer(clock.now()), order(amount=1))
    assert again.duplicate and again.status_code == 202
    assert again.body == first.body
    assert len(harness.store.events) == 1


async def test_idempotency_key_header_wins_over_the_derived_key(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A caller's Idempotency-Key (or X-Idempotency-Key) is used as the key, in any header case."""
    harness = await make_gateway()
    result = await harness.gateway.handle(
        {**issuers.ec.bearer(clock.now()), "idempotency-KEY": "abc-123"}, order()
    )
    assert result.body["idempotency_key"] == "abc-123"
    assert harness.store.events[0].idempotency_key == "abc-123"
    headers = {**issuers.ec.bearer(clock.now()), "X-Idempotency-Key": "abc-456"}
    assert (await harness.gateway.handle(headers, order())).body["idempotency_key"] == "abc-456"


async def test_different_business_keys_or_types_get_different_keys(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """The derived key depends on both the event type and the business key value."""
    harness = await make_gateway()
    headers = issuers.ec.bearer(clock.now())
    keys = {
        (await harness.gateway.handle(headers, body)).body["idempotency_key"]
        for body in [order(), order(transaction_id="T-2"), order(event_type="order_cancelled")]
    }
    assert len(keys) == 3 and len(harness.store.events) == 3


async def test_source_without_business_key_derives_the_key_from_the_payload(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """Without a business key, the same payload (in any key order) gives the same key; another payload not."""
    harness = await make_gateway()
    headers = issuers.ec.bearer(clock.now())
    a = await harness.gateway.handle(headers, b'{"kind": "note", "at": 1714564800, "text": "hi"}')
    b = await harness.gateway.handle(headers, b'{"text": "hi", "at": 1714564800, "kind": "note"}')
    c = await harness.gateway.handle(headers, b'{"kind": "note", "at": 1714564800, "text": "ho"}')
    assert a.body["idempotency_key"] == b.body["idempotency_key"] != c.body["idempotency_key"]
    assert b.duplicate and harness.store.events[0].metadata["ingestSource"] == "misc"


async def test_correlation_id_is_generated_when_absent_and_bad_traceparent_dropped(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """Without X-Correlation-Id a UUID is generated; a malformed traceparent is ignored, not stored."""
    harness = await make_gateway()
    await harness.gateway.handle({**issuers.ec.bearer(clock.now()), "traceparent": "garbage"}, order())
    event = harness.store.events[0]
    assert uuid.UUID(event.correlation_id)
    assert "traceparent" not in event.metadata


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Correlation-Id"])
@pytest.mark.parametrize("value", ["", "has space", "x" * 256, "caf\u00e9"])
async def test_malformed_key_headers_are_422(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, header: str, value: str
) -> None:
    """Idempotency-Key and X-Correlation-Id must be 1-255 visible ASCII characters."""
    harness = await make_gateway()
    with pytest.raises(InputError) as caught:
        await harness.gateway.handle({**issuers.ec.bearer(clock.now()), header: value}, order())
    assert caught.value.errors[0].field == header


@pytest.mark.parametrize("body", [b"", b"{not json", b"\xff\xfe", b'{"a": 1} trailing'])
async def test_non_json_body_is_400(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, body: bytes
) -> None:
    """A body that is not JSON is Malformed (400)."""
    harness = await make_gateway()
    with pytest.raises(Malformed) as caught:
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), body)
    assert answer_for(caught.value).status == 400


@pytest.mark.parametrize("body", [b"[]", b'"order"', b"42", b"null"])
async def test_json_that_is_not_an_object_is_422(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, body: bytes
) -> None:
    """Valid JSON that is not an object cannot be a legacy event."""
    harness = await make_gateway()
    with pytest.raises(InputError) as caught:
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), body)
    assert answer_for(caught.value).status == 422 and caught.value.errors[0].field == "body"


async def test_body_over_the_limit_is_413(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A body larger than `max_body_bytes` is refused before it is parsed."""
    doc = section()
    doc["max_body_bytes"] = 64
    harness = await make_gateway(doc)
    with pytest.raises(TooLarge) as caught:
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), order(note="x" * 100))
    assert answer_for(caught.value).status == 413


async def test_payload_no_source_matches_is_422_saying_so(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A payload outside every source's match pattern is a 422 'no source matches this payload'."""
    harness = await make_gateway()
    with pytest.raises(InputError) as caught:
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), order(event_type="order_shipped"))
    assert caught.value.errors[0].message == "no source matches this payload"
    assert harness.store.events == []


async def test_schema_errors_are_all_listed_with_their_paths(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """Every JSON Schema violation (formats included) is reported with its path, not only the first."""
    harness = await make_gateway()
    body = order(amount=-1, currency="euro", transaction_id=None, email="not-an-email")
    with pytest.raises(InputError) as caught:
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), body)
    fields = [e.field for e in caught.value.errors]
    assert answer_for(caught.value).status == 422
    assert {"amount", "currency", "email", "$"} <= set(fields)
    assert "orders" in caught.value.title


async def test_unparseable_time_is_422_never_now(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A time the mapping cannot read is a 422 naming the field; nothing is stored."""
    harness = await make_gateway()
    with pytest.raises(InputError) as caught:
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), order(timestamp="01/05/2024"))
    assert [e.field for e in caught.value.errors] == ["timestamp"]
    assert harness.store.events == []


@pytest.mark.parametrize("timestamp", [1714564800, 1714564800000, "1714564800000", "2024-05-01T12:00:00Z"])
async def test_every_time_form_gives_the_same_event_time(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, timestamp: Any
) -> None:
    """Epoch seconds, milliseconds, digit strings and RFC 3339 all normalise to the same UTC time."""
    doc = section()
    doc["sources"][0].pop("schema")
    harness = await make_gateway(doc)
    await harness.gateway.handle(issuers.ec.bearer(clock.now()), order(timestamp=timestamp))
    assert harness.store.events[0].time == "2024-05-01T12:00:00Z"


async def test_missing_business_key_is_422_naming_it(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A payload without its business key cannot get a deterministic key: a 422 on that field."""
    doc = section()
    doc["sources"][0].pop("schema")
    doc["sources"][0]["business_key"] = "order.number"
    harness = await make_gateway(doc)
    with pytest.raises(InputError) as caught:
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), order())
    assert [e.field for e in caught.value.errors] == ["order.number"]


async def test_rate_limit_per_subject_is_429_with_retry_after(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """Beyond its burst a subject gets RateLimited with retry_after; another subject is unaffected."""
    doc = section()
    doc["rate_limit"] = {"per_subject_per_second": 2, "burst": 2}
    harness = await make_gateway(doc)
    for n in range(2):
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), order(transaction_id=f"T-{n}"))
    with pytest.raises(RateLimited) as caught:
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), order(transaction_id="T-9"))
    assert answer_for(caught.value).status == 429 and caught.value.retry_after == pytest.approx(0.5)
    await harness.gateway.handle(issuers.ec.bearer(clock.now(), sub="crm"), order(transaction_id="T-9"))
    clock.advance(0.5)
    await harness.gateway.handle(issuers.ec.bearer(clock.now()), order(transaction_id="T-10"))
    assert len(harness.store.events) == 4


async def test_append_errors_pass_through(config_dir: Path, issuers: Issuers, clock: FakeClock) -> None:
    """A failure of the store's append reaches the caller unchanged (the route maps it)."""

    async def failing(event: Event) -> AppendResult:
        raise Retryable("store busy", retry_after=1)

    gateway = IngestGateway(compile_ingest(section(), config_dir), failing, clock)
    with pytest.raises(Retryable, match="store busy"):
        await gateway.handle(issuers.ec.bearer(clock.now()), order())
