"""The plan (diff of desired against current subscriptions), its idempotency keys and validation."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ccbridge.client.plan import (
    desired_payload,
    diff,
    idempotency_key,
    make_plan,
    quota_errors,
    update_key,
)
from ccbridge.client.validate import validate_subscriptions
from ccbridge.core.dialects import Limits

WANT: dict[str, Any] = {
    "name": "calls",
    "description": "voice calls",
    "eventType": "contact.created",
    "filters": [{"field": "channel", "operator": "eq", "value": "voice"}],
    "endpoints": [{"url": "https://hooks.example/calls", "type": "webhook"}],
    "retryConfiguration": {
        "maxRetries": 3,
        "backoffStrategy": "exponential",
        "initialDelayMs": 100,
        "maxDelayMs": 1000,
    },
}


def served(entry: dict[str, Any], sub_id: str = "id-1", **extra: Any) -> dict[str, Any]:
    """How a server answers: the payload plus its own fields and defaults."""
    return {
        "id": sub_id,
        **desired_payload(entry),
        "state": "active",
        "createdDate": "d",
        "updatedDate": "u",
        "secretHint": "whsec_abc...",
        **extra,
    }


def test_server_added_fields_are_not_changes() -> None:
    """id, state, dates, secret hints and nested server defaults leave a subscription unchanged."""
    current = served(WANT, deadLetterQueue={"enabled": True, "retentionDays": 14})
    current["retryConfiguration"] = {**WANT["retryConfiguration"], "jitter": "equal"}
    plan = make_plan([WANT], [current])
    assert [a.kind for a in plan.actions] == ["unchanged"] and not plan.has_changes


def test_changed_fields_are_listed_by_path() -> None:
    """An update names each changed field with its before and after value."""
    changed = {
        **WANT,
        "endpoints": [{"url": "https://hooks.example/v2", "type": "webhook"}],
        "description": "new",
    }
    plan = make_plan([changed], [served(WANT)])
    (action,) = plan.actions
    assert action.kind == "update" and action.id == "id-1"
    assert {(c.field, c.before, c.after) for c in action.changes} == {
        ("description", "voice calls", "new"),
        ("endpoints[0].url", "https://hooks.example/calls", "https://hooks.example/v2"),
    }


def test_removing_filters_is_a_change() -> None:
    """Dropping `filters` from the config clears them on the server rather than being ignored."""
    without = {k: v for k, v in WANT.items() if k != "filters"}
    (action,) = make_plan([without], [served(WANT)]).actions
    assert action.kind == "update" and [c.field for c in action.changes] == ["filters"]


def test_only_managed_subscriptions_are_deleted() -> None:
    """A managed subscription no longer desired is deleted; a foreign one is left alone."""
    managed = served({**WANT, "name": "old"}, "id-old")
    foreign = {"id": "id-f", "name": "theirs", "eventType": "contact.created", "labels": {"team": "x"}}
    plan = make_plan([], [managed, foreign])
    assert [(a.kind, a.id) for a in plan.actions] == [("delete", "id-old")]


def test_new_and_unmanaged_names() -> None:
    """A missing name is created (with the managed label); an unmanaged same-name one is adopted by update."""
    foreign = {"id": "id-f", **WANT}
    plan = make_plan([WANT, {**WANT, "name": "fresh"}], [foreign])
    kinds = [(a.kind, a.name) for a in plan.actions]
    assert kinds == [("update", "calls"), ("create", "fresh")]
    assert [c.field for c in plan.actions[0].changes] == ["labels"]
    assert plan.actions[1].payload is not None and plan.actions[1].payload["labels"] == {
        "managed-by": "ccbridge"
    }


def test_plan_json_shape() -> None:
    """`as_dict` gives machines the summary counts and every action with its changes."""
    document = make_plan([WANT], []).as_dict()
    assert document["changes"] is True
    assert document["summary"] == {"create": 1, "update": 0, "delete": 0, "unchanged": 0}
    assert document["actions"][0]["action"] == "create"


def test_create_key_is_sha256_of_the_canonical_json() -> None:
    """Seed 001's key: SHA-256 hex of the payload's JSON with sorted keys and no spaces."""
    payload = desired_payload(WANT)
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert idempotency_key(payload) == hashlib.sha256(canonical.encode()).hexdigest()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_key_does_not_depend_on_key_order(payload: dict[str, Any]) -> None:
    """The same payload built in another key order has the same idempotency key."""
    reordered = dict(reversed(list(payload.items())))
    assert idempotency_key(payload) == idempotency_key(reordered)


def test_update_key_changes_when_the_base_version_changes() -> None:
    """Retries of one update share a key; reverting later (new updatedDate) gets a new one."""
    payload = desired_payload(WANT)
    assert update_key("id-1", payload, "u1") == update_key("id-1", payload, "u1")
    assert update_key("id-1", payload, "u1") != update_key("id-1", payload, "u2")
    assert update_key("id-1", payload, "u1") != idempotency_key(payload)


def test_quota_counts_what_exists() -> None:
    """Creates beyond max_subscriptions, counting foreign subscriptions too, are refused."""
    plan = make_plan([WANT, {**WANT, "name": "b"}], [])
    assert quota_errors(plan, existing=98, max_subscriptions=100) == []
    (error,) = quota_errors(plan, existing=99, max_subscriptions=100)
    assert error.field == "subscriptions" and "101" in error.message


def known(*types: str) -> Limits:
    """The server's catalogue rule: `custom.*` and the listed types."""
    return Limits(10, lambda t: t.startswith("custom.") or t in types)


def test_validation_reports_every_error_with_its_config_path() -> None:
    """Bad type, endpoints, backoff, delays and numbers are all named by their config path."""
    bad = [
        WANT,
        {
            "name": "bad",
            "eventType": "nope.type",
            "endpoints": [
                {"url": "ftp://x", "type": "webhook"},
                {"url": "https://ok.example", "type": "carrier"},
            ],
            "retryConfiguration": {
                "backoffStrategy": "random",
                "initialDelayMs": 500,
                "maxDelayMs": 100,
                "maxRetries": -1,
            },
            "deadLetterQueue": {"retentionDays": -3},
            "colour": "red",
        },
    ]
    errors = validate_subscriptions(bad, known("contact.created"))
    assert {e.field for e in errors} == {
        "subscriptions[1].colour",
        "subscriptions[1].eventType",
        "subscriptions[1].endpoints[0].url",
        "subscriptions[1].endpoints[1].type",
        "subscriptions[1].retryConfiguration.backoffStrategy",
        "subscriptions[1].retryConfiguration.maxRetries",
        "subscriptions[1].retryConfiguration.initialDelayMs",
        "subscriptions[1].deadLetterQueue.retentionDays",
    }


def test_validation_of_counts_names_and_dialects() -> None:
    """Endpoint counts, duplicate names, custom.* types and the Genesys dialect are checked."""
    too_many = {**WANT, "name": "many", "endpoints": [{"url": f"https://h{i}.example"} for i in range(3)]}
    genesys = {
        "name": "g",
        "eventTypes": ["custom.order", "other"],
        "deliveryConfig": {"deliveryType": "GRPC", "url": "grpc://consumer:50051"},
    }
    limits = Limits(2, known("contact.created").known_type)
    errors = validate_subscriptions([too_many, {**WANT, "endpoints": []}, WANT, genesys], limits)
    assert [(e.field) for e in errors] == [
        "subscriptions[0].endpoints",
        "subscriptions[1].endpoints",
        "subscriptions[2].name",
        "subscriptions[3].eventTypes[1]",
    ]


def test_declaration_shape_is_checked_before_the_parser() -> None:
    """An entry that is not a mapping, or holds a key JSON cannot carry, is named by its entry."""
    errors = validate_subscriptions(["calls", {**WANT, "labels": {1: "x"}}], known("contact.created"))
    assert [e.field for e in errors] == ["subscriptions[0]", "subscriptions[1]"]
    assert "JSON" in errors[1].message


def test_valid_subscriptions_pass() -> None:
    """A well-formed CXone and Genesys subscription give no errors."""
    genesys = {
        "name": "g",
        "eventTypes": ["routing:interaction:completed"],
        "filter": "data.x == 1",
        "deliveryConfig": {"deliveryType": "WEBHOOK", "url": "https://h.example/g"},
    }
    assert (
        validate_subscriptions([WANT, genesys], known("contact.created", "routing:interaction:completed"))
        == []
    )


def test_diff_treats_booleans_and_numbers_apart() -> None:
    """`true` is not the same value as `1`, so a changed flag is never hidden."""
    assert diff({"x": True}, {"x": 1}) and not diff({"x": 1.0}, {"x": 1})
