"""The `tracing:` section: OpenTelemetry spans exported over OTLP, off unless configured."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ccbridge.config.base import Strict


class TracingConfig(Strict):
    """`exporter: otlp` sends spans (ingest, store commit, delivery attempt) to `endpoint` over OTLP/HTTP;
    it needs the optional extra `ccbridge[otel]`. `none` (the default) imports no OpenTelemetry at all."""

    exporter: Literal["none", "otlp"] = "none"
    endpoint: str = Field(
        "http://127.0.0.1:4318/v1/traces", description="the collector's OTLP/HTTP traces URL"
    )
    service_name: str = Field("ccbridge", min_length=1)
    sample_ratio: float = Field(1.0, ge=0.0, le=1.0, description="share of new traces recorded")
