"""The plan against a server that answers credentials masked: no perpetual difference, no secret in
a change, and a change around a credential still seen."""

from __future__ import annotations

from typing import Any

from ccbridge.client.plan import desired_payload, make_plan
from ccbridge.core.subscription_masks import mask_body

PASSWORD = "pw-2c81d0e4-plan"
BEARER = "Bearer tok-9ab3e5f1-plan"
WANT: dict[str, Any] = {
    "name": "calls",
    "eventTypes": ["routing:interaction:completed"],
    "deliveryConfig": {
        "deliveryType": "WEBHOOK",
        "url": f"https://svc:{PASSWORD}@hooks.example/calls",
        "headers": {"Authorization": BEARER, "X-Tenant": "acme"},
    },
}
CXONE: dict[str, Any] = {
    "name": "crm",
    "eventType": "contact.created",
    "endpoints": [{"url": f"https://crm:{PASSWORD}@crm.example/in", "type": "webhook"}],
    "deadLetterQueue": {"enabled": True, "endpointUrl": f"https://ops:{PASSWORD}@dlq.example/in"},
}


def served(entry: dict[str, Any], sub_id: str = "id-1") -> dict[str, Any]:
    """How the server answers: the payload masked, plus its own fields."""
    return {"id": sub_id, **mask_body(desired_payload(entry)), "state": "active", "updatedDate": "u"}


def test_masked_answers_are_no_difference() -> None:
    plan = make_plan([WANT, CXONE], [served(WANT), served(CXONE, "id-2")])
    assert [a.kind for a in plan.actions] == ["unchanged", "unchanged"]


def test_a_change_beside_a_credential_is_seen_and_shows_no_secret() -> None:
    changed = {
        **WANT,
        "deliveryConfig": {**WANT["deliveryConfig"], "url": f"https://svc:{PASSWORD}@new.example/c"},
    }
    changed["deliveryConfig"]["headers"] = {"Authorization": BEARER, "X-Tenant": "other"}
    (action,) = make_plan([changed], [served(WANT)]).actions
    assert action.kind == "update"
    assert {c.field for c in action.changes} == {"deliveryConfig.url", "deliveryConfig.headers.X-Tenant"}
    assert PASSWORD not in repr(action.as_dict()) and BEARER not in repr(action.as_dict())
    assert (
        action.payload is not None
        and action.payload["deliveryConfig"]["url"] == changed["deliveryConfig"]["url"]
    )
