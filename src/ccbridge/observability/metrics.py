"""Every Prometheus metric ccbridge exports, in one registry per server (tests run several)."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ccbridge.core.ports import Backlog


class Metrics:
    """Seed 001's success/error counters and the delivery pipeline's health.

    Each attribute is named as the metric it exports, less the `ccbridge_` prefix (and the `_total`
    that Prometheus appends to counters)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_received = Counter(
            "ccbridge_events_received", "Events accepted and stored", ["dialect", "outcome"], registry=r
        )
        self.deliveries = Counter(
            "ccbridge_deliveries",
            "Delivery attempts by outcome and endpoint type",
            ["outcome", "endpoint_type"],
            registry=r,
        )
        self.delivery_retries = Counter(
            "ccbridge_delivery_retries", "Attempts re-scheduled", ["endpoint_type"], registry=r
        )
        self.dead_letters = Counter(
            "ccbridge_dead_letters", "Deliveries that became dead letters", ["endpoint_type"], registry=r
        )
        self.deliveries_in_flight = Gauge(
            "ccbridge_deliveries_in_flight", "Deliveries leased and in flight", registry=r
        )
        self.deliveries_pending = Gauge(
            "ccbridge_deliveries_pending",
            "Deliveries not yet settled (in flight and scheduled retries included), at scrape time",
            registry=r,
        )
        self.deliveries_retrying = Gauge(
            "ccbridge_deliveries_retrying", "Pending deliveries that failed an attempt", registry=r
        )
        self.deliveries_pending_limit = Gauge(
            "ccbridge_deliveries_pending_limit",
            "limits.max_pending: beyond it ingestion answers 503 (0 when there is no limit)",
            registry=r,
        )
        self.events_refused = Counter(
            "ccbridge_events_refused",
            "Events refused with 503 because limits.max_pending deliveries were pending (backpressure)",
            registry=r,
        )
        self._refused_seen = 0
        self.delivery_lag_seconds = Gauge(
            "ccbridge_delivery_lag_seconds",
            "How long the oldest due, unclaimed delivery has waited (0 when none waits)",
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "ccbridge_delivery_seconds",
            "Time of one delivery attempt",
            ["endpoint_type"],
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.inbound_webhooks = Counter(
            "ccbridge_inbound_webhooks", "POST /events by result", ["result"], registry=r
        )
        self.ingest_requests = Counter(
            "ccbridge_ingest_requests", "POST /ingest by result", ["result"], registry=r
        )
        self.subscription_writes = Counter(
            "ccbridge_subscription_writes",
            "Subscription API writes by operation and outcome (success; refused: a 4xx; failed: a 5xx)",
            ["operation", "outcome"],
            registry=r,
        )
        self.process_info = Gauge(
            "ccbridge_process_info",
            "Always 1; its labels say which process answered (worker 0 when serving without --workers)",
            ["pid", "worker"],
            registry=r,
        )
        self.identify(0)
        self._add_endpoint_health(r)
        self._connector_metrics()
        self._pipeline_metrics(r)

    def identify(self, worker: int) -> None:
        """Label this registry with the current process and its worker number (`serve --workers`):
        several processes behind one port each answer /metrics with their own figures."""
        self.process_info.clear()
        self.process_info.labels(pid=str(os.getpid()), worker=str(worker)).set(1)

    def observe_backlog(self, backlog: Backlog, now: float) -> None:
        """The store's figures at scrape time; the refusals count on from the store's own tally."""
        self.deliveries_pending.set(backlog.pending)
        self.deliveries_pending_limit.set(backlog.limit or 0)
        if backlog.refused > self._refused_seen:
            self.events_refused.inc(backlog.refused - self._refused_seen)
            self._refused_seen = backlog.refused
        self.deliveries_retrying.set(backlog.retrying)
        self.delivery_lag_seconds.set(
            0.0 if backlog.oldest_due is None else max(0.0, now - backlog.oldest_due)
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def _add_endpoint_health(self, r: CollectorRegistry) -> None:
        """Endpoint health (`delivery.breaker`, `rateLimitPerSecond`)."""
        self.endpoint_breaker_state = Gauge(
            "ccbridge_endpoint_breaker_state",
            "Each endpoint's circuit breaker as this process last saw it: 0 closed, 1 open, 2 disabled",
            ["subscription_id", "endpoint"],
            registry=r,
        )
        self.deliveries_deferred = Counter(
            "ccbridge_deliveries_deferred",
            "Deliveries re-queued without an attempt: over the endpoint's rate limit, or its breaker open",
            ["reason"],
            registry=r,
        )

    # --- connectors -------------------------------------------------------------------------------

    def _connector_metrics(self) -> None:
        """Gauges read at scrape time from the connectors' stored status (whichever replica holds each):
        messages and gaps count since the current holder took the connector's lease."""
        labels = ["connector", "kind"]
        r = self.registry
        self.connector_connected = Gauge(
            "ccbridge_connector_connected",
            "1 when every topic or session of the connector is live",
            labels,
            registry=r,
        )
        self.connector_messages = Gauge(
            "ccbridge_connector_messages",
            "Platform events stored by the connector's current holder",
            labels,
            registry=r,
        )
        self.connector_gaps = Gauge(
            "ccbridge_connector_gaps",
            "Gaps (windows without a live subscription) its current holder reported",
            labels,
            registry=r,
        )

    def observe_connectors(self, entities: list[dict[str, Any]]) -> None:
        """Each connector as `GET /api/v2/connectors` renders it."""
        for gauge in (self.connector_connected, self.connector_messages, self.connector_gaps):
            gauge.clear()
        for entity in entities:
            labels = (str(entity["name"]), str(entity["kind"]))
            self.connector_connected.labels(*labels).set(1 if entity.get("connected") else 0)
            self.connector_messages.labels(*labels).set(float(entity.get("messages") or 0))
            self.connector_gaps.labels(*labels).set(float(entity.get("gaps") or 0))

    def _pipeline_metrics(self, r: CollectorRegistry) -> None:
        """Issue 18's latency, per-endpoint, store and token figures."""
        self.ingest_ack_seconds = Histogram(
            "ccbridge_ingest_ack_seconds",
            "From a request taking an event to its 2xx answer (the event then stored), by route",
            ["route"],
            registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.ingest_to_delivery_seconds = Histogram(
            "ccbridge_ingest_to_delivery_seconds",
            "From an event's receipt to a delivery of it being accepted, retries included",
            ["endpoint_type"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
        )
        self.endpoint_deliveries = Counter(
            "ccbridge_endpoint_deliveries",
            "Delivery attempts by endpoint (URL, credentials masked), status class (2xx..5xx, or"
            " none without an HTTP status) and outcome (delivered, retry, failed)",
            ["endpoint", "status_class", "outcome"],
            registry=r,
        )
        self.store_commit_batch_size = Histogram(
            "ccbridge_store_commit_batch_size",
            "Writes committed together in one store transaction (group commit)",
            registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        )
        self.token_requests = Counter(
            "ccbridge_token_requests",
            "POST /oauth/token by result: issued, or the OAuth2 error code",
            ["result"],
            registry=r,
        )
        self.store_listener_connected = Gauge(
            "ccbridge_store_listener_connected",
            "1 while the PostgreSQL store's LISTEN session (other replicas' wake-ups and subscription"
            " changes) is connected, 0 while it reconnects; absent on SQLite, which has none",
            registry=None,  # registered by the first observation: only a PostgreSQL store makes one
        )
        self._listener_registered = False

    def observe_store_listener(self, connected: bool) -> None:
        """The PostgreSQL store's listener state, told on every change."""
        if not self._listener_registered:
            self.registry.register(self.store_listener_connected)
            self._listener_registered = True
        self.store_listener_connected.set(1 if connected else 0)


def status_class(status: int | None) -> str:
    """`2xx`..`5xx` for an HTTP status, `none` without one (gRPC, queues, a connection error)."""
    return f"{status // 100}xx" if status is not None and 100 <= status <= 599 else "none"
