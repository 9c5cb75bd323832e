"""What an operator does to a subscription's endpoints, whichever door the request came in by: the
JSON API (`api.endpoint_health`) and the dashboard (`api.ui.endpoints`) both call these, and keep only
their transport (JSON answers there; pages, fragments and redirects here).

Each function finds what it addresses, does the write, and appends the audit line with the API's
operation name (`endpoint.enable`, `endpoint.disable`, `secret.rotate`, `test`) for `principal`. It
returns a domain result and raises BridgeErrors: NotFoundError for an unknown subscription,
InputError on `index` for an index that is not one of its endpoints'. Authorizing the caller (scope,
CSRF) is the transport's job and happens before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from starlette.requests import Request

from ccbridge.api import idempotency
from ccbridge.api.audit import audit
from ccbridge.api.services import Services
from ccbridge.api.tokens import Principal
from ccbridge.core.endpoint_health import HealthRecord
from ccbridge.core.event import EndpointSpec, Subscription
from ccbridge.core.operational import test_event
from ccbridge.core.ports import AppendResult, IdempotentRecord
from ccbridge.core.signatures import generate_secret
from ccbridge.core.times import iso
from ccbridge.errors import FieldError, InputError, NotFoundError

MAX_INDEX_DIGITS = 6  # far past any subscription's endpoint count; keeps int() off huge strings


@dataclass(frozen=True, slots=True)
class Switched:
    """An endpoint enabled or disabled: where it stands in the subscription, and its health now."""

    subscription: Subscription
    index: int
    spec: EndpointSpec
    record: HealthRecord


@dataclass(frozen=True, slots=True)
class Rotation:
    """A rotated secret: `subscription` as stored, `secret` its new one (shown once), the old one
    still signing until `previous_expires_at` (epoch seconds)."""

    subscription: Subscription
    secret: str
    previous_expires_at: float


async def subscription(services: Services, sub_id: str) -> Subscription:
    """The subscription `sub_id`; NotFoundError when there is none."""
    sub = await services.store.get_subscription(sub_id)
    if sub is None:
        raise NotFoundError(f"no subscription with id {sub_id}")
    return sub


def endpoint_at(sub: Subscription, index: str) -> tuple[int, EndpointSpec]:
    """The endpoint at a path's `index` (0-based, ASCII digits); InputError on `index` otherwise."""
    if (
        not (index.isascii() and index.isdigit())
        or len(index) > MAX_INDEX_DIGITS
        or int(index) >= len(sub.endpoints)
    ):
        raise InputError(FieldError("index", f"must be an endpoint's index, 0 to {len(sub.endpoints) - 1}"))
    return int(index), sub.endpoints[int(index)]


async def switch(
    services: Services, request: Request, principal: Principal, sub_id: str, index: str, enabled: bool
) -> Switched:
    """Enable (the breaker closed, its counts reset) or disable one endpoint; a disabled endpoint's
    deliveries become dead letters, replayable once it is enabled again."""
    sub = await subscription(services, sub_id)
    position, spec = endpoint_at(sub, index)
    record = await services.store.set_endpoint_enabled(sub.id, spec.url, enabled)
    operation = "endpoint.enable" if enabled else "endpoint.disable"
    audit(services, request, principal, operation, subscription_id=sub.id, status=200)
    return Switched(sub, position, spec, record)


def _no_record(_: Rotation, __: float) -> IdempotentRecord | None:
    return None


async def rotate(
    services: Services,
    request: Request,
    principal: Principal,
    sub_id: str,
    *,
    keep: Callable[[Rotation, float], IdempotentRecord | None] = _no_record,
    idempotency_key: str | None = None,
) -> Rotation:
    """A new `whsec_` secret; the old one keeps signing for `delivery.secret_grace_seconds`.
    `keep(rotation, now)` is what the store keeps with the write in its transaction (the API's
    idempotent answer); `idempotency_key` goes on the audit line."""
    sub = await subscription(services, sub_id)
    now = services.now()
    expires = now + services.config.delivery.secret_grace_seconds
    rotated = replace(
        sub,
        secret=generate_secret(),
        previous_secret=sub.secret,
        previous_secret_expires_at=expires,
        updated_at=iso(now),
    )
    rotation = Rotation(rotated, rotated.secret, expires)
    await services.store.update_subscription(rotated, keep(rotation, now))
    audit(
        services,
        request,
        principal,
        "secret.rotate",
        subscription_id=sub.id,
        status=200,
        idempotency_key=idempotency_key,
    )
    return rotation


async def send_test(
    services: Services, request: Request, principal: Principal, sub_id: str, *, keyed: bool = False
) -> AppendResult:
    """A `ccbridge.test` event stored and delivered through the durable path to this subscription's
    endpoints only. `keyed`: the request's `Idempotency-Key` (read once the subscription is found)
    makes a repeat store it once (`core.operational.test_event`); the API's contract, not the
    dashboard's."""
    sub = await subscription(services, sub_id)
    key = idempotency.read_key(request.headers) if keyed else None
    result = await services.store.append_event(test_event(sub.id, services.now(), key))
    audit(services, request, principal, "test", subscription_id=sub.id, status=202)
    return result
