"""The attempt detail the dispatcher hands each settlement: outcome names, error classes, latency."""

from __future__ import annotations

import time

from ccbridge.core.event import RESPONSE_EXCERPT_BYTES, Delivered, Failed, Retry, response_excerpt
from ccbridge.core.ports import Settlement
from ccbridge.delivery.attempt_record import attempt_outcome, error_class, timed, with_detail


def test_outcomes_say_whether_a_failure_was_permanent_or_out_of_retries() -> None:
    """delivered, retry, failed (permanent) and dead (retries exhausted) follow outcome and state."""
    assert attempt_outcome(Delivered(200), Settlement(1, "delivered", 1)) == "delivered"
    assert attempt_outcome(Retry("HTTP 503"), Settlement(1, "retry", 1)) == "retry"
    assert attempt_outcome(Failed("HTTP 400"), Settlement(1, "dead", 1)) == "failed"
    assert attempt_outcome(Retry("HTTP 503"), Settlement(1, "dead", 3)) == "dead"


def test_error_class_is_the_endpoints_word_else_derived() -> None:
    """An endpoint's own class wins; a status means http_status; otherwise the transport's type."""
    assert error_class(Delivered(200), "webhook") is None
    assert error_class(Retry("timeout", error_class="timeout"), "webhook") == "timeout"
    assert error_class(Failed("HTTP 404", 404), "webhook") == "http_status"
    assert error_class(Retry("UNAVAILABLE"), "grpc") == "grpc_error"


def test_timed_keeps_an_endpoints_own_latency_and_measures_otherwise() -> None:
    """The dispatcher's measurement fills in only what the endpoint did not."""
    assert timed(Delivered(200, latency_ms=7.0), time.perf_counter()).latency_ms == 7.0
    measured = timed(Delivered(200), time.perf_counter() - 0.25).latency_ms
    assert measured is not None and measured >= 250


def test_with_detail_carries_body_latency_and_start() -> None:
    """The settlement's detail holds what the outcome says, and outcomes compare without it."""
    outcome = Retry("HTTP 503", 503, body="busy", latency_ms=4.0, error_class="http_status")
    settled = with_detail(Settlement(9, "retry", 1, 503, "HTTP 503"), outcome, 100.0, "webhook")
    assert settled.detail is not None
    assert (settled.detail.outcome, settled.detail.started_at, settled.detail.response_body) == (
        "retry",
        100.0,
        "busy",
    )
    assert outcome == Retry("HTTP 503", 503)


def test_response_excerpt_is_4_kb_of_text_whatever_the_bytes() -> None:
    """Invalid UTF-8 and NUL become U+FFFD; at most 4 KB are kept; it never raises."""
    assert response_excerpt(b"ok") == "ok"
    assert response_excerpt(b"\xff\x00a") == "\ufffd\ufffda"
    assert len(response_excerpt(b"y" * 10_000)) == RESPONSE_EXCERPT_BYTES
