"""The `ingest:` section's models, defined with the root config in `ccbridge.config.ingest` (so
loading a config never imports the gateway) and re-exported here for the gateway's modules."""

from __future__ import annotations

from ccbridge.config.ingest import (
    DEFAULT_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    DataEntry,
    EventTimeSpec,
    IngestConfig,
    JwtConfig,
    KeyFile,
    MappingConfig,
    RateLimitConfig,
    SourceConfig,
)

__all__ = [
    "DEFAULT_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "DataEntry",
    "EventTimeSpec",
    "IngestConfig",
    "JwtConfig",
    "KeyFile",
    "MappingConfig",
    "RateLimitConfig",
    "SourceConfig",
]
