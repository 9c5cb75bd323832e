"""Credentials in subscription bodies: rendered masked in both dialects, kept by a replace that sends
the masked value back, refused where nothing is stored behind a masked value."""

from __future__ import annotations

from typing import Any

import pytest

from ccbridge.core.dialects import Limits, parse_subscription, render_subscription
from ccbridge.core.event import Subscription
from ccbridge.core.redact import MASK
from ccbridge.core.subscription_masks import mask_body
from ccbridge.errors import InputError

LIMITS = Limits(3, lambda t: t in {"contact.created", "routing:interaction:completed"})
BEARER = "Bearer tok-7f3a91c2-unit"
PASSWORD = "pw-5e0b44d8-unit"
CXONE: dict[str, Any] = {
    "name": "crm",
    "eventType": "contact.created",
    "endpoints": [
        {"url": f"https://crm:{PASSWORD}@crm.example/hooks", "type": "webhook"},
        {"url": "https://open.example/hooks?access_token=" + PASSWORD, "type": "webhook"},
    ],
    "deadLetterQueue": {"enabled": True, "endpointUrl": f"https://ops:{PASSWORD}@dlq.example/in"},
}
GENESYS: dict[str, Any] = {
    "name": "calls",
    "eventTypes": ["routing:interaction:completed"],
    "deliveryConfig": {
        "deliveryType": "WEBHOOK",
        "url": f"https://svc:{PASSWORD}@hooks.example/calls",
        "headers": {"Authorization": BEARER, "X-Api-Key": PASSWORD, "X-Tenant": "acme"},
    },
}


def created(body: dict[str, Any]) -> Subscription:
    return parse_subscription(body, LIMITS, sub_id="sub-1", now="2026-01-01T00:00:00Z")


@pytest.mark.parametrize("body", [CXONE, GENESYS], ids=["cxone", "genesys"])
@pytest.mark.parametrize("with_secret", [False, True], ids=["read", "create-answer"])
def test_rendered_resource_shows_no_credential(body: dict[str, Any], with_secret: bool) -> None:
    sub = created(body)
    text = repr(render_subscription(sub, with_secret=with_secret))
    assert PASSWORD not in text and BEARER not in text
    assert ("secret" in render_subscription(sub, with_secret=with_secret)) is with_secret


def test_rendered_cxone_masks_each_url_credential() -> None:
    answer = render_subscription(created(CXONE))
    assert [e["url"] for e in answer["endpoints"]] == [
        f"https://crm:{MASK}@crm.example/hooks",
        f"https://open.example/hooks?access_token={MASK}",
    ]
    assert answer["deadLetterQueue"]["endpointUrl"] == f"https://ops:{MASK}@dlq.example/in"


def test_rendered_genesys_masks_url_and_sensitive_headers() -> None:
    config = render_subscription(created(GENESYS))["deliveryConfig"]
    assert config["url"] == f"https://svc:{MASK}@hooks.example/calls"
    assert config["headers"] == {"Authorization": MASK, "X-Api-Key": MASK, "X-Tenant": "acme"}


@pytest.mark.parametrize("body", [CXONE, GENESYS], ids=["cxone", "genesys"])
def test_sending_the_rendered_resource_back_keeps_the_credentials(body: dict[str, Any]) -> None:
    """GET -> PUT: the masked values mean "keep the stored ones"; what is stored and delivered is unchanged."""
    sub = created(body)
    again = parse_subscription(
        render_subscription(sub), LIMITS, sub_id=sub.id, now="2026-01-02T00:00:00Z", existing=sub
    )
    assert again.endpoints == sub.endpoints and again.headers == sub.headers
    assert again.dead_letter == sub.dead_letter and again.request == sub.request


def test_a_replace_may_change_the_credentials_or_what_surrounds_them() -> None:
    sub = created(GENESYS)
    body = render_subscription(sub)
    body["deliveryConfig"]["headers"] = {"Authorization": "Bearer new", "X-Api-Key": MASK}
    again = parse_subscription(body, LIMITS, sub_id=sub.id, now="n", existing=sub)
    assert again.headers == {"Authorization": "Bearer new", "X-Api-Key": PASSWORD}
    body["deliveryConfig"]["url"] = (
        f"https://svc:{MASK}@elsewhere.example/calls"  # a new host: no stored password
    )
    with pytest.raises(InputError) as caught:
        parse_subscription(body, LIMITS, sub_id=sub.id, now="n", existing=sub)
    assert [e.field for e in caught.value.errors] == ["deliveryConfig.url"]


def test_a_masked_value_with_nothing_stored_behind_it_is_refused() -> None:
    body = mask_body(GENESYS) | {"deliveryConfig": {**mask_body(GENESYS)["deliveryConfig"]}}
    with pytest.raises(InputError) as caught:
        created(body)
    fields = sorted(e.field for e in caught.value.errors)
    assert fields == [
        "deliveryConfig.headers.Authorization",
        "deliveryConfig.headers.X-Api-Key",
        "deliveryConfig.url",
    ]
    with pytest.raises(InputError) as cxone:
        created(mask_body(CXONE))
    assert sorted(e.field for e in cxone.value.errors) == [
        "deadLetterQueue.endpointUrl",
        "endpoints[0].url",
        "endpoints[1].url",
    ]
    assert all(PASSWORD not in e.message for e in [*caught.value.errors, *cxone.value.errors])


def test_mask_body_leaves_the_body_it_masks_alone() -> None:
    before = repr(GENESYS)
    mask_body(GENESYS)
    assert repr(GENESYS) == before
