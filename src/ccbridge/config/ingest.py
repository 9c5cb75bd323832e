"""The gateway's `ingest:` section as pydantic models: shapes and plain value checks only.

A field of the root `Config`. Reading files (keys, schemas) and compiling patterns is a separate
step, `ccbridge.ingest.compile_ingest`, run before the server serves (and by `check-config`).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from ccbridge.config.base import Strict, config_problem, require_unique

#: Asymmetric JWS algorithms a token may use; HMAC and `none` can never be configured.
SUPPORTED_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("ES256", "ES384", "RS256")
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class KeyFile(Strict):
    """A PEM public key (or certificate); `kid` defaults to the file name without its extension."""

    path: str = Field(min_length=1)
    kid: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


class InlineKey(Strict):
    """A PEM public key given in the config itself (seed 003 reads it from `LEGACY_JWT_PUB_KEY`:
    `public_key_pem: ${LEGACY_JWT_PUB_KEY}`); `kid` defaults to its RFC 7638 thumbprint only.

    A PEM squeezed onto one line with literal `\\n` (as environment variables often hold it) is
    read as the multi-line PEM it stands for."""

    pem: str = Field(min_length=1)
    kid: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"pem": value} if isinstance(value, str) else value

    def pem_bytes(self) -> bytes:
        text = self.pem.strip()
        if "\n" not in text and "\\n" in text:
            text = text.replace("\\n", "\n")
        return text.encode()


class JwtConfig(Strict):
    """How caller tokens are verified; at least one key source (inline PEM, files or a JWKS URL)."""

    public_key_pem: list[InlineKey] = Field(default_factory=list)
    public_key_files: list[KeyFile] = Field(default_factory=list)
    jwks_url: str | None = None
    jwks_min_refresh_seconds: float = Field(30.0, ge=0)
    jwks_cache_seconds: float = Field(300.0, gt=0)
    jwks_timeout_seconds: float = Field(5.0, gt=0)
    issuer: list[str] | None = None
    audience: list[str] | None = None
    algorithms: list[str] = Field(default_factory=lambda: list(DEFAULT_ALGORITHMS), min_length=1)
    leeway_seconds: float = Field(30.0, ge=0, le=3600)
    required_claims: list[str] | None = None
    token_cache_size: int = Field(4096, ge=0)

    @field_validator("issuer", "audience", mode="before")
    @classmethod
    def _wrap(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("public_key_pem", mode="before")
    @classmethod
    def _one_pem(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | dict) else value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, algorithms: list[str]) -> list[str]:
        for alg in algorithms:
            if alg.lower() == "none":
                raise config_problem('algorithm "none" is not accepted')
            if alg.upper().startswith("HS"):
                raise config_problem(
                    f'HMAC algorithm "{alg}" is not accepted: tokens are verified with public keys'
                )
            if alg not in SUPPORTED_ALGORITHMS:
                raise config_problem(
                    f'unknown algorithm "{alg}"; one of {", ".join(sorted(SUPPORTED_ALGORITHMS))}'
                )
        return list(dict.fromkeys(algorithms))

    @field_validator("jwks_url")
    @classmethod
    def _https(cls, url: str | None) -> str | None:
        loopback = re.match(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)", url or "")
        if url is not None and not url.startswith("https://") and not loopback:
            raise config_problem("must be an https:// URL (plain http only on loopback)")
        return url

    @model_validator(mode="after")
    def _some_key_source(self) -> Self:
        if not self.public_key_pem and not self.public_key_files and self.jwks_url is None:
            raise config_problem("give public_key_pem, public_key_files or jwks_url (or several)")
        return self

    def effective_required_claims(self) -> list[str]:
        """`required_claims` as configured, else `exp` plus `iss`/`aud` when issuer/audience are set."""
        if self.required_claims is not None:
            return list(self.required_claims)
        implied = [("iss", self.issuer), ("aud", self.audience)]
        return ["exp", *(claim for claim, setting in implied if setting)]


class RateLimitConfig(Strict):
    """A budget per JWT `sub`: `burst` requests at once, then `per_subject_per_second` (GCRA,
    `core.rate_limit`), kept in the store so every process and replica on it shares one budget."""

    per_subject_per_second: float = Field(gt=0)
    burst: int | None = Field(None, ge=1)

    def capacity(self) -> int:
        """`burst`, defaulting to one second's worth of requests (at least 1)."""
        return self.burst if self.burst is not None else max(1, round(self.per_subject_per_second))


class EventTimeSpec(Strict):
    """The payload field holding the event time (RFC 3339 with offset, or epoch s/ms)."""

    field: str = Field(min_length=1)


class DataEntry(Strict):
    """One `data` member: a field path (shorthand string), `{field, default}` or `{const}`.

    `has_default` tells an explicit `default: null` from no default.
    """

    field: str | None = Field(None, min_length=1)
    default: Any = None
    const: Any = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"field": value}
        if not isinstance(value, dict):
            raise config_problem("must be a field path, {field, default} or {const}")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = self.model_fields_set
        if ("field" in given) == ("const" in given):
            raise config_problem("give exactly one of field or const")
        if "const" in given and "default" in given:
            raise config_problem("default only goes with field")
        return self

    @property
    def is_const(self) -> bool:
        return "const" in self.model_fields_set

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class MappingConfig(Strict):
    """Legacy payload -> Genesys envelope (`eventType`, `eventTime`, `source`, `data`)."""

    event_type: str = Field(min_length=1)
    event_time: EventTimeSpec
    source: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, DataEntry] = Field(default_factory=dict)


class SourceConfig(Strict):
    """One kind of legacy payload: which payloads it takes (`match`), its schema and mapping.

    `match` is an event pattern evaluated on the raw payload; omitted, the source takes every payload.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    match: dict[str, Any] | None = None
    schema_path: str | None = Field(None, alias="schema", min_length=1)
    business_key: str | None = Field(None, min_length=1)
    mapping: MappingConfig
    on_bad_time: Literal["reject", "now"] = Field(
        "reject",
        description="a missing or unparseable event time: reject (422) or use the time received, "
        "keeping the original in the event's metadata (seed 003's fallback)",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _SOURCE_NAME.match(name):
            raise config_problem("must be 1-64 letters, digits, '_', '-' or '.'")
        return name


class IngestConfig(Strict):
    """The whole `ingest:` section. Sources are tried in order; the first whose `match` fits wins."""

    jwt: JwtConfig
    sources: list[SourceConfig] = Field(min_length=1)
    rate_limit: RateLimitConfig | None = None
    max_body_bytes: int = Field(1_048_576, ge=1)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        require_unique([s.name for s in sources], "source names")
        return sources
