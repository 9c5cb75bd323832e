"""Secret rotation at the edges it touches: which secrets sign a delivery when, the headers they make,
`rateLimitPerSecond` in the dialects, and a PUT keeping a rotation's grace period."""

from __future__ import annotations

import time
from dataclasses import replace

from ccbridge.core.dialects import Limits, parse_subscription, render_subscription
from ccbridge.core.signatures import generate_secret, sign_genesys, signed_headers, verify_standard
from ccbridge.testing.samples import sample_subscription

LIMITS = Limits(max_endpoints=5, known_type=lambda t: True)


def test_the_previous_secret_signs_until_its_grace_period_ends() -> None:
    """Current first, previous while `previous_secret_expires_at` is ahead, then the current alone."""
    sub = replace(
        sample_subscription("s", "n", secret="whsec_new"),
        previous_secret="whsec_old",
        previous_secret_expires_at=100.0,
    )
    assert sub.signing_secrets(99.0) == ("whsec_new", "whsec_old")
    assert sub.signing_secrets(100.0) == ("whsec_new",)


def test_signed_headers_carry_one_standard_signature_per_secret_and_the_new_hex() -> None:
    """Each secret alone verifies the space-separated signatures; the Genesys hex is the current one's."""
    new, old = generate_secret(), generate_secret()
    now = time.time()
    headers = signed_headers(new, "msg", now, b"{}", (old,))
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (new, old):
        verify_standard(headers, b"{}", [secret], now)
    assert headers["X-Genesys-Event-Signature"] == sign_genesys(new, b"{}")
    assert len(signed_headers(new, "msg", now, b"{}")["webhook-signature"].split()) == 1


def test_rate_limit_is_normalized_and_a_put_keeps_the_rotation() -> None:
    """CXone endpoints answer their rateLimitPerSecond; a PUT without a secret keeps the previous
    secret's grace, a PUT giving a new secret ends it."""
    body = {
        "name": "n",
        "eventType": "contact.created",
        "endpoints": [{"url": "https://e.com/h", "rateLimitPerSecond": 7}],
    }
    sub = parse_subscription(body, LIMITS, sub_id="s", now="t")
    assert sub.endpoints[0].rate_limit_per_second == 7.0
    assert render_subscription(sub)["endpoints"] == [
        {"url": "https://e.com/h", "type": "webhook", "rateLimitPerSecond": 7}
    ]
    rotated = replace(
        sub, secret=generate_secret(), previous_secret=sub.secret, previous_secret_expires_at=50.0
    )
    kept = parse_subscription(body, LIMITS, sub_id="s", now="t2", existing=rotated)
    assert (kept.previous_secret, kept.previous_secret_expires_at) == (sub.secret, 50.0)
    replaced = parse_subscription(
        {**body, "secret": generate_secret()}, LIMITS, sub_id="s", now="t3", existing=rotated
    )
    assert (replaced.previous_secret, replaced.previous_secret_expires_at) == ("", None)
