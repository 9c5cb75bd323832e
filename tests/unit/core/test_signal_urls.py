"""The cxone-signal URL form and the lookup of its paths, and how the subscription parser checks it."""

from __future__ import annotations

import pytest

from ccbridge.core.dialects import Limits, validate_subscription
from ccbridge.core.signal_urls import MISSING, SignalTarget, lookup, parse_signal_url
from ccbridge.errors import InputError


def test_a_full_url_parses_into_connector_contact_and_ordered_params() -> None:
    """The host is the connector (case kept), contactId and p1..p9 are paths, params ordered p1..p9."""
    target = parse_signal_url("cxone://CX-Prod/signal?p2=data.reason&contactId=data.contactId&p1=data.skill")
    assert target == SignalTarget("CX-Prod", "data.contactId", (("p1", "data.skill"), ("p2", "data.reason")))


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("cxone://cx/signal", "contactId"),
        ("cxone://cx/signal?contactId=", "dotted path"),
        ("cxone://cx/signal?contactId=data..x", "dotted path"),
        ("cxone://cx/signal?contactId=data.c&contactId=data.d", "twice"),
        ("cxone://cx/signal?contactId=data.c&p0=data.x", "p0"),
        ("cxone://cx/signal?contactId=data.c&skill=data.x", "skill"),
        ("cxone://cx/signal?contactId=payload.c", "must start at a part of the event"),
        ("cxone://cx/other?contactId=data.c", "/signal"),
        ("cxone://cx/signal?contactId=data.c#frag", "/signal"),
        ("cxone://user@cx/signal?contactId=data.c", "connector"),
        ("cxone://cx:443/signal?contactId=data.c", "connector"),
        ("grpc://cx/signal?contactId=data.c", "cxone://"),
    ],
)
def test_malformed_urls_say_what_is_wrong(url: str, words: str) -> None:
    """Every malformed form is refused with a reason naming the part at fault."""
    with pytest.raises(ValueError, match=words):
        parse_signal_url(url)


def test_lookup_follows_keys_and_list_indexes() -> None:
    """Dotted keys walk objects, digits index lists; anything absent is MISSING (None is a value)."""
    doc = {"data": {"a": {"b": [10, {"c": None}]}}}
    assert lookup(doc, "data.a.b.0") == 10
    assert lookup(doc, "data.a.b.1.c") is None
    assert lookup(doc, "data.a.b.2") is MISSING
    assert lookup(doc, "data.x") is MISSING
    assert lookup(doc, "data.a.b.c") is MISSING


def _body(url: str) -> dict[str, object]:
    return {"name": "s", "eventType": "custom.x", "endpoints": [{"url": url, "type": "cxone-signal"}]}


def test_the_parser_refuses_an_unconfigured_connector_only_when_it_knows_them() -> None:
    """With the configured names (the server) an unknown connector is refused on endpoints[0].url;
    without them (a client checking a plan offline) the form alone is checked."""
    url = "cxone://cx-other/signal?contactId=data.c"
    offline = Limits(10, lambda t: True)
    server = Limits(10, lambda t: True, frozenset({"cx-prod"}))
    assert validate_subscription(_body(url), offline).endpoints[0].type == "cxone-signal"
    with pytest.raises(InputError) as caught:
        validate_subscription(_body(url), server)
    assert caught.value.errors[0].field == "endpoints[0].url"
    assert "cx-other" in caught.value.errors[0].message and "cx-prod" in caught.value.errors[0].message


def test_a_signal_url_under_another_type_is_refused() -> None:
    """A cxone:// URL given as a webhook is refused on its scheme, not sent over HTTP."""
    body = {
        "name": "s",
        "eventType": "custom.x",
        "endpoints": [{"url": "cxone://cx/signal?contactId=data.c"}],
    }
    with pytest.raises(InputError, match="http://"):
        validate_subscription(body, Limits(10, lambda t: True))
