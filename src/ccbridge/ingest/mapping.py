"""Legacy payload -> the Genesys-dialect envelope of seed 003 (`eventType`, `eventTime`, `source`, `data`).

Field paths are dotted (`customer.id`); a segment of digits indexes a list (`items.0.sku`). A field
is missing when a segment is absent; a present `null` is a value and is copied as is. Values are
copied unchanged (no coercion), so every field the mapping names is preserved. Every problem of one
payload is reported together as one InputError naming the payload fields at fault.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any

import orjson

from ccbridge.errors import ConfigError, FieldError, InputError
from ccbridge.ingest.config import MappingConfig
from ccbridge.ingest.times import normalize_time

_MISSING: Any = object()
_SEGMENT_VALUE = re.compile(r"^[A-Za-z0-9_:-][A-Za-z0-9_.:-]{0,127}$", re.ASCII)
_EVENT_TYPE = re.compile(r"^custom(\.[A-Za-z0-9_:-]+)+$", re.ASCII)
_MAX_EVENT_TYPE = 255


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A compiled dotted path into a payload."""

    text: str
    parts: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, where: str) -> FieldPath:
        parts = tuple(text.split("."))
        if not text or any(not part for part in parts):
            raise ConfigError(where, f'"{text}" is not a field path (dotted names, e.g. customer.id)')
        return cls(text, parts)

    def get(self, payload: Any) -> Any:
        """The value at this path, or `MISSING`."""
        value = payload
        for part in self.parts:
            if isinstance(value, dict):
                value = value.get(part, _MISSING)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return _MISSING
            if value is _MISSING:
                return _MISSING
        return value


MISSING = _MISSING


def _fresh(value: Any) -> Any:
    """A constant as a new object per event, so no two events share a mutable dict or list."""
    return orjson.loads(orjson.dumps(value)) if isinstance(value, dict | list) else value


@dataclass(frozen=True, slots=True)
class Template:
    """`custom.legacy.orders.{event_type}`: literal text and `{field.path}` slots (`{{` is a brace)."""

    pieces: tuple[str | FieldPath, ...]

    @classmethod
    def parse(cls, text: str, where: str) -> Template:
        pieces: list[str | FieldPath] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ConfigError(where, f"bad template: {exc}") from None
        for literal, name, spec, conversion in parsed:
            if literal:
                pieces.append(literal)
            if name is not None:
                if spec or conversion:
                    raise ConfigError(where, f'"{{{name}}}": no format spec or conversion allowed')
                pieces.append(FieldPath.parse(name, where))
        if not pieces or not isinstance(pieces[0], str) or not pieces[0].startswith("custom."):
            raise ConfigError(where, 'must start with "custom." (e.g. custom.{vendor}.{category}.{action})')
        return cls(tuple(pieces))

    def render(self, payload: Any, errors: list[FieldError]) -> str:
        out: list[str] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            value = piece.get(payload)
            if value is MISSING:
                errors.append(FieldError(piece.text, "required by the event type template"))
            elif isinstance(value, bool) or not isinstance(value, str | int):
                errors.append(FieldError(piece.text, "must be a string or integer for the event type"))
            elif not _SEGMENT_VALUE.match(str(value)):
                errors.append(FieldError(piece.text, "letters, digits, '_', '-', ':' or '.' only"))
            else:
                out.append(str(value))
        return "".join(out)


@dataclass(frozen=True, slots=True)
class DataRule:
    """One `data` member: copy `path` (with `default` when missing), or a constant."""

    name: str
    path: FieldPath | None
    value: Any = None
    has_default: bool = False


@dataclass(frozen=True, slots=True)
class Mapped:
    """The envelope fields a mapping produced."""

    event_type: str
    event_time: str
    source: dict[str, Any]
    data: dict[str, Any]
    time_fallback: dict[str, str] = field(default_factory=dict)
    """Set when the event time was replaced by the time received (`on_bad_time: now`): metadata
    saying why (`eventTimeFallback`) and, when there was one, the original (`originalEventTime`)."""


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """A mapping checked at load; `apply` is pure and reports every problem at once."""

    event_type: Template
    event_time: FieldPath
    source: dict[str, Any]
    data: tuple[DataRule, ...]

    @classmethod
    def compile(cls, config: MappingConfig, where: str) -> CompiledMapping:
        rules = []
        for name, entry in config.data.items():
            at = f"{where}.data.{name}"
            if entry.is_const:
                rules.append(DataRule(name, None, entry.const))
            else:
                path = FieldPath.parse(entry.field or "", f"{at}.field")
                rules.append(DataRule(name, path, entry.default, entry.has_default))
        return cls(
            event_type=Template.parse(config.event_type, f"{where}.event_type"),
            event_time=FieldPath.parse(config.event_time.field, f"{where}.event_time.field"),
            source=dict(config.source),
            data=tuple(rules),
        )

    def apply(self, payload: dict[str, Any], now: str | None = None) -> Mapped:
        """The envelope for `payload`; InputError listing every missing or unusable field.

        `now` (RFC 3339) given means `on_bad_time: now`: a missing or unparseable event time becomes
        `now` instead of an error, and `Mapped.time_fallback` says so."""
        errors: list[FieldError] = []
        event_type = self.event_type.render(payload, errors)
        if not errors and (len(event_type) > _MAX_EVENT_TYPE or not _EVENT_TYPE.match(event_type)):
            errors.append(FieldError("eventType", f'"{event_type[:80]}" is not a valid custom event type'))
        fallback: dict[str, str] = {}
        event_time = self._time(payload, errors, now, fallback)
        data = self._data(payload, errors)
        if errors:
            raise InputError(errors, title="payload cannot be mapped")
        return Mapped(event_type, event_time, _fresh(self.source), data, fallback)

    def _time(self, payload: Any, errors: list[FieldError], now: str | None, fallback: dict[str, str]) -> str:
        value = self.event_time.get(payload)
        if value is MISSING:
            reason = "required: the event time"
        else:
            try:
                return normalize_time(value)
            except ValueError as exc:
                reason = str(exc)
        if now is None:
            errors.append(FieldError(self.event_time.text, reason))
            return ""
        fallback["eventTimeFallback"] = f"{self.event_time.text}: {reason}"
        if value is not MISSING:
            fallback["originalEventTime"] = value if isinstance(value, str) else orjson.dumps(value).decode()
        return now

    def _data(self, payload: Any, errors: list[FieldError]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for rule in self.data:
            if rule.path is None:
                data[rule.name] = _fresh(rule.value)
                continue
            value = rule.path.get(payload)
            if value is not MISSING:
                data[rule.name] = value
            elif rule.has_default:
                data[rule.name] = _fresh(rule.value)
            else:
                errors.append(FieldError(rule.path.text, f"required by the mapping (data.{rule.name})"))
        return data
