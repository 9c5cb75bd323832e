"""The documentation models of the API name exactly the fields the core parsers accept."""

from __future__ import annotations

from pydantic import BaseModel

from ccbridge.api import schemas
from ccbridge.core import dialects, envelopes


def fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_subscription_models_name_the_fields_each_dialect_accepts() -> None:
    """CXone and Genesys subscription bodies document every accepted field and no other."""
    assert fields(schemas.CxoneSubscription) == dialects.CXONE_FIELDS
    assert fields(schemas.GenesysSubscription) == dialects.GENESYS_FIELDS


def test_event_models_name_the_fields_each_dialect_accepts() -> None:
    """CXone and Genesys event bodies document every accepted field and no other."""
    assert fields(schemas.CxoneEvent) == envelopes.CXONE_KEYS
    assert fields(schemas.GenesysEvent) == envelopes.GENESYS_KEYS


def test_request_bodies_refuse_unknown_fields() -> None:
    """Like the parsers, the documented request bodies admit no field they do not name."""
    components = schemas.components()
    for name in ("CxoneSubscription", "GenesysSubscription", "CxoneEvent", "GenesysEvent", "ReplayRequest"):
        assert components[name]["additionalProperties"] is False, name
