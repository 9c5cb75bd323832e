"""The publisher's pure parts: seed 004's UUIDv5 idempotency key, and batch lines that can be fed back."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from ccbridge.client import event_key
from ccbridge.client.batch import parse_line

ORDER: dict[str, Any] = {"orderId": "ORD-1234567890", "totalAmount": 150.75}


def seed_004_uuidv5(name: str) -> str:
    """RFC 4122 UUIDv5 computed by hand, as the npm `uuid` package's v5(name, NAMESPACE_DNS) does."""
    namespace = bytes.fromhex("6ba7b8109dad11d180b400c04fd430c8")
    raw = bytearray(hashlib.sha1(namespace + name.encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def test_key_matches_seed_004() -> None:
    """The idempotency key is uuidv5(`${eventType}:${businessKey}`, NAMESPACE_DNS), exactly as seed 004."""
    assert event_key("OrderCreated", "ORD-1234567890") == seed_004_uuidv5("OrderCreated:ORD-1234567890")


def test_rejected_record_can_be_fed_back() -> None:
    """A rejected line's record keeps type and data, so the fixed file parses as input again."""
    rejected = parse_line(3, '{"type": "OrderCreated"}')
    assert not isinstance(rejected, tuple)
    record = {**rejected.as_dict(), "data": ORDER}
    assert parse_line(1, orjson.dumps(record).decode()) == ("OrderCreated", ORDER, None)
