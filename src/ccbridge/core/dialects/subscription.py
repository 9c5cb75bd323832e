"""A subscription body in either dialect <-> `Subscription`: detect the dialect, check the body
(`validate_subscription`), add what the server assigns (`parse_subscription`) and answer with it
(`render_subscription`). The package docstring (`core.dialects`) states the contract.
"""

from __future__ import annotations

from typing import Any

from ccbridge.core.dialects.cxone import CXONE_FIELDS, cxone_part
from ccbridge.core.dialects.filters import subscription_filter
from ccbridge.core.dialects.genesys import GENESYS_FIELDS, genesys_part
from ccbridge.core.dialects.spec import SERVER_FIELDS, Limits, SubscriptionSpec
from ccbridge.core.event import Dialect, Subscription
from ccbridge.core.signatures import generate_secret, is_valid_secret
from ccbridge.core.subscription_masks import mask_body, restore_masked
from ccbridge.core.validation import Errors
from ccbridge.errors import InputError


def detect_dialect(body: dict[str, Any]) -> Dialect | None:
    """Genesys when the body has `eventTypes` or `deliveryConfig`, CXone when `eventType` or `endpoints`."""
    if "eventTypes" in body or "deliveryConfig" in body:
        return "genesys"
    if "eventType" in body or "endpoints" in body:
        return "cxone"
    return None


def validate_subscription(body: Any, limits: Limits) -> SubscriptionSpec:
    """Check a create/replace body in either dialect; raises InputError listing every field at fault."""
    errors = Errors()
    if not isinstance(body, dict):
        raise InputError([], title="the body must be a JSON object")
    dialect = detect_dialect(body)
    if dialect is None:
        errors.add(
            "eventType", "is required (CXone: eventType + endpoints; Genesys: eventTypes + deliveryConfig)"
        )
        raise InputError(errors.items)
    name = errors.string(body, "name", "name", max_len=200)
    description = errors.string(body, "description", "description", required=False, max_len=2000) or ""
    labels = errors.string_map(body, "labels", "labels")
    secret = _secret(body, errors)
    if dialect == "cxone":
        errors.unknown(body, CXONE_FIELDS)
        delivery = cxone_part(body, errors, limits)
    else:
        errors.unknown(body, GENESYS_FIELDS)
        delivery = genesys_part(body, errors, limits)
    kind, source, pattern = subscription_filter(body, dialect, errors)
    if errors:
        raise InputError(errors.items)
    request = {k: v for k, v in body.items() if k not in SERVER_FIELDS}
    request.update(delivery.normalized)
    return SubscriptionSpec(
        dialect=dialect,
        name=name or "",
        description=description,
        event_types=delivery.event_types,
        endpoints=delivery.endpoints,
        secret=secret,
        labels=labels,
        headers=delivery.headers,
        retry=delivery.retry,
        dead_letter=delivery.dead_letter,
        filter_kind=kind,
        filter_source=source,
        pattern=pattern,
        request=request,
    )


def parse_subscription(
    body: Any, limits: Limits, *, sub_id: str, now: str, existing: Subscription | None = None
) -> Subscription:
    """`validate_subscription`, then what the server assigns: `sub_id`, dates, a secret if none given.

    A replace (`existing` given) keeps the existing creation date and, unless the body gives a new
    one, the existing secret, and the stored credential behind each masked one (`core.subscription_masks.restore_masked`).
    """
    spec = validate_subscription(body if existing is None else restore_masked(body, existing), limits)
    secret = spec.secret or (existing.secret if existing is not None else generate_secret())
    keeps_rotation = existing is not None and secret == existing.secret  # a rotation's grace goes on
    return Subscription(
        id=sub_id,
        name=spec.name,
        dialect=spec.dialect,
        event_types=spec.event_types,
        endpoints=spec.endpoints,
        secret=secret,
        created_at=existing.created_at if existing is not None else now,
        updated_at=now,
        description=spec.description,
        filter_kind=spec.filter_kind,
        filter_source=spec.filter_source,
        pattern=spec.pattern,
        headers=spec.headers,
        retry=spec.retry,
        dead_letter=spec.dead_letter,
        labels=spec.labels,
        request=spec.request,
        previous_secret=existing.previous_secret if existing is not None and keeps_rotation else "",
        previous_secret_expires_at=(
            existing.previous_secret_expires_at if existing is not None and keeps_rotation else None
        ),
    )


def _secret(body: dict[str, Any], errors: Errors) -> str | None:
    given = body.get("secret")
    if given is None:
        return None
    if not isinstance(given, str) or not is_valid_secret(given):
        errors.add("secret", "must be whsec_ followed by the base64 of 24 to 64 random bytes")
        return None
    return given


def render_subscription(sub: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    """The resource in the dialect it was created in; the full secret only when just created."""
    body: dict[str, Any] = {
        "id": sub.id,
        **mask_body(sub.request),
        "state": sub.state,
        "createdDate": sub.created_at,
        "updatedDate": sub.updated_at,
    }
    if with_secret:
        body["secret"] = sub.secret
    else:
        body["secretHint"] = sub.secret[:10] + "..." if sub.secret else None
    return body
