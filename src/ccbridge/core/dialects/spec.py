"""What the subscription parsers of both dialects are given and give, in dialect-neutral form.

`Limits` is what a subscription may hold (the server's config; a client checking a plan offline
gives what it knows). `DialectPart` is what a dialect's parser (`cxone`, `genesys`) makes of the
fields only that dialect has; `SubscriptionSpec` is a whole valid body, a `Subscription` but for
what the server assigns (`SERVER_FIELDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ccbridge.core.event import DeadLetterSpec, Dialect, EndpointSpec, RetrySpec

SERVER_FIELDS = frozenset({"id", "state", "createdDate", "updatedDate", "secret", "secretHint"})
"""What `render_subscription` adds to the body as sent: assigned by the server, never a difference."""

FilterKind = Literal["none", "pattern", "filters", "expression"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What a subscription may hold; `known_type` says whether an event type is in the catalogue."""

    max_endpoints: int
    known_type: Callable[[str], bool]
    cxone_connectors: frozenset[str] | None = None
    """The `connectors.cxone` names a `cxone-signal` URL may name; None: not checked."""


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """A valid body in dialect-neutral form: a `Subscription` but for what the server assigns.

    `secret` is the one the body gave, or None. `request` is the body as it will be stored and
    answered: server fields and the secret removed, CXone's endpoints, retry and dead-letter
    settings with their defaults filled in.
    """

    dialect: Dialect
    name: str
    description: str
    event_types: tuple[str, ...]
    endpoints: tuple[EndpointSpec, ...]
    secret: str | None
    labels: dict[str, str]
    headers: dict[str, str]
    retry: RetrySpec
    dead_letter: DeadLetterSpec
    filter_kind: FilterKind
    filter_source: Any
    pattern: dict[str, Any] | None
    request: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DialectPart:
    """The dialect-specific part of a body, checked; `normalized` is merged into the stored request."""

    event_types: tuple[str, ...]
    endpoints: tuple[EndpointSpec, ...]
    retry: RetrySpec
    dead_letter: DeadLetterSpec
    headers: dict[str, str]
    normalized: dict[str, Any]
