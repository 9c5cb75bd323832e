"""The subscription parser of both dialects: what it accepts, every error with its field path, and the
round trip body -> Subscription -> rendered resource -> the same Subscription."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccbridge.core.dialects import (
    CXONE_FIELDS,
    GENESYS_FIELDS,
    SERVER_FIELDS,
    Limits,
    parse_subscription,
    render_subscription,
    validate_subscription,
)
from ccbridge.core.event import EndpointSpec, RetrySpec
from ccbridge.errors import InputError

LIMITS = Limits(
    3, lambda t: t.startswith("custom.") or t in {"contact.created", "routing:interaction:completed"}
)
SECRET = "whsec_" + "A" * 32
CXONE: dict[str, Any] = {
    "name": "contact-created-crm",
    "description": "CRM sync",
    "eventType": "contact.created",
    "filters": [{"field": "contact.channelType", "operator": "eq", "value": "voice"}],
    "endpoints": [{"url": "https://crm.example.com/hooks", "type": "webhook"}],
    "deadLetterQueue": {"enabled": True, "endpointUrl": "https://dlq.example.com/in", "retentionDays": 7},
    "retryConfiguration": {
        "maxRetries": 3,
        "backoffStrategy": "linear",
        "initialDelayMs": 100,
        "maxDelayMs": 1000,
    },
    "labels": {"team": "crm"},
}
GENESYS: dict[str, Any] = {
    "name": "interaction-completion-router",
    "description": "voice interactions",
    "eventTypes": ["routing:interaction:completed"],
    "deliveryConfig": {
        "deliveryType": "WEBHOOK",
        "url": "https://router.example.com/events",
        "headers": {"X-Genesys-Event-Signature": "required"},
    },
    "filter": "data.channel == 'voice'",
}


def cxone(**changes: Any) -> dict[str, Any]:
    return {**CXONE, **changes}


def genesys(**changes: Any) -> dict[str, Any]:
    return {**GENESYS, **changes}


def delivery(**changes: Any) -> dict[str, Any]:
    return genesys(deliveryConfig={**GENESYS["deliveryConfig"], **changes})


def errors_of(body: Any, limits: Limits = LIMITS) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as caught:
        validate_subscription(body, limits)
    return [(e.field, e.message) for e in caught.value.errors]


def parse(body: dict[str, Any], **kwargs: Any) -> Any:
    return parse_subscription(body, LIMITS, sub_id="sub-1", now="2026-01-01T00:00:00Z", **kwargs)


def test_cxone_body_to_subscription() -> None:
    """Seed 001's body: its event type, endpoints, retry and dead-letter settings, filters compiled."""
    sub = parse(cxone(secret=SECRET))
    assert (sub.id, sub.name, sub.dialect, sub.description) == (
        "sub-1",
        "contact-created-crm",
        "cxone",
        "CRM sync",
    )
    assert sub.event_types == ("contact.created",)
    assert sub.endpoints == (EndpointSpec("https://crm.example.com/hooks", "webhook"),)
    assert sub.retry == RetrySpec(3, "linear", 100, 1000)
    assert (sub.dead_letter.endpoint_url, sub.dead_letter.retention_days) == ("https://dlq.example.com/in", 7)
    assert (sub.filter_kind, sub.filter_source) == ("filters", CXONE["filters"])
    assert sub.pattern is not None and sub.secret == SECRET and sub.labels == {"team": "crm"}
    assert sub.created_at == sub.updated_at == "2026-01-01T00:00:00Z"


def test_genesys_body_to_subscription() -> None:
    """Seed 002's body: event types, one endpoint from deliveryConfig with its headers, the expression."""
    sub = parse(GENESYS)
    assert sub.dialect == "genesys" and sub.event_types == ("routing:interaction:completed",)
    assert sub.endpoints == (EndpointSpec("https://router.example.com/events", "webhook"),)
    assert sub.headers == {"X-Genesys-Event-Signature": "required"}
    assert (sub.filter_kind, sub.filter_source) == ("expression", "data.channel == 'voice'")
    assert sub.retry == RetrySpec() and sub.description == "voice interactions"


@pytest.mark.parametrize(
    ("delivery_type", "url", "kind"),
    [
        ("WEBHOOK", "http://h.example/x", "webhook"),
        ("webhook", "https://h.example/x", "webhook"),
        ("GRPC", "grpc://consumer:50051", "grpc"),
        ("GRPC", "grpcs://consumer.example", "grpc"),
        ("QUEUE", "nats://nats:4222/contact.events", "queue"),
        ("QUEUE", "amqp://u:p@rabbit:5672/vhost?exchange=x&routing_key=y", "queue"),
    ],
)
def test_genesys_delivery_types_are_the_endpoint_types(delivery_type: str, url: str, kind: str) -> None:
    """deliveryType names one of the endpoint types (any case), each with its URL schemes."""
    sub = parse(delivery(deliveryType=delivery_type, url=url))
    assert sub.endpoints == (EndpointSpec(url, kind),)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("endpoint", "kind"),
    [
        ({"url": "https://h.example/x"}, "webhook"),
        ({"url": "grpc://127.0.0.1:50051", "type": "grpc"}, "grpc"),
        ({"url": "nats://contact-center.queue", "type": "queue"}, "queue"),
        ({"url": "amqp://rabbit/vhost", "type": "queue"}, "queue"),
    ],
)
def test_cxone_endpoint_types(endpoint: dict[str, str], kind: str) -> None:
    """A CXone endpoint's type defaults to webhook; grpc and queue take their own schemes."""
    sub = parse(cxone(endpoints=[endpoint]))
    assert sub.endpoints == (EndpointSpec(endpoint["url"], kind),)  # type: ignore[arg-type]


def test_pattern_is_a_filter_in_either_dialect() -> None:
    """An EventBridge pattern may stand in for filters (CXone) or the expression (Genesys)."""
    pattern = {"data": {"channel": ["voice"]}}
    for body in (cxone(filters=None, pattern=pattern), genesys(filter="", pattern=pattern)):
        sub = parse(body)
        assert (sub.filter_kind, sub.pattern) == ("pattern", pattern)
    assert parse(cxone(filters=[])).filter_kind == "none"


def test_secret_is_generated_kept_or_taken() -> None:
    """No secret: a fresh whsec_ one; a replace keeps the existing secret and creation date."""
    first = parse(CXONE)
    assert first.secret.startswith("whsec_")
    assert parse(CXONE).secret != first.secret
    replaced = parse_subscription(
        cxone(description="v2"), LIMITS, sub_id="sub-1", now="2026-02-01T00:00:00Z", existing=first
    )
    assert (replaced.secret, replaced.created_at, replaced.updated_at) == (
        first.secret,
        first.created_at,
        "2026-02-01T00:00:00Z",
    )
    assert (
        parse_subscription(cxone(secret=SECRET), LIMITS, sub_id="s", now="t", existing=first).secret == SECRET
    )


def test_validation_is_pure() -> None:
    """validate_subscription assigns nothing: no secret unless given, the same answer every time."""
    spec = validate_subscription(CXONE, LIMITS)
    assert spec.secret is None and spec == validate_subscription(CXONE, LIMITS)
    assert validate_subscription(cxone(secret=SECRET), LIMITS).secret == SECRET


@pytest.mark.parametrize("body", [CXONE, GENESYS], ids=["cxone", "genesys"])
def test_render_adds_exactly_the_server_fields(body: dict[str, Any]) -> None:
    """The resource is the body as sent (secret aside) plus SERVER_FIELDS; the secret only on create."""
    sub = parse({**body, "secret": SECRET})
    created = render_subscription(sub, with_secret=True)
    fetched = render_subscription(sub)
    assert (set(created) - set(body)) | (set(fetched) - set(body)) == SERVER_FIELDS
    assert created["secret"] == SECRET and "secret" not in fetched
    assert fetched["secretHint"] == SECRET[:10] + "..."
    assert {k: v for k, v in fetched.items() if k in body} == {k: v for k, v in body.items()}


@pytest.mark.parametrize("body", [CXONE, GENESYS], ids=["cxone", "genesys"])
def test_a_fetched_resource_parses_back_to_the_same_subscription(body: dict[str, Any]) -> None:
    """PUTting back what GET answered (server fields and all) changes nothing but the update date."""
    sub = parse(body)
    again = parse_subscription(
        render_subscription(sub), LIMITS, sub_id=sub.id, now="2026-03-01T00:00:00Z", existing=sub
    )
    assert again == type(sub)(**{**_fields(sub), "updated_at": "2026-03-01T00:00:00Z"})
    assert render_subscription(again) == {**render_subscription(sub), "updatedDate": "2026-03-01T00:00:00Z"}


def _fields(sub: Any) -> dict[str, Any]:
    return {name: getattr(sub, name) for name in sub.__dataclass_fields__}


def test_cxone_defaults_are_filled_in_the_resource() -> None:
    """A minimal CXone body answers with the endpoint type and seed 001's retry and dead-letter defaults."""
    minimal = {"name": "m", "eventType": "contact.created", "endpoints": [{"url": "https://h.example"}]}
    resource = render_subscription(parse(minimal))
    assert resource["endpoints"] == [{"url": "https://h.example", "type": "webhook"}]
    assert resource["retryConfiguration"] == {
        "maxRetries": 5,
        "backoffStrategy": "exponential",
        "initialDelayMs": 1000,
        "maxDelayMs": 60_000,
    }
    assert resource["deadLetterQueue"] == {"enabled": True, "endpointUrl": None, "retentionDays": 14}


def test_accepted_fields_of_each_dialect() -> None:
    """Each dialect accepts its own fields, the shared ones and the server fields; nothing else."""
    shared = {"name", "description", "pattern", "secret", "labels"} | SERVER_FIELDS
    assert (
        shared | {"eventType", "filters", "endpoints", "deadLetterQueue", "retryConfiguration"}
        == CXONE_FIELDS
    )
    assert (
        shared | {"eventTypes", "deliveryConfig", "filter", "deadLetterQueue", "retryConfiguration"}
        == GENESYS_FIELDS
    )


ERRORS: list[tuple[str, dict[str, Any], str, str]] = [
    # (id, body, field, a part of the message)
    ("no-dialect", {"name": "x"}, "eventType", "is required (CXone"),
    ("name-missing", {k: v for k, v in CXONE.items() if k != "name"}, "name", "is required"),
    ("name-blank", cxone(name="  "), "name", "must be a non-empty string"),
    ("name-long", cxone(name="n" * 201), "name", "at most 200"),
    ("description-number", cxone(description=5), "description", "must be a non-empty string"),
    ("labels-string", cxone(labels="x"), "labels", "must be an object"),
    ("labels-value", cxone(labels={"team": 1}), "labels.team", "must be a string"),
    ("secret-weak", cxone(secret="hunter2"), "secret", "must be whsec_"),
    ("unknown-top", cxone(colour="red"), "colour", "unknown field"),
    ("cx-type-unknown", cxone(eventType="contact.exploded"), "eventType", "unknown event type"),
    ("cx-type-missing", {k: v for k, v in CXONE.items() if k != "eventType"}, "eventType", "is required"),
    ("cx-no-endpoints", cxone(endpoints=[]), "endpoints", "at least one"),
    ("cx-endpoints-object", cxone(endpoints={"url": "https://h"}), "endpoints", "at least one"),
    (
        "cx-too-many",
        cxone(endpoints=[{"url": f"https://h{i}.example"} for i in range(4)]),
        "endpoints",
        "at most 3",
    ),
    ("cx-endpoint-string", cxone(endpoints=["https://h"]), "endpoints[0]", "must be an object"),
    ("cx-endpoint-key", cxone(endpoints=[{"url": "https://h", "auth": "x"}]), "endpoints[0].auth", "unknown"),
    (
        "cx-endpoint-type",
        cxone(endpoints=[{"url": "https://h", "type": "pigeon"}]),
        "endpoints[0].type",
        "webhook",
    ),
    (
        "cx-endpoint-type-list",
        cxone(endpoints=[{"url": "https://h", "type": ["grpc"]}]),
        "endpoints[0].type",
        "grpc",
    ),
    ("cx-url-missing", cxone(endpoints=[{"type": "webhook"}]), "endpoints[0].url", "non-empty string"),
    ("cx-url-scheme", cxone(endpoints=[{"url": "ftp://x"}]), "endpoints[0].url", "http:// or https://"),
    ("cx-url-host", cxone(endpoints=[{"url": "https://"}]), "endpoints[0].url", "must name a host"),
    ("cx-url-port", cxone(endpoints=[{"url": "https://h:99999"}]), "endpoints[0].url", "not a valid URL"),
    ("cx-url-space", cxone(endpoints=[{"url": "https://h/a b"}]), "endpoints[0].url", "white space"),
    (
        "cx-grpc-http",
        cxone(endpoints=[{"url": "http://consumer:50051", "type": "grpc"}]),
        "endpoints[0].url",
        "grpc:// or grpcs://",
    ),
    (
        "cx-grpc-port",
        cxone(endpoints=[{"url": "grpc://consumer", "type": "grpc"}]),
        "endpoints[0].url",
        "port",
    ),
    (
        "cx-grpc-path",
        cxone(endpoints=[{"url": "grpc://consumer:1/svc", "type": "grpc"}]),
        "endpoints[0].url",
        "nothing more",
    ),
    (
        "cx-queue-https",
        cxone(endpoints=[{"url": "https://h", "type": "queue"}]),
        "endpoints[0].url",
        "nats:// or tls:// or amqp://",
    ),
    ("retry-string", cxone(retryConfiguration="fast"), "retryConfiguration", "must be an object"),
    ("retry-key", cxone(retryConfiguration={"jitter": 1}), "retryConfiguration.jitter", "unknown"),
    (
        "retry-strategy",
        cxone(retryConfiguration={"backoffStrategy": "fibonacci"}),
        "retryConfiguration.backoffStrategy",
        "exponential or linear",
    ),
    (
        "retry-negative",
        cxone(retryConfiguration={"maxRetries": -1}),
        "retryConfiguration.maxRetries",
        "negative",
    ),
    (
        "retry-many",
        cxone(retryConfiguration={"maxRetries": 101}),
        "retryConfiguration.maxRetries",
        "at most 100",
    ),
    (
        "retry-float",
        cxone(retryConfiguration={"maxRetries": 1.5}),
        "retryConfiguration.maxRetries",
        "integer",
    ),
    (
        "retry-bool",
        cxone(retryConfiguration={"maxRetries": True}),
        "retryConfiguration.maxRetries",
        "integer",
    ),
    (
        "retry-order",
        cxone(retryConfiguration={"initialDelayMs": 5000, "maxDelayMs": 100}),
        "retryConfiguration.initialDelayMs",
        "greater than maxDelayMs",
    ),
    ("dlq-key", cxone(deadLetterQueue={"topic": "x"}), "deadLetterQueue.topic", "unknown"),
    ("dlq-enabled", cxone(deadLetterQueue={"enabled": "yes"}), "deadLetterQueue.enabled", "true or false"),
    (
        "dlq-url",
        cxone(deadLetterQueue={"endpointUrl": "ftp://x"}),
        "deadLetterQueue.endpointUrl",
        "http:// or https://",
    ),
    (
        "dlq-days-zero",
        cxone(deadLetterQueue={"retentionDays": 0}),
        "deadLetterQueue.retentionDays",
        "at least 1",
    ),
    (
        "dlq-days-many",
        cxone(deadLetterQueue={"retentionDays": 3651}),
        "deadLetterQueue.retentionDays",
        "3650",
    ),
    (
        "cx-filter-operator",
        cxone(filters=[{"field": "a", "operator": "resembles", "value": "x"}]),
        "filters[0].operator",
        "unknown operator",
    ),
    ("cx-filters-string", cxone(filters="a == 1"), "filters", "must be an array"),
    ("cx-filter-and-pattern", cxone(pattern={"a": [1]}), "pattern", "either filters or pattern"),
    (
        "cx-pattern-operator",
        cxone(filters=None, pattern={"data": {"x": [{"prefx": "a"}]}}),
        "pattern.data.x",
        "prefx",
    ),
    ("cx-pattern-string", cxone(filters=None, pattern="x"), "pattern", "JSON object"),
    ("cx-unknown-genesys-key", cxone(filter="a == 1"), "filter", "unknown field"),
    ("gen-no-types", genesys(eventTypes=[]), "eventTypes", "at least one"),
    (
        "gen-type-unknown",
        genesys(eventTypes=["custom.ok", "nope"]),
        "eventTypes[1]",
        "unknown event type 'nope'",
    ),
    ("gen-type-number", genesys(eventTypes=[7]), "eventTypes[0]", "unknown event type 7"),
    (
        "gen-no-delivery",
        {k: v for k, v in GENESYS.items() if k != "deliveryConfig"},
        "deliveryConfig",
        "is required",
    ),
    ("gen-delivery-key", delivery(retries=3), "deliveryConfig.retries", "unknown field"),
    (
        "gen-delivery-type",
        delivery(deliveryType="CARRIER"),
        "deliveryConfig.deliveryType",
        "WEBHOOK, GRPC, QUEUE or CXONE_SIGNAL",
    ),
    ("gen-url-missing", delivery(url=None), "deliveryConfig.url", "non-empty string"),
    ("gen-grpc-http", delivery(deliveryType="GRPC", url="http://c:1"), "deliveryConfig.url", "grpc://"),
    ("gen-queue-https", delivery(deliveryType="QUEUE", url="https://h"), "deliveryConfig.url", "nats://"),
    ("gen-header-value", delivery(headers={"X-A": 1}), "deliveryConfig.headers.X-A", "must be a string"),
    ("gen-filter-syntax", genesys(filter="data.channel == "), "filter", "end of filter"),
    ("gen-filter-number", genesys(filter=12), "filter", "expression string"),
    ("gen-filter-and-pattern", genesys(pattern={"a": [1]}), "pattern", "either filter or pattern"),
    ("gen-unknown-cxone-key", genesys(endpoints=[]), "endpoints", "unknown field"),
]


@pytest.mark.parametrize(("body", "field", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_each_error_names_its_field(body: dict[str, Any], field: str, message: str) -> None:
    """A body with one fault is refused with exactly one error, at that field's path."""
    ((at, text),) = errors_of(body)
    assert at == field and message in text


def test_every_field_at_fault_is_reported_at_once() -> None:
    """Faults in several places of one body come back together, in the order of the body's parts."""
    body = cxone(
        name="",
        eventType="nope",
        endpoints=[{"url": "ftp://x"}, {"url": "https://ok.example", "type": "pigeon"}],
        retryConfiguration={"maxRetries": -1, "backoffStrategy": "random"},
        colour="red",
    )
    assert [field for field, _ in errors_of(body)] == [
        "name",
        "colour",
        "eventType",
        "endpoints[0].url",
        "endpoints[1].type",
        "retryConfiguration.backoffStrategy",
        "retryConfiguration.maxRetries",
    ]


@pytest.mark.parametrize("body", [None, [], "x", 3])
def test_a_body_that_is_not_an_object(body: Any) -> None:
    with pytest.raises(InputError) as caught:
        validate_subscription(body, LIMITS)
    assert caught.value.errors == [] and caught.value.title == "the body must be a JSON object"


def test_the_catalogue_decides_event_types() -> None:
    """`known_type` is the only source of truth: the same type is known to one server, not another."""
    assert validate_subscription(cxone(eventType="queue.event"), Limits(3, lambda t: True)).event_types == (
        "queue.event",
    )
    assert errors_of(cxone(eventType="queue.event"))[0][0] == "eventType"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
urls = st.sampled_from(
    ["https://h.example", "grpc://h:1", "grpcs://h", "nats://h/s", "amqp://h", "ftp://x", ""]
)
parts = st.fixed_dictionaries(
    {},
    optional={
        "url": urls | json_values,
        "type": st.sampled_from(["webhook", "grpc", "queue"]) | json_values,
        "deliveryType": st.sampled_from(["WEBHOOK", "GRPC", "QUEUE"]) | json_values,
        "headers": json_values,
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(sorted(CXONE_FIELDS | GENESYS_FIELDS | {"other"})),
        json_values | parts | st.lists(parts, max_size=3),
        max_size=8,
    )
)
def test_any_json_body_is_accepted_or_refused_never_crashes(body: dict[str, Any]) -> None:
    """Whatever JSON arrives, the answer is a Subscription or an InputError naming fields (never a 500)."""
    try:
        spec = validate_subscription(body, LIMITS)
    except InputError as exc:
        assert exc.errors and all(isinstance(e.field, str) and e.message for e in exc.errors)
    else:
        assert spec.name and spec.event_types and spec.endpoints
