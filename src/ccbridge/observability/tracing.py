"""OpenTelemetry spans for ingest, store commit and delivery attempt, when configured.

Contract:
* `build_tracing(config)` gives `NoTracing` unless `tracing.exporter` is `otlp`; `NoTracing` imports
  nothing of OpenTelemetry, so a server without the optional extra `ccbridge[otel]` never does.
  Configured without the extra, it raises `ConfigError` naming `tracing.exporter`.
* `Tracing.span(name, parent=..., attributes=...)` is a context manager yielding a `SpanHandle`. A
  span started with `parent` (a W3C `traceparent`, from the request or from the stored event)
  continues that trace; without one it continues the span current in this task (so a store commit
  nests under the ingest span that awaits it), or starts a new trace.
* `SpanHandle.traceparent()` is the `traceparent` naming the span, for the event to carry and the
  delivery to send, so the consumer's work joins the trace; None when not tracing (callers then
  forward the traceparent they were given, unchanged).
* An exception leaving a span marks it as an error and is re-raised, never swallowed.
Spans are exported in batches off the event loop (the SDK's own thread); tests pass an exporter
(the SDK's `InMemorySpanExporter`) that is fed synchronously.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from ccbridge.config.tracing import TracingConfig
from ccbridge.errors import ConfigError

Attributes = Mapping[str, str | int | float | bool]


class SpanHandle(Protocol):
    def traceparent(self) -> str | None: ...

    def set(self, key: str, value: str | int | float | bool) -> None: ...


class Tracing(Protocol):
    def span(
        self, name: str, *, parent: str | None = None, attributes: Attributes | None = None
    ) -> contextlib.AbstractContextManager[SpanHandle]: ...

    def shutdown(self) -> None: ...


class _NoSpan:
    def traceparent(self) -> str | None:
        return None

    def set(self, key: str, value: str | int | float | bool) -> None:
        return None


_NO_SPAN = _NoSpan()


_NO_SPAN_CONTEXT: contextlib.AbstractContextManager[SpanHandle] = contextlib.nullcontext(_NO_SPAN)
"""One shared context for every span not recorded: entering it costs a method call."""


class NoTracing:
    """Tracing off: spans cost a method call and record nothing."""

    def span(
        self, name: str, *, parent: str | None = None, attributes: Attributes | None = None
    ) -> contextlib.AbstractContextManager[SpanHandle]:
        return _NO_SPAN_CONTEXT

    def shutdown(self) -> None:
        return None


class _OtelSpan:
    def __init__(self, span: Any, propagator: Any) -> None:
        self._span = span
        self._propagator = propagator

    def traceparent(self) -> str | None:
        from opentelemetry import trace

        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=trace.set_span_in_context(self._span))
        return carrier.get("traceparent")

    def set(self, key: str, value: str | int | float | bool) -> None:
        self._span.set_attribute(key, value)


class OtelTracing:
    """Spans through an SDK `TracerProvider` of its own (never the process-global one, so several
    servers in one process, as in tests, keep their spans apart)."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self._provider = provider
        self._tracer = provider.get_tracer("ccbridge")
        self._propagator = TraceContextTextMapPropagator()

    @contextlib.contextmanager
    def span(
        self, name: str, *, parent: str | None = None, attributes: Attributes | None = None
    ) -> Iterator[SpanHandle]:
        context = self._propagator.extract({"traceparent": parent}) if parent else None
        with self._tracer.start_as_current_span(
            name, context=context, attributes=dict(attributes or {})
        ) as span:
            yield _OtelSpan(span, self._propagator)

    def shutdown(self) -> None:
        self._provider.shutdown()


def build_tracing(config: TracingConfig, exporter: Any = None) -> Tracing:
    """The tracing `config` asks for; `exporter` (a SpanExporter) replaces OTLP, fed synchronously."""
    if config.exporter == "none" and exporter is None:
        return NoTracing()
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError:
        raise ConfigError(
            "tracing.exporter", "needs the optional extra: pip install 'ccbridge[otel]'"
        ) from None
    provider = TracerProvider(
        resource=Resource.create({"service.name": config.service_name}),
        sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)),
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ConfigError(
                "tracing.exporter", "needs the optional extra: pip install 'ccbridge[otel]'"
            ) from None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=config.endpoint)))
    return OtelTracing(provider)
