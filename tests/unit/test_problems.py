"""The one table from the error tree to HTTP answers: each class's status, title and headers."""

from __future__ import annotations

import inspect

import orjson
import pytest

from ccbridge import errors
from ccbridge.api.problems import (
    ANSWERS,
    PROBLEM,
    answer_for,
    code_for,
    from_error,
    problem,
    retry_after_header,
    status_on,
)
from ccbridge.errors import (
    AuthError,
    BadSignature,
    BridgeError,
    ConfigError,
    ConflictError,
    FieldError,
    HeadersTooLarge,
    InputError,
    Malformed,
    NotFoundError,
    Overloaded,
    Permanent,
    QuotaExceeded,
    RateLimited,
    RequestTimeout,
    Retryable,
    ScopeError,
    TooLarge,
    Unavailable,
    WrongMediaType,
)
from ccbridge.ingest import KeySetUnavailable

FIELD = FieldError("name", "is required")
SAMPLES: list[tuple[BridgeError, int]] = [
    (AuthError("the token has expired"), 401),
    (ScopeError("the token lacks the scope x"), 403),
    (BadSignature("signature mismatch"), 403),
    (InputError(FIELD), 422),
    (Malformed(FIELD), 400),
    (WrongMediaType(FieldError("Content-Type", "must be application/json")), 415),
    (TooLarge(FIELD), 413),
    (HeadersTooLarge(FIELD), 431),
    (RequestTimeout(FIELD), 408),
    (QuotaExceeded(FIELD), 422),
    (NotFoundError("no subscription with id s"), 404),
    (ConflictError("taken", existing_id="s-1"), 409),
    (Retryable("busy", retry_after=2), 503),
    (RateLimited(0.5), 429),
    (Unavailable("keys unavailable", retry_after=30), 503),
    (KeySetUnavailable("signing keys unavailable", retry_after=60), 503),
    (Overloaded("too many deliveries pending", retry_after=5), 503),
    (Permanent("refused"), 500),
    (ConfigError("auth.clients", "missing"), 500),
    (BridgeError("anything else"), 500),
]


def body(exc: BridgeError) -> dict[str, object]:
    parsed: dict[str, object] = orjson.loads(from_error(exc).body)
    return parsed


@pytest.mark.parametrize(
    ("exc", "status"), SAMPLES, ids=lambda v: type(v).__name__ if isinstance(v, Exception) else ""
)
def test_each_error_class_answers_its_status(exc: BridgeError, status: int) -> None:
    """The table's status is the answer's status and the problem body's, as problem+json."""
    response = from_error(exc)
    assert answer_for(exc).status == status
    assert response.status_code == status
    assert response.media_type == PROBLEM
    assert body(exc)["status"] == status


def test_every_class_of_the_tree_is_covered() -> None:
    """Each error class of `ccbridge.errors` has a sample above (so a new class needs a decision)."""
    tree = {c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, BridgeError)}
    assert tree <= {type(exc) for exc, _ in SAMPLES}
    assert set(ANSWERS) <= tree


def test_the_most_specific_class_wins() -> None:
    """A subclass without a row answers like its nearest ancestor that has one."""

    class BodyOverQuota(TooLarge):
        pass

    class ClientSideConflict(RuntimeError, ConflictError):
        pass

    assert answer_for(BodyOverQuota(FIELD)).status == 413
    assert answer_for(ClientSideConflict("taken")).status == 409


def test_input_errors_list_every_field_under_their_own_title() -> None:
    """An InputError answers with its own title and every field at fault; the detail joins them."""
    exc = InputError(
        [FIELD, FieldError("endpoints[0].url", "must use https://")], title="invalid subscription"
    )
    answer = body(exc)
    assert answer["title"] == "invalid subscription"
    assert answer["errors"] == [
        {"field": "name", "message": "is required"},
        {"field": "endpoints[0].url", "message": "must use https://"},
    ]
    assert answer["detail"] == "name: is required; endpoints[0].url: must use https://"
    assert body(TooLarge(FIELD))["title"] == "payload too large"
    assert body(InputError(FIELD))["title"] == "invalid request"


def test_auth_errors_carry_their_challenge() -> None:
    """401 and 403 name the RFC 6750 error code in WWW-Authenticate."""
    assert from_error(AuthError("bad", code="invalid_request")).headers["www-authenticate"] == (
        'Bearer error="invalid_request"'
    )
    assert from_error(ScopeError("no")).headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    assert body(ScopeError("no"))["title"] == "insufficient scope"


def test_conflicts_name_the_existing_resource() -> None:
    """A 409 carries existingId when the error knows it, and leaves it out otherwise."""
    assert body(ConflictError("taken", existing_id="s-1"))["existingId"] == "s-1"
    assert "existingId" not in body(ConflictError("taken"))


def test_retry_after_is_rounded_up_to_whole_seconds() -> None:
    """retry_after is a floor, so the header never says less: 0.5 -> 1, 1.2 -> 2, 30 -> 30."""
    assert from_error(RateLimited(0.5)).headers["retry-after"] == "1"
    assert from_error(RateLimited(1.2)).headers["retry-after"] == "2"
    assert from_error(Unavailable("down", retry_after=30)).headers["retry-after"] == "30"
    assert "retry-after" not in from_error(Retryable("busy")).headers
    assert [retry_after_header(s) for s in (0, 0.01, 1, 1.0001)] == ["1", "1", "1", "2"]


def test_internal_errors_reveal_nothing() -> None:
    """A 500 says only that the request could not be completed, never the error's message."""
    answer = body(Permanent("connect to 10.0.0.7:5432 refused"))
    assert answer == {
        "type": "about:blank",
        "title": "internal error",
        "status": 500,
        "detail": "the request could not be completed",
        "message": "the request could not be completed",
        "code": "internal.server.error",
    }


@pytest.mark.parametrize(
    ("exc", "status"), SAMPLES, ids=lambda v: type(v).__name__ if isinstance(v, Exception) else ""
)
def test_every_answer_carries_a_one_line_message_and_a_stable_code(exc: BridgeError, status: int) -> None:
    """Each body keeps problem+json and adds `message` (one line) and `code` (a dotted word)."""
    answer = body(exc)
    assert {"type", "title", "status", "message", "code"} <= set(answer)
    assert isinstance(answer["message"], str) and answer["message"] and "\n" not in answer["message"]
    assert isinstance(answer["code"], str) and answer["code"].replace(".", "").isalpha()


def test_the_codes_are_the_words_clients_branch_on() -> None:
    """The codes of the common answers are Genesys Cloud's words, and a class may have its own."""
    codes = {
        type(exc).__name__: body(exc)["code"]
        for exc in (
            AuthError("x"),
            ScopeError("x"),
            NotFoundError("x"),
            ConflictError("x"),
            RateLimited(1),
            Malformed(FIELD),
            QuotaExceeded(FIELD),
        )
    }
    assert codes == {
        "AuthError": "unauthorized",
        "ScopeError": "forbidden",
        "NotFoundError": "not.found",
        "ConflictError": "conflict",
        "RateLimited": "too.many.requests",
        "Malformed": "bad.request",
        "QuotaExceeded": "quota.exceeded",
    }
    assert code_for(405) == "method.not.allowed" and code_for(507) == "insufficient.storage"


def test_the_message_names_the_first_field_at_fault() -> None:
    """`message` is the first field error and how many more there are; without fields, the detail."""
    two = InputError([FIELD, FieldError("endpoints[0].url", "must use https://")])
    assert body(two)["message"] == "name: is required (and 1 more)"
    assert body(InputError(FIELD))["message"] == "name: is required"
    assert body(NotFoundError("no subscription with id s"))["message"] == "no subscription with id s"
    assert orjson.loads(problem(404, "Not Found").body)["message"] == "Not Found"


def test_validation_errors_answer_400_on_the_documents_routes_only() -> None:
    """An InputError is 400 under /api/v2/eventbridge and 422 elsewhere (/ingest, POST /events)."""
    subs = from_error(InputError(FIELD), "/api/v2/eventbridge/subscriptions")
    assert subs.status_code == 400 and orjson.loads(subs.body)["code"] == "bad.request"
    assert orjson.loads(subs.body)["status"] == 400
    assert from_error(InputError(FIELD), "/ingest").status_code == 422
    assert from_error(InputError(FIELD), "/events").status_code == 422
    assert from_error(InputError(FIELD), "/api/v2/eventbridgex").status_code == 422
    assert from_error(NotFoundError("x"), "/api/v2/eventbridge/events/e").status_code == 404
    assert [status_on("/api/v2/eventbridge", s) for s in (422, 413, 409)] == [400, 413, 409]
