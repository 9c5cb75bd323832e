"""Small, valid `Event` and `Subscription` values for tests of the parts below the API (stores, the
dispatcher, the housekeeper), so each test states only what it cares about."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ccbridge.core.event import EndpointSpec, Event, Subscription


def sample_event(
    n: int, *, key: str | None = None, type_: str = "contact.created", data: Any = None
) -> Event:
    """Event `evt-<n>` of `type_` with data `{"n": n}` unless given, correlation id `c-<n>`."""
    return Event(
        id=f"evt-{n}",
        type=type_,
        source="test",
        time="2026-11-24T10:00:00Z",
        data={"n": n} if data is None else data,
        dialect="cxone",
        correlation_id=f"c-{n}",
        received_at="2026-11-24T10:00:00Z",
        idempotency_key=key,
    )


def sample_subscription(
    sub_id: str,
    name: str,
    *,
    endpoints: int = 1,
    urls: Sequence[str] = (),
    pattern: dict[str, Any] | None = None,
    type_: str = "contact.created",
    secret: str = "whsec_x",
) -> Subscription:
    """A CXone subscription to `type_`; its webhooks are `urls`, else `endpoints` made-up loopback URLs
    (`http://127.0.0.1/<name>/<i>`, for tests that lease deliveries without sending them)."""
    targets = tuple(urls) or tuple(f"http://127.0.0.1/{name}/{i}" for i in range(endpoints))
    return Subscription(
        id=sub_id,
        name=name,
        dialect="cxone",
        event_types=(type_,),
        endpoints=tuple(EndpointSpec(url) for url in targets),
        secret=secret,
        created_at="t",
        updated_at="t",
        pattern=pattern,
    )
