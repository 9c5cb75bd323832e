"""Loading a config: YAML file -> `${VAR}` expanded -> `CCBRIDGE_*` overrides -> one validation.

Every problem found on the way is collected and raised together as one ConfigError, each naming
its key path (or the variable that caused it), so `ccbridge check-config` lists them all at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ccbridge.config.environment import apply_overrides, attribute, expand_vars, find_overrides
from ccbridge.config.model import Config
from ccbridge.config.problems import Problem, problems, problems_error
from ccbridge.errors import ConfigError


def parse_config(raw: Any, base_dir: str = ".", env: Mapping[str, str] | None = None) -> Config:
    """Validate an already-loaded document with `env` (default: `os.environ`) applied to it.

    `${VAR}` in the document's strings read `env`; then `CCBRIDGE_*` variables of `env` set keys
    over the document (see `ccbridge.config.environment`). Raises a ConfigError carrying every
    problem; a key is reported once even when several checks fail on it.
    """
    environment = os.environ if env is None else env
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("", "the config file must hold a mapping at the top level")
    document, found = expand_vars(raw, environment)
    overrides, wrong = find_overrides(environment, Config)
    found += wrong
    found += apply_overrides(document, overrides)
    try:
        config = Config.model_validate({**document, "base_dir": base_dir})
    except ValidationError as exc:
        found += _new(attribute(problems(exc), overrides), found)
    if found:
        raise problems_error(found)
    return config


def _new(candidates: list[Problem], known: list[Problem]) -> list[Problem]:
    """`candidates` whose key has no problem yet (an unset `${VAR}` fails validation a second time)."""
    seen = {path for path, _ in known}
    return [p for p in candidates if p[0] not in seen]


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read a YAML file and `parse_config` it; relative paths in it start at the file's folder.

    Errors name the key path, or the line for YAML syntax errors."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {file}: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError("", f"{file} is not valid YAML{where}") from exc
    return parse_config(raw, base_dir=str(file.resolve().parent), env=env)


def resolve_path(config: Config, path: str) -> Path:
    """A path from the config, relative to the config file's folder."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else Path(config.base_dir) / candidate
