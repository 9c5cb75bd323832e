"""The dashboard's session: a signed, expiring cookie naming an OAuth2 client and its scopes.

The cookie is `v1.<payload>.<mac>`: the payload is base64url JSON `{"sub", "scp", "exp", "sid"}`
and the mac is HMAC-SHA256 over it with a key held in the store (`Store.secret`), so a session
survives restarts and is honoured by every replica sharing the store. Nothing secret is in the
payload: it says who logged in, not with what.

Contract of `SessionCodec.read`: None unless the mac verifies (constant-time), the session has not
expired, and its client is still configured; the scopes are those granted at login that the client
still has (a scope removed from the config since is no longer honoured, as for bearer tokens).

CSRF: every form carries `csrf_token(session)`, an HMAC of the session id under the same key (with
its own label), so a page of another origin cannot forge a POST even where a browser ignored
SameSite=Strict.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson

from ccbridge.api.tokens import canonical_scope
from ccbridge.config import ClientConfig

COOKIE = "ccbridge_session"
VERSION = "v1"
READ = "eventbridge:subscriptions:read"
WRITE = "eventbridge:subscriptions:write"
_SESSION_LABEL = b"ccbridge-ui-session\0"
_CSRF_LABEL = b"ccbridge-ui-csrf\0"


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in dashboard user: an OAuth2 client, what it may do, and until when (epoch s)."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float
    session_id: str

    @property
    def can_act(self) -> bool:
        """Replaying, purging and every other change need the write scope; without it pages are read-only."""
        return WRITE in self.scopes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Issues and reads session cookies and CSRF tokens with one key; `clients` is the config's
    `auth.clients`, read at every `read` so a removed client's sessions end at once."""

    def __init__(
        self,
        key: Callable[[], bytes],
        clients: Callable[[], Iterable[ClientConfig]],
        ttl_seconds: int,
        now: Callable[[], float],
    ) -> None:
        self._key = key
        self._clients = clients
        self.ttl_seconds = ttl_seconds
        self._now = now

    def issue(self, client: ClientConfig) -> tuple[str, Session]:
        """A new session for an authenticated `client`: the cookie value and what it stands for."""
        session = Session(
            client.id,
            frozenset(canonical_scope(s) for s in client.scopes),
            self._now() + self.ttl_seconds,
            secrets.token_urlsafe(16),
        )
        payload = {
            "sub": session.client_id,
            "scp": sorted(session.scopes),
            "exp": session.expires_at,
            "sid": session.session_id,
        }
        body = _b64(orjson.dumps(payload))
        return f"{VERSION}.{body}.{self._mac(body)}", session

    def read(self, cookie: str | None) -> Session | None:
        """The session `cookie` stands for, or None (see the module's contract)."""
        key = self._key()
        if not cookie or not key:
            return None
        version, _, rest = cookie.partition(".")
        body, _, mac = rest.partition(".")
        if version != VERSION or not hmac.compare_digest(self._mac(body), mac):
            return None
        try:
            claims = orjson.loads(_unb64(body))
        except (binascii.Error, ValueError):
            return None
        return self._session(claims)

    def _session(self, claims: object) -> Session | None:
        if not isinstance(claims, dict):
            return None
        sub, scp, exp, sid = (claims.get(k) for k in ("sub", "scp", "exp", "sid"))
        if not (isinstance(sub, str) and isinstance(sid, str) and isinstance(scp, list)):
            return None
        if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= self._now():
            return None
        client = next((c for c in self._clients() if c.id == sub), None)
        if client is None:
            return None
        allowed = {canonical_scope(s) for s in client.scopes}
        return Session(sub, frozenset(str(s) for s in scp) & allowed, float(exp), sid)

    def csrf_token(self, session: Session) -> str:
        """The token every form of this session carries."""
        return _b64(hmac.new(self._key(), _CSRF_LABEL + session.session_id.encode(), hashlib.sha256).digest())

    def csrf_valid(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), token or "")

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key(), _SESSION_LABEL + body.encode(), hashlib.sha256).digest())
