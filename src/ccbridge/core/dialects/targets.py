"""The settings both dialects write alike: a target's URL, type, rate limit and own retries, and
the subscription's `retryConfiguration` and `deadLetterQueue`.

Each check adds every problem to the caller's `Errors` under the path it is given
(`endpoints[1].url`, `deliveryConfig[0].retryConfiguration.maxRetries`) and returns what it could
read, a default where a field is at fault, so a body's every problem is found in one pass. A URL that
carries a masked credential (`core.redact.MASK`, as answers show it) is refused: the credential
itself must be given.
"""

from __future__ import annotations

from typing import Any

from ccbridge.core.dialects.spec import Limits
from ccbridge.core.event import DeadLetterSpec, EndpointSpec, EndpointType, RetrySpec
from ccbridge.core.redact import MASK, has_masked_credential
from ccbridge.core.signal_urls import parse_signal_url
from ccbridge.core.validation import Errors, url_problem

ENDPOINT_SCHEMES: dict[str, tuple[str, ...]] = {
    "webhook": ("http", "https"),
    "grpc": ("grpc", "grpcs"),
    "queue": ("nats", "tls", "amqp"),
    "cxone-signal": ("cxone",),
}
MAX_RATE_LIMIT = 100_000


def _masked_url_problem(url: Any, schemes: tuple[str, ...]) -> str | None:
    problem = url_problem(url, schemes)
    if problem is None and has_masked_credential(url):
        return f"holds a masked credential ({MASK!r}): give the credential itself"
    return problem


def endpoint_spec(
    url: Any,
    kind: EndpointType,
    path: str,
    errors: Errors,
    limits: Limits,
    rate: int | None = None,
    retry: RetrySpec | None = None,
) -> EndpointSpec | None:
    """The target at `path`, or None (and its problem in `errors`) when its URL is at fault."""
    problem = _masked_url_problem(url, ENDPOINT_SCHEMES[kind])
    if problem is None and kind == "cxone-signal":
        problem = _connector_problem(parse_signal_url(url).connector, limits.cxone_connectors)
    if problem:
        errors.add(f"{path}.url", problem)
        return None
    return EndpointSpec(url, kind, rate_limit_per_second=None if rate is None else float(rate), retry=retry)


def rate_limit(raw: dict[str, Any], path: str, errors: Errors) -> int | None:
    """`rateLimitPerSecond`: deliveries per second to the endpoint (an integer, 1..100000), or None."""
    if raw.get("rateLimitPerSecond") is None:
        return None
    return errors.integer(
        raw, "rateLimitPerSecond", f"{path}.rateLimitPerSecond", 1, low=1, high=MAX_RATE_LIMIT
    )


def _connector_problem(name: str, configured: frozenset[str] | None) -> str | None:
    if configured is None or name in configured:
        return None
    known = ", ".join(sorted(configured)) or "none is configured"
    return f"names the CXone connector {name!r}, which is not configured (connectors.cxone: {known})"


def endpoint_type(value: Any) -> EndpointType | None:
    """`value` if it names an endpoint type of ARCHITECTURE.md, else None."""
    if isinstance(value, str) and value in ENDPOINT_SCHEMES:
        return value  # type: ignore[return-value]
    return None


def render_retry(retry: RetrySpec) -> dict[str, Any]:
    """A `RetrySpec` as the documents write `retryConfiguration`."""
    return {
        "maxRetries": retry.max_retries,
        "backoffStrategy": retry.strategy,
        "initialDelayMs": retry.initial_delay_ms,
        "maxDelayMs": retry.max_delay_ms,
    }


def own_retry(raw: dict[str, Any], path: str, errors: Errors) -> RetrySpec | None:
    """A target's own `retryConfiguration`, or None when it has none."""
    if raw.get("retryConfiguration") is None:
        return None
    own = errors.obj(raw, "retryConfiguration", f"{path}.retryConfiguration")
    return retry_spec(own, errors, f"{path}.retryConfiguration")


def retry_spec(raw: dict[str, Any], errors: Errors, path: str = "retryConfiguration") -> RetrySpec:
    """A `retryConfiguration` object (empty: the defaults of `RetrySpec`)."""
    errors.unknown(raw, {"maxRetries", "backoffStrategy", "initialDelayMs", "maxDelayMs"}, prefix=f"{path}.")
    default = RetrySpec()
    strategy = raw.get("backoffStrategy", default.strategy)
    if strategy not in ("exponential", "linear"):
        errors.add(f"{path}.backoffStrategy", "must be exponential or linear")
        strategy = default.strategy
    max_retries = errors.integer(raw, "maxRetries", f"{path}.maxRetries", default.max_retries, high=100)
    initial = errors.integer(
        raw, "initialDelayMs", f"{path}.initialDelayMs", default.initial_delay_ms, high=86_400_000
    )
    cap = errors.integer(
        raw, "maxDelayMs", f"{path}.maxDelayMs", max(default.max_delay_ms, initial), high=86_400_000
    )
    if initial > cap:
        errors.add(f"{path}.initialDelayMs", "must not be greater than maxDelayMs")
    return RetrySpec(max(max_retries, 0), strategy, max(initial, 0), max(cap, 0))


def dead_letter_spec(raw: dict[str, Any], errors: Errors) -> DeadLetterSpec:
    """A `deadLetterQueue` object (empty: enabled, no forwarding endpoint, kept 14 days)."""
    path = "deadLetterQueue"
    errors.unknown(raw, {"enabled", "endpointUrl", "retentionDays"}, prefix=f"{path}.")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.add(f"{path}.enabled", "must be true or false")
        enabled = True
    url = raw.get("endpointUrl")
    if url is not None:
        problem = _masked_url_problem(url, ("http", "https"))
        if problem:
            errors.add(f"{path}.endpointUrl", problem)
            url = None
    days = errors.integer(raw, "retentionDays", f"{path}.retentionDays", 14, low=1, high=3650)
    return DeadLetterSpec(enabled, url if enabled else None, days)
