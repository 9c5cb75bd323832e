"""The error tree of ccbridge: each class names what went wrong, never how to answer it.

    BridgeError
     +-- ConfigError          a config file or value is wrong; `path` names the key
     +-- AuthError            credentials or a token are missing, malformed or expired; `code` is the
     |    |                   OAuth2 / RFC 6750 error code
     |    +-- ScopeError      the caller is known but lacks the scope the operation needs
     |    +-- BadSignature    a request signature is there but does not verify (a forgery, a
     |                        wrong secret, an altered body, a timestamp out of tolerance)
     +-- InputError           a request or argument is wrong; `errors` lists every field at fault
     |    +-- Malformed       a part of the request cannot be read at all (a body that is not JSON,
     |    |    |              an empty Idempotency-Key, a limit that is not a number)
     |    |    +-- WrongMediaType  the body is not of a media type the route reads
     |    +-- TooLarge        the body is over a configured size limit
     |    +-- HeadersTooLarge the request line and headers are over a configured size or count limit
     |    +-- RequestTimeout  the request did not arrive in time (headers too late, body too slow)
     |    +-- QuotaExceeded   the write would pass a configured count limit
     +-- NotFoundError        the addressed resource does not exist
     +-- ConflictError        the write collides with existing state; `existing_id` when known
     +-- Retryable            a transient failure; `retry_after` seconds is a floor for the next try
     |    +-- RateLimited     the caller is over its rate limit
     |    +-- Unavailable     something the request needs cannot be reached for now
     |         +-- Overloaded  more deliveries are pending than `limits.max_pending` allows
     +-- Permanent            a failure that retrying cannot fix

Adapters map their libraries' exceptions onto this tree once, at the boundary; the core branches only
on these classes. Which HTTP status and title each class answers with is chosen in one table,
`ccbridge.api.problems.ANSWERS`, and nowhere else.
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


class BadSignature(AuthError):
    """A signature header is present but the request does not verify against any secret: the
    sender is refused (403), unlike a request that carries no signature at all (AuthError, 401)."""

    def __init__(self, message: str = "signature mismatch") -> None:
        super().__init__(message, code="invalid_signature")


class InputError(BridgeError):
    """A request is invalid; every field at fault is listed, not just the first.

    `title` sums up what the caller got wrong ("idempotency key reused"); each subclass has its own
    default, and a raise may name a more precise one.
    """

    title: str = "invalid request"

    def __init__(self, errors: list[FieldError] | FieldError, title: str | None = None) -> None:
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        if title is not None:
            self.title = title
        super().__init__(self.title + ": " + "; ".join(f"{e.field}: {e.message}" for e in self.errors))


class Malformed(InputError):
    """A part of the request could not be read at all: a body that is not JSON (or nests too deep),
    a header or query parameter that is not a value of its kind (an empty Idempotency-Key)."""

    title = "malformed request"


class WrongMediaType(Malformed):
    """The body is not of a media type the route reads (JSON sent as `text/plain`, or untyped)."""

    title = "unsupported media type"


class TooLarge(InputError):
    """The body is over a configured size limit (`limits.max_body_bytes`, `ingest.max_body_bytes`)."""

    title = "payload too large"


class HeadersTooLarge(InputError):
    """The request line and headers are over a configured limit (`server.max_header_bytes`,
    `server.max_header_line_bytes`, `server.max_headers`)."""

    title = "request header fields too large"


class RequestTimeout(InputError):
    """The request did not arrive in time: its headers not within `server.header_timeout_seconds`,
    or its body slower than `server.min_body_bytes_per_second`."""

    title = "request timeout"


class QuotaExceeded(InputError):
    """The write would pass a configured count limit (`limits.max_subscriptions`)."""

    title = "quota exceeded"


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


class RateLimited(Retryable):
    """The caller sent more than its rate allows; `retry_after` is the wait until it may send again."""

    def __init__(self, retry_after: float, message: str = "rate limit exceeded") -> None:
        super().__init__(message, retry_after=retry_after)


class Unavailable(Retryable):
    """Something the request needs (a key set, a dependency) cannot be reached for now."""


class Overloaded(Unavailable):
    """Taking the request would pass `limits.max_pending` unsettled deliveries: nothing was stored,
    and the same request succeeds once deliveries have drained (`retry_after` is a floor)."""


class Permanent(BridgeError):
    """A failure that retrying cannot fix (a 4xx from an endpoint, a refused address)."""
