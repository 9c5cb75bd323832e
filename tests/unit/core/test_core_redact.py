"""The one masking of credentials: header values by name or auth scheme, URL passwords and tokens,
URLs inside free text; masking twice changes nothing."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbridge.core.redact import (
    MASK,
    has_masked_credential,
    is_sensitive,
    mask_header,
    mask_headers,
    mask_text,
    mask_url,
)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "X-Api-Key",
        "X-Auth-Token",
        "client_secret",
        "X-Password",
    ],
)
def test_credential_header_names_are_sensitive(name: str) -> None:
    assert is_sensitive(name)
    assert mask_header(name, "plain-value") == MASK


@pytest.mark.parametrize("name", ["X-Tenant", "Content-Type", "X-Genesys-Event-Signature", "traceparent"])
def test_other_header_names_keep_their_values(name: str) -> None:
    assert not is_sensitive(name)
    assert mask_header(name, "acme") == "acme"


def test_a_value_with_an_auth_scheme_is_masked_whatever_its_name() -> None:
    assert mask_headers({"X-Forward": "Bearer abc", "X-Other": "basic dXNlcjpw", "X-Tenant": "acme"}) == {
        "X-Forward": MASK,
        "X-Other": MASK,
        "X-Tenant": "acme",
    }


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://user:pa55@host.example/hook?x=1", f"https://user:{MASK}@host.example/hook?x=1"),
        ("amqp://guest:guest@127.0.0.1:5672/vhost", f"amqp://guest:{MASK}@127.0.0.1:5672/vhost"),
        ("nats://tok3n@nats.example:4222", f"nats://{MASK}@nats.example:4222"),
        ("https://u:p@ss@host.example/", f"https://u:{MASK}@host.example/"),
        ("https://u:@host.example/", f"https://u:{MASK}@host.example/"),
        (
            "https://host.example/h?access_token=t0k&tenant=a",
            f"https://host.example/h?access_token={MASK}&tenant=a",
        ),
        (
            "https://host.example/h?API%5FKEY=k#frag?token=x",
            f"https://host.example/h?API%5FKEY={MASK}#frag?token=x",
        ),
        ("https://host.example/a@b?q", "https://host.example/a@b?q"),
        ("https://[::1]:8443/in", "https://[::1]:8443/in"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url_replaces_only_the_credentials(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_url(masked) == masked
    assert has_masked_credential(masked) == (masked != url)
    assert not has_masked_credential(url) or url == masked


def test_urls_in_free_text_are_masked() -> None:
    text = "bad gRPC endpoint URL 'grpc://svc:hunter2@h:1/x': must be grpc://host:port, nothing more"
    assert (
        mask_text(text)
        == f"bad gRPC endpoint URL 'grpc://svc:{MASK}@h:1/x': must be grpc://host:port, nothing more"
    )
    assert mask_text("HTTP 503") == "HTTP 503"


@given(
    user=st.text("abcdef0123", min_size=1, max_size=8),
    password=st.text("abcXYZ019-._~!$&'()*+,;=%", min_size=1, max_size=12),
    path=st.sampled_from(["", "/", "/in", "/a/b?x=1", "/p?token=q#f"]),
)
def test_the_masked_url_keeps_host_port_and_path(user: str, password: str, path: str) -> None:
    url = f"https://{user}:{password}@host.example:8443{path}"
    masked = mask_url(url)
    parts, original = urlsplit(masked), urlsplit(url)
    assert (parts.hostname, parts.port, parts.path) == (original.hostname, original.port, original.path)
    assert parts.username == user and parts.password == MASK
    assert mask_url(masked) == masked and has_masked_credential(masked)
