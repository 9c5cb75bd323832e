"""The pattern tester: would this subscription receive this event, and why (not)?

An event is pasted as it is published (a body of `POST /api/v2/eventbridge/events`, either
dialect, recognised by its `eventType`) or as it is delivered (the document webhooks receive,
with `event` for its type). A published body is validated and converted exactly as the events
route does; the document is what patterns match. The verdict is the router's rule: the event's
type is one of the subscription's event types, AND its pattern (if any) matches, AND the
subscription is active. Nothing is stored or delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ccbridge.core.accept import accept
from ccbridge.core.envelopes import parse_event_body
from ccbridge.core.event import Subscription
from ccbridge.core.rules.explain import Explanation, explain
from ccbridge.errors import InputError

MAX_EVENT_BYTES = 262_144


@dataclass(frozen=True, slots=True)
class Verdict:
    """`error` says why the pasted text could not be tested (then nothing else is set)."""

    error: str | None = None
    document: dict[str, Any] | None = None
    type_ok: bool = False
    explanation: Explanation | None = None
    active: bool = True

    @property
    def pattern_ok(self) -> bool:
        return self.explanation is None or self.explanation.matched

    @property
    def delivers(self) -> bool:
        return self.error is None and self.type_ok and self.pattern_ok and self.active


def document_of(body: Any, known_type: Callable[[str], bool], now: float) -> dict[str, Any]:
    """The document patterns are matched against, from either pasted form; InputError or
    ValueError when it is neither."""
    if not isinstance(body, dict):
        raise ValueError("the event must be a JSON object")
    if "eventType" in body:
        envelope = parse_event_body(body, known_type, "pattern-tester")
        event = accept(envelope, received_at=now, correlation_id="pattern-tester", idempotency_key=None)
        return event.document()
    if "event" in body:
        return body
    raise ValueError(
        'paste an event as published (with "eventType") or as delivered to webhooks (with "event")'
    )


def try_event(sub: Subscription, text: str, known_type: Callable[[str], bool], now: float) -> Verdict:
    """The verdict for the pasted `text` (see the module's docstring)."""
    if len(text.encode()) > MAX_EVENT_BYTES:
        return Verdict(f"the event is larger than {MAX_EVENT_BYTES} bytes")
    try:
        document = document_of(orjson.loads(text), known_type, now)
    except orjson.JSONDecodeError as exc:
        return Verdict(f"not JSON: {exc}")
    except InputError as exc:
        return Verdict("not a valid event: " + "; ".join(f"{e.field}: {e.message}" for e in exc.errors))
    except ValueError as exc:
        return Verdict(str(exc))
    why = explain(sub.pattern, document) if sub.pattern else None
    return Verdict(None, document, document.get("event") in sub.event_types, why, sub.state == "active")


def sample_body(sub: Subscription, now: float) -> str:
    """A published body of the subscription's first event type, to start the tester from."""
    event_type = sub.event_types[0] if sub.event_types else "contact.created"
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if sub.dialect == "genesys":
        body: dict[str, Any] = {
            "eventType": event_type,
            "eventTime": stamp,
            "source": {"system": "crm", "version": "1"},
            "data": {},
        }
    else:
        body = {"eventType": event_type, "timestamp": stamp, "attributes": {}}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
