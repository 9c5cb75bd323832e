"""`type: cxone-signal`: a routed event wakes a running CXone Studio script through the Signal API.

The endpoint URL (`core.signal_urls`) names the connector whose tenant to call and where in the event
the contact id and the parameters are; each attempt is one
`POST {api_endpoint}/incontactapi/services/v30.0/interactions/{contactId}/signal?p1=..&p2=..`
(the parameters as query parameters, as NICE's Signal reference and its own integrations send them),
with the tenant's token (`CxoneAuth`, shared with the agent event source).

Classification (decided here, once):
  200, 202, 204                               -> Delivered(status)
  404 (the contact has ended)                 -> Failed
  401                                         -> the token is renewed and the call repeated once; a
                                                 second 401 -> Retry (the credentials are the operator's
                                                 to fix; the subscription's retry policy bounds it)
  408, 429 (Retry-After as a floor), 5xx      -> Retry
  timeouts, dropped connections, token 5xx    -> Retry
  the token endpoint refusing the access key  -> Retry (as for a 401)
  any other status                            -> Failed("HTTP 400")
  a contact id or parameter missing from the event, an unknown connector, a bad URL -> Failed, naming it
Parameter values are sent as they are when strings, as JSON otherwise (numbers, booleans, objects).
Reasons never contain a token, a secret or the event's values.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import orjson

from ccbridge.connectors.cxone.api import call
from ccbridge.connectors.cxone.auth import CxoneAuth
from ccbridge.core.event import Delivered, Failed, Outcome, Retry
from ccbridge.core.ports import Attempt
from ccbridge.core.signal_urls import MISSING, SignalTarget, lookup, parse_signal_url
from ccbridge.errors import AuthError, Retryable

DELIVERED = frozenset({200, 202, 204})


class CxoneSignalEndpoint:
    """The `Endpoint` for `cxone://<connector>/signal?...` URLs; `auths` maps connector names to the
    tenants' shared credentials. Safe to call concurrently; `aclose` leaves the shared credentials
    open (the composition root closes them)."""

    def __init__(self, auths: Mapping[str, CxoneAuth]) -> None:
        self._auths = auths

    async def send(self, attempt: Attempt) -> Outcome:
        try:
            target = parse_signal_url(attempt.job.endpoint.url)
        except ValueError as exc:
            return Failed(f"bad CXone signal URL: {exc}")
        auth = self._auths.get(target.connector)
        if auth is None:
            return Failed(f"no CXone connector named {target.connector!r} is configured (connectors.cxone)")
        request = signal_request(target, attempt.job.event.document())
        if isinstance(request, Failed):
            return request
        contact, params = request
        try:
            answer = await call(
                auth,
                "POST",
                f"/interactions/{quote(contact, safe='')}/signal",
                params=params,
                within=attempt.timeout,
            )
        except AuthError as exc:
            return Retry(str(exc))
        except Retryable as exc:
            return Retry(str(exc), after=exc.retry_after)
        return classify(answer.status, answer.retry_after)

    async def aclose(self) -> None:
        return None


def signal_request(target: SignalTarget, document: object) -> tuple[str, dict[str, str]] | Failed:
    """The contact id and parameters `target` names in `document`, or why they cannot be had."""
    contact = lookup(document, target.contact_path)
    if contact is MISSING or contact is None or isinstance(contact, (dict, list)) or contact == "":
        return Failed(f"the event has no contact id at {target.contact_path}")
    params: dict[str, str] = {}
    for name, path in target.params:
        value = lookup(document, path)
        if value is MISSING:
            return Failed(f"the event has no {path} (signal parameter {name})")
        params[name] = value if isinstance(value, str) else orjson.dumps(value).decode()
    return _text(contact), params


def classify(status: int, retry_after: float | None) -> Outcome:
    if status in DELIVERED:
        return Delivered(status)
    if status == 404:
        return Failed("HTTP 404: the contact has ended (or never existed)", status)
    if status == 401:
        return Retry("HTTP 401 with a renewed token", status)
    if status in (408, 429) or status >= 500:
        return Retry(f"HTTP {status}", status, retry_after)
    return Failed(f"HTTP {status}", status)


def _text(value: object) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
