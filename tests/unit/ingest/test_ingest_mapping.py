"""Legacy payload -> Genesys envelope: every kind of field, and every way a payload can fail to map."""

from __future__ import annotations

from typing import Any

import pytest

from ccbridge.api.problems import answer_for
from ccbridge.errors import ConfigError, InputError
from ccbridge.ingest.config import MappingConfig
from ccbridge.ingest.mapping import CompiledMapping
from ccbridge.ingest.testing import orders_source

ISSUE_MAPPING: dict[str, Any] = orders_source()["mapping"]
ORDER: dict[str, Any] = {
    "transaction_id": "T-1001",
    "event_type": "order_created",
    "amount": 129.5,
    "currency": "EUR",
    "timestamp": "2024-05-01T14:00:00+02:00",
}


def compile_mapping(spec: dict[str, Any]) -> CompiledMapping:
    return CompiledMapping.compile(MappingConfig.model_validate(spec), "ingest.sources[0].mapping")


def errors_of(mapping: CompiledMapping, payload: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        mapping.apply(payload)
    assert answer_for(caught.value).status == 422
    return {e.field: e.message for e in caught.value.errors}


def test_issue_example_maps_to_the_genesys_envelope() -> None:
    """The issue's mapping yields seed 003's envelope: type from the template, UTC time, source, data."""
    mapped = compile_mapping(ISSUE_MAPPING).apply(dict(ORDER))
    assert mapped.event_type == "custom.legacy.orders.order_created"
    assert mapped.event_time == "2024-05-01T12:00:00Z"
    assert mapped.source == {"system": "legacy-ordering-platform", "version": "2.1.0"}
    assert mapped.data == {
        "transaction_id": "T-1001",
        "amount": 129.5,
        "currency": "EUR",
        "original_type": "order_created",
        "channel": "erp",
        "region": "unknown",
    }


def test_default_applies_only_when_the_field_is_absent() -> None:
    """A present value (even null) wins over the default; only an absent field takes it."""
    mapping = compile_mapping(ISSUE_MAPPING)
    assert mapping.apply({**ORDER, "region": "emea"}).data["region"] == "emea"
    assert mapping.apply({**ORDER, "region": None}).data["region"] is None


def test_values_are_copied_unchanged() -> None:
    """Selected fields keep their JSON type and content: objects, lists, numbers, null, booleans."""
    mapping = compile_mapping(
        {**ISSUE_MAPPING, "data": {"items": "items", "flag": "flag", "n": "n", "nothing": "nothing"}}
    )
    payload = {**ORDER, "items": [{"sku": "A", "qty": 2}], "flag": False, "n": 10**15, "nothing": None}
    assert mapping.apply(payload).data == {
        "items": [{"sku": "A", "qty": 2}],
        "flag": False,
        "n": 10**15,
        "nothing": None,
    }


def test_dotted_paths_reach_nested_objects_and_list_items() -> None:
    """`customer.id` selects inside objects and `items.0.sku` indexes lists, in data, template and time."""
    mapping = compile_mapping(
        {
            "event_type": "custom.{meta.vendor}.orders.{meta.action}",
            "event_time": {"field": "meta.at"},
            "data": {"customer": "customer.id", "first_sku": "items.0.sku", "tier": "customer.tier.name"},
        }
    )
    payload = {
        "meta": {"vendor": "sap", "action": "created", "at": 1714564800000},
        "customer": {"id": 42, "tier": {"name": "gold"}},
        "items": [{"sku": "A-1"}],
    }
    mapped = mapping.apply(payload)
    assert mapped.event_type == "custom.sap.orders.created"
    assert mapped.event_time == "2024-05-01T12:00:00Z"
    assert mapped.data == {"customer": 42, "first_sku": "A-1", "tier": "gold"}


def test_constants_are_fresh_objects_per_event() -> None:
    """Mutating one event's constant source or data object does not leak into the next event."""
    mapping = compile_mapping({**ISSUE_MAPPING, "data": {"tags": {"const": ["erp"]}}})
    first = mapping.apply(dict(ORDER))
    first.source["system"] = "changed"
    first.data["tags"].append("changed")
    second = mapping.apply(dict(ORDER))
    assert second.source["system"] == "legacy-ordering-platform"
    assert second.data["tags"] == ["erp"]


def test_missing_template_field_is_named() -> None:
    """A payload without a field the event type template needs is a 422 naming that field."""
    payload = {k: v for k, v in ORDER.items() if k != "event_type"}
    with pytest.raises(InputError) as caught:
        compile_mapping(ISSUE_MAPPING).apply(payload)
    messages = [e.message for e in caught.value.errors if e.field == "event_type"]
    assert messages == ["required by the event type template", "required by the mapping (data.original_type)"]


@pytest.mark.parametrize("value", ["order created", {"a": 1}, None, True, "", "x/y"])
def test_unusable_template_values_are_refused(value: Any) -> None:
    """Objects, null, booleans, empty strings and characters outside [A-Za-z0-9_.:-] are refused."""
    errors = errors_of(compile_mapping(ISSUE_MAPPING), {**ORDER, "event_type": value})
    assert "event_type" in errors


def test_rendered_type_with_empty_segment_is_refused() -> None:
    """A value that would produce `custom.legacy..x`-style empty segments is a 422 on eventType."""
    errors = errors_of(compile_mapping(ISSUE_MAPPING), {**ORDER, "event_type": "created."})
    assert "eventType" in errors


def test_integer_template_values_are_allowed() -> None:
    """An integer field renders into the event type as its decimal digits."""
    mapping = compile_mapping({**ISSUE_MAPPING, "event_type": "custom.legacy.v{version}.order"})
    assert mapping.apply({**ORDER, "version": 2}).event_type == "custom.legacy.v2.order"


def test_missing_time_is_named_and_never_defaulted() -> None:
    """A payload without the time field is a 422 naming it, not an event stamped with the current time."""
    payload = {k: v for k, v in ORDER.items() if k != "timestamp"}
    assert "timestamp" in errors_of(compile_mapping(ISSUE_MAPPING), payload)


@pytest.mark.parametrize("bad", ["01/05/2024 12:00", "2024-05-01T12:00:00", "soon", None, {"t": 1}])
def test_unparseable_time_is_a_422_naming_the_field(bad: Any) -> None:
    """An unparseable time is reported on its payload field."""
    errors = errors_of(compile_mapping(ISSUE_MAPPING), {**ORDER, "timestamp": bad})
    assert list(errors) == ["timestamp"]


def test_missing_data_field_without_default_is_named() -> None:
    """A selected data field that is absent and has no default is a 422 naming the payload field."""
    payload = {k: v for k, v in ORDER.items() if k != "currency"}
    errors = errors_of(compile_mapping(ISSUE_MAPPING), payload)
    assert errors == {"currency": "required by the mapping (data.currency)"}


def test_every_problem_is_reported_at_once() -> None:
    """Template, time and data problems of one payload come back together in one InputError."""
    errors = errors_of(compile_mapping(ISSUE_MAPPING), {"timestamp": "never"})
    assert set(errors) == {"event_type", "timestamp", "transaction_id", "amount", "currency"}


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("legacy.orders.{event_type}", 'must start with "custom."'),
        ("{vendor}.orders", 'must start with "custom."'),
        ("custom.{event_type!r}", "no format spec"),
        ("custom.{event_type:>10}", "no format spec"),
        ("custom.{event_type", "bad template"),
        ("custom.{a..b}", "not a field path"),
    ],
)
def test_bad_templates_are_config_errors(template: str, fragment: str) -> None:
    """Templates that cannot yield a `custom.` type, or use format syntax, fail at load with their path."""
    with pytest.raises(ConfigError) as caught:
        compile_mapping({**ISSUE_MAPPING, "event_type": template})
    assert caught.value.path == "ingest.sources[0].mapping.event_type"
    assert fragment in caught.value.message


def test_bad_field_path_in_data_is_a_config_error() -> None:
    """A data selection with an empty path segment fails at load, naming the data member."""
    with pytest.raises(ConfigError) as caught:
        compile_mapping({**ISSUE_MAPPING, "data": {"x": "customer..id"}})
    assert caught.value.path == "ingest.sources[0].mapping.data.x.field"
