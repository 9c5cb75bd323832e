"""The dashboard's session cookie: signed, expiring, bound to a configured client; CSRF per session."""

from __future__ import annotations

from pydantic import SecretStr

from ccbridge.api.ui.session import READ, WRITE, SessionCodec
from ccbridge.config import ClientConfig
from ccbridge.testing.clock import ManualClock

WRITER = ClientConfig(id="ops", secret=SecretStr("ops-secret-123"))
READER = ClientConfig(id="viewer", secret=SecretStr("viewer-secret-1"), scopes=[READ])


def codec(clock: ManualClock, clients: list[ClientConfig], key: bytes = b"k" * 32) -> SessionCodec:
    return SessionCodec(lambda: key, lambda: clients, 3600, clock.now)


def test_a_session_reads_back_with_its_scopes() -> None:
    """The cookie names the client and its scopes; the write scope is what lets it act."""
    clock = ManualClock()
    c = codec(clock, [WRITER, READER])
    cookie, _ = c.issue(WRITER)
    session = c.read(cookie)
    assert session is not None and session.client_id == "ops" and session.can_act
    reader, _ = c.issue(READER)
    read_only = c.read(reader)
    assert read_only is not None and read_only.scopes == {READ} and not read_only.can_act


def test_it_expires_after_its_lifetime() -> None:
    """Valid until `ttl_seconds` have passed, then refused."""
    clock = ManualClock()
    c = codec(clock, [WRITER])
    cookie, _ = c.issue(WRITER)
    clock.advance(3599)
    assert c.read(cookie) is not None
    clock.advance(1)
    assert c.read(cookie) is None


def test_an_altered_or_foreign_cookie_is_refused() -> None:
    """Changing a byte of the payload, or a cookie signed with another key, reads as no session."""
    clock = ManualClock()
    c = codec(clock, [WRITER, READER])
    cookie, _ = c.issue(READER)
    version, body, mac = cookie.split(".")
    forged = codec(clock, [WRITER, READER], key=b"x" * 32).issue(WRITER)[0]
    tampered = f"{version}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{mac}"
    for bad in (tampered, forged, f"{version}.{body}.", "v0." + body + "." + mac, "", "garbage"):
        assert c.read(bad) is None, bad


def test_a_removed_client_or_scope_is_no_longer_honoured() -> None:
    """Sessions follow the config: a client taken out ends its sessions; a scope taken away is dropped."""
    clock = ManualClock()
    clients = [WRITER]
    c = codec(clock, clients)
    cookie, _ = c.issue(WRITER)
    clients[0] = ClientConfig(id="ops", secret=SecretStr("ops-secret-123"), scopes=[READ])
    session = c.read(cookie)
    assert session is not None and WRITE not in session.scopes and not session.can_act
    clients.clear()
    assert c.read(cookie) is None


def test_no_session_reads_before_the_key_exists() -> None:
    """Until the store has given the key (the server is starting), nothing verifies."""
    clock = ManualClock()
    cookie, _ = codec(clock, [WRITER]).issue(WRITER)
    assert codec(clock, [WRITER], key=b"").read(cookie) is None


def test_the_csrf_token_belongs_to_its_session() -> None:
    """A session's token verifies for it only, and an empty token never does."""
    clock = ManualClock()
    c = codec(clock, [WRITER])
    _, one = c.issue(WRITER)
    _, two = c.issue(WRITER)
    assert c.csrf_valid(one, c.csrf_token(one))
    assert not c.csrf_valid(one, c.csrf_token(two))
    assert not c.csrf_valid(one, "")
