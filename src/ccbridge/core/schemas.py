"""JSON Schema 2020-12 validation, compiled once, reporting every error with its path.

The publisher (seed 004) and the ingestion gateway (seed 003) both validate payloads before they
reach the bus; they share this so their error lists read the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from ccbridge.errors import ConfigError, FieldError


def _json_path(parts: list[str | int], root: str) -> str:
    path = root
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "$"


class CompiledSchema:
    """A 2020-12 validator with formats checked (`date-time`, `email`, ...)."""

    def __init__(self, schema: dict[str, Any], name: str = "schema") -> None:
        try:
            self._validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
        except (ValueError, jsonschema_rs.ValidationError) as exc:  # an invalid schema document
            raise ConfigError(name, f"not a valid JSON Schema: {exc}") from exc
        self.schema = schema
        self.name = name

    def errors(self, instance: Any, root: str = "") -> list[FieldError]:
        """Every violation, sorted by path so messages are stable across runs."""
        found = [
            FieldError(_json_path(list(err.instance_path), root), err.message)
            for err in self._validator.iter_errors(instance)
        ]
        return sorted(found, key=lambda e: (e.field, e.message))


def load_schema(path: str | Path, config_key: str = "schema") -> CompiledSchema:
    """Read and compile a schema file; a missing or invalid file is a ConfigError naming `config_key`."""
    file = Path(path)
    try:
        document = orjson.loads(file.read_bytes())
    except OSError as exc:
        raise ConfigError(config_key, f"cannot read schema file {file}: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise ConfigError(config_key, f"schema file {file} is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(config_key, f"schema file {file} must hold a JSON object")
    return CompiledSchema(document, name=config_key)
