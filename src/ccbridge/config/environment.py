"""The environment's two ways into a config: `${VAR}` inside the file's values, and `CCBRIDGE_*`
variables that set keys over the file (as containers are configured).

An override is `CCBRIDGE_<KEY>[__<KEY>...]`: `__` between levels, key names in any case:
`CCBRIDGE_SERVER__PORT=9000`, `CCBRIDGE_DELIVERY__ENABLED=false`, `CCBRIDGE_INGEST__JWT__ISSUER=erp`,
`CCBRIDGE_EVENT_TYPES='["contact.created", "custom.x"]'`. Each sets one key's whole value over
what the file says (after the file's `${VAR}` are expanded; the variable's own text is not expanded).
A key that holds text takes the variable as it is (a secret `0123` stays `0123`); any other key
parses it as YAML, which includes JSON: numbers, `true`/`false`, `null`, `[...]`, `{...}`. Keys
inside lists and free-form mappings (`auth.clients`, `publish.event_types`) have no variables of
their own: set the list or mapping whole. A variable without `__` that names no top-level key is
not an override and is left alone: it may be one that a `${VAR}` of the file reads.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, SecretStr

from ccbridge.config.problems import Problem

PREFIX = "CCBRIDGE_"
LEVEL = "__"

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_vars(document: Any, env: Mapping[str, str]) -> tuple[Any, list[Problem]]:
    """A copy of `document` with `${VAR}` / `${VAR:-default}` substituted in string values only (so no
    YAML can be injected), and a problem for each variable that is unset and has no default."""
    found: list[Problem] = []

    def expand(value: Any, path: str) -> Any:
        if isinstance(value, str):

            def replace(match: re.Match[str]) -> str:
                name, default = match.group(1), match.group(2)
                if name in env:
                    return env[name]
                if default is not None:
                    return default
                found.append((path, f"environment variable {name} is not set"))
                return match.group(0)

            return _VAR.sub(replace, value)
        if isinstance(value, dict):
            return {k: expand(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [expand(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    return expand(document, ""), found


@dataclass(frozen=True, slots=True)
class Override:
    """One `CCBRIDGE_*` variable: the key path it sets (as the file spells the keys) and the value."""

    variable: str
    path: tuple[str, ...]
    value: Any

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def covers(self, path: str) -> bool:
        """Whether the key at `path` (`server.port`, `auth.clients[0].id`) is this override's value."""
        return path == self.dotted or path.startswith((self.dotted + ".", self.dotted + "["))


def find_overrides(env: Mapping[str, str], model: type[BaseModel]) -> tuple[list[Override], list[Problem]]:
    """The overrides `env` holds for `model` (the root config), and a problem for each variable that
    names an unknown key, a key inside a whole-value field, or a value that is not YAML."""
    overrides: dict[tuple[str, ...], Override] = {}
    found: list[Problem] = []
    for variable in sorted(env):
        if not variable.upper().startswith(PREFIX):
            continue
        parts = variable[len(PREFIX) :].lower().split(LEVEL)
        path, annotation, problem = _walk(model, parts)
        if path is None:
            continue
        if problem is not None:
            found.append((".".join(path), f"{problem} (from {variable})"))
            continue
        try:
            value = env[variable] if _takes_text(annotation) else yaml.safe_load(env[variable])
        except yaml.YAMLError:
            found.append((".".join(path), f"{variable} is not a YAML or JSON value"))
            continue
        key = tuple(path)
        if key in overrides:
            found.append((".".join(path), f"set by both {overrides[key].variable} and {variable}"))
            continue
        overrides[key] = Override(variable, key, value)
    return list(overrides.values()), found


def _walk(model: type[BaseModel], parts: list[str]) -> tuple[list[str] | None, Any, str | None]:
    """(key path, the key's type, problem) for a variable's `parts`; path None: not an override."""
    path: list[str] = []
    current: type[BaseModel] | None = model
    annotation: Any = None
    for part in parts:
        if current is None:
            return path, None, "is set whole (YAML or JSON); what it holds has no variables of its own"
        field = _field(current, part)
        if field is None:
            if len(parts) == 1:
                return None, None, None
            return [*path, part], None, "unknown key" if part else "empty key name between '__'"
        key, annotation = field
        path.append(key)
        current = _model_of(annotation)
    return path, annotation, None


def _field(model: type[BaseModel], part: str) -> tuple[str, Any] | None:
    """(key as the file spells it, its type) of the field of `model` that `part` names in any case."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        if not info.exclude and part in (name.lower(), key.lower()):
            return key, info.annotation
    return None


def _members(annotation: Any) -> tuple[Any, ...]:
    """`X | None` -> (X, None); `Annotated[X, ...]` -> (X,); anything else -> (itself,)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return tuple(m for arg in get_args(annotation) for m in _members(arg))
    return (annotation,)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a key holds (`api: ApiConfig | None` -> ApiConfig), or None for any other value."""
    models = [m for m in _members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
    return models[0] if len(models) == 1 else None


def _takes_text(annotation: Any) -> bool:
    """A key whose value is text (str, a secret, a choice of words): the variable is used verbatim."""
    for member in _members(annotation):
        if member in (str, SecretStr):
            return True
        if get_origin(member) is Literal and any(isinstance(a, str) for a in get_args(member)):
            return True
    return False


def apply_overrides(document: dict[str, Any], overrides: list[Override]) -> list[Problem]:
    """Set each override's value in `document` (in place), shallower paths first so that
    `CCBRIDGE_SERVER='{...}'` and `CCBRIDGE_SERVER__PORT` combine; missing sections are created."""
    found: list[Problem] = []
    for override in sorted(overrides, key=lambda o: (len(o.path), o.variable)):
        node = document
        for depth, key in enumerate(override.path[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                where = ".".join(override.path[: depth + 1])
                found.append(
                    (where, f"is not a mapping in the file, so {override.variable} cannot set a key")
                )
                break
            node = child
        else:
            node[override.path[-1]] = override.value
    return found


def attribute(problems: list[Problem], overrides: list[Override]) -> list[Problem]:
    """`problems` with the variable named on each one an override caused (` (from CCBRIDGE_...)`)."""
    out: list[Problem] = []
    for path, message in problems:
        causes = [o for o in overrides if o.covers(path)]
        cause = max(causes, key=lambda o: len(o.path)).variable if causes else None
        out.append((path, message if cause is None else f"{message} (from {cause})"))
    return out
