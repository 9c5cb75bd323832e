"""The error tree of ccbridge; adapters map their libraries' exceptions onto it once, at the boundary.

    BridgeError
     +-- ConfigError        a config file or value is wrong; `path` names the key (exit 2)
     +-- AuthError          credentials or token missing, malformed, expired (401)
     |    +-- ScopeError    authenticated but the scope is missing (403)
     +-- InputError         a request or CLI argument is wrong; `errors` lists every field (4xx)
     |    +-- PayloadTooLarge   the body is over the configured limit (413)
     +-- NotFoundError      the addressed resource does not exist (404)
     +-- ConflictError      the write collides with existing state (409); `existing_id` when known
     +-- Retryable          a transient failure; `retry_after` seconds is a floor for the next try
     +-- Permanent          a failure that retrying cannot fix

The core branches only on these; HTTP status codes are chosen in one place (`api.problems`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field at fault: a dotted/indexed path (`endpoints[1].url`) and what is wrong with it."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class BridgeError(Exception):
    """Root of every error ccbridge raises on purpose."""


class ConfigError(BridgeError):
    """A config value is wrong; `path` is the key path, e.g. `auth.clients[0].secret`.

    One error may carry several problems found in one pass: `problems` lists every `(path, message)`,
    the first being `path`/`message`; `lines()` gives one `path: message` line each.
    """

    def __init__(self, path: str, message: str, *, more: Iterable[tuple[str, str]] = ()) -> None:
        self.problems = [(path, message), *more]
        super().__init__("; ".join(self.lines()))
        self.path = path
        self.message = message

    def lines(self) -> list[str]:
        return [f"{path}: {message}" if path else message for path, message in self.problems]


class AuthError(BridgeError):
    """Authentication failed; `code` is the OAuth2/RFC 6750 error code to answer with."""

    def __init__(self, message: str, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.code = code


class ScopeError(AuthError):
    """The caller is known but lacks the scope the route needs."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="insufficient_scope")


class InputError(BridgeError):
    """A request is invalid; every field at fault is listed, not just the first."""

    status = 422

    def __init__(self, errors: list[FieldError] | FieldError, title: str = "invalid request") -> None:
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__(title + ": " + "; ".join(f"{e.field}: {e.message}" for e in self.errors))
        self.title = title


class BadRequest(InputError):
    """The request could not be read at all (not JSON, wrong content type): 400."""

    status = 400


class PayloadTooLarge(InputError):
    """The body is over `limits.max_body_bytes`."""

    status = 413


class NotFoundError(BridgeError):
    """The addressed resource does not exist."""


class ConflictError(BridgeError):
    """The write collides with existing state; `existing_id` lets a client adopt it."""

    def __init__(self, message: str, existing_id: str | None = None) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class Retryable(BridgeError):
    """A transient failure; `retry_after` (seconds) is a floor for the next attempt when known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(BridgeError):
    """A failure that retrying cannot fix (a 4xx from an endpoint, a refused address)."""
