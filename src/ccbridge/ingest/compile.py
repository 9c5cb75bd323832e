"""Compile the `ingest:` section once, at load: validate, read key files, compile schemas and patterns.

Everything that can be wrong with the configuration surfaces here as one ConfigError listing each
problem with its key path (`ingest.sources[0].schema: cannot read schema file ...`), before the
server serves: every key file and every source is compiled, so one run reports them all. Relative
paths (key files, schemas) resolve against `base_dir`, the config file's folder. This does blocking
file I/O: call it before the event loop serves requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from ccbridge.config import config_error
from ccbridge.config.problems import Problem, problems_error
from ccbridge.core.schemas import CompiledSchema, load_schema
from ccbridge.errors import ConfigError
from ccbridge.ingest.claims import ClaimsPolicy
from ccbridge.ingest.config import IngestConfig, JwtConfig, RateLimitConfig, SourceConfig
from ccbridge.ingest.jwt_verify import JwtSettings
from ccbridge.ingest.keys import load_pem_file, load_pem_text
from ccbridge.ingest.mapping import CompiledMapping, FieldPath
from ccbridge.rules import PatternError, compile_pattern


class Matcher(Protocol):
    def matches(self, event: dict[str, Any]) -> bool: ...


@dataclass(frozen=True, slots=True)
class CompiledSource:
    """One source ready to use: `matcher` None takes every payload, `schema` None skips validation."""

    name: str
    matcher: Matcher | None
    schema: CompiledSchema | None
    business_key: FieldPath | None
    mapping: CompiledMapping
    on_bad_time: str = "reject"


@dataclass(frozen=True, slots=True)
class CompiledIngest:
    """The whole gateway configuration, compiled; `jwks_*` are None/unused without a JWKS URL."""

    jwt: JwtSettings
    jwks_url: str | None
    jwks_min_refresh_seconds: float
    jwks_cache_seconds: float
    jwks_timeout_seconds: float
    sources: tuple[CompiledSource, ...]
    rate_limit: RateLimitConfig | None
    max_body_bytes: int


T = TypeVar("T")


class _Problems:
    """Collects the ConfigErrors of independent steps so that one run reports all of them."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def run(self, step: Callable[[], T]) -> T | None:
        try:
            return step()
        except ConfigError as exc:
            self.found += exc.problems
            return None

    def raise_any(self) -> None:
        if self.found:
            raise problems_error(self.found)


def _resolve(base_dir: Path, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base_dir / candidate


def _compile_jwt(config: JwtConfig, base_dir: Path, where: str) -> JwtSettings:
    check = _Problems()
    loaded = [
        check.run(
            partial(
                load_pem_file,
                _resolve(base_dir, f.path),
                f.kid,
                config.algorithms,
                f"{where}.public_key_files[{i}]",
            )
        )
        for i, f in enumerate(config.public_key_files)
    ] + [
        check.run(
            partial(load_pem_text, k.pem_bytes(), k.kid, config.algorithms, f"{where}.public_key_pem[{i}]")
        )
        for i, k in enumerate(config.public_key_pem)
    ]
    check.raise_any()
    keys = tuple(key for key in loaded if key is not None)
    return JwtSettings(
        algorithms=frozenset(config.algorithms),
        file_keys=keys,
        claims=ClaimsPolicy(
            issuer=tuple(config.issuer) if config.issuer else None,
            audience=tuple(config.audience) if config.audience else None,
            leeway=config.leeway_seconds,
            required=tuple(config.effective_required_claims()),
        ),
        retry_after=max(1.0, config.jwks_min_refresh_seconds),
        token_cache_size=config.token_cache_size,
    )


def _compile_source(source: SourceConfig, base_dir: Path, where: str) -> CompiledSource:
    matcher: Matcher | None = None
    if source.match is not None:
        try:
            matcher = compile_pattern(source.match)
        except PatternError as exc:
            raise ConfigError(f"{where}.match" + (f".{exc.path}" if exc.path else ""), exc.reason) from exc
    schema = None
    if source.schema_path is not None:
        schema = load_schema(_resolve(base_dir, source.schema_path), f"{where}.schema")
    business_key = None
    if source.business_key is not None:
        business_key = FieldPath.parse(source.business_key, f"{where}.business_key")
    mapping = CompiledMapping.compile(source.mapping, f"{where}.mapping")
    return CompiledSource(source.name, matcher, schema, business_key, mapping, source.on_bad_time)


def compile_ingest(
    config: IngestConfig | Mapping[str, Any], base_dir: str | Path = ".", root: str = "ingest"
) -> CompiledIngest:
    """Validate and compile the `ingest:` section; one ConfigError listing every problem, each
    naming its key path (every key file and every source is tried)."""
    if isinstance(config, IngestConfig):
        section = config
    else:
        try:
            section = IngestConfig.model_validate(config)
        except ValidationError as exc:
            raise config_error(exc, root) from None
    base = Path(base_dir)
    check = _Problems()
    jwt = check.run(partial(_compile_jwt, section.jwt, base, f"{root}.jwt"))
    sources = [
        check.run(partial(_compile_source, source, base, f"{root}.sources[{i}]"))
        for i, source in enumerate(section.sources)
    ]
    check.raise_any()
    assert jwt is not None  # raise_any raised otherwise
    return CompiledIngest(
        jwt=jwt,
        jwks_url=section.jwt.jwks_url,
        jwks_min_refresh_seconds=section.jwt.jwks_min_refresh_seconds,
        jwks_cache_seconds=section.jwt.jwks_cache_seconds,
        jwks_timeout_seconds=section.jwt.jwks_timeout_seconds,
        sources=tuple(s for s in sources if s is not None),
        rate_limit=section.rate_limit,
        max_body_bytes=section.max_body_bytes,
    )
