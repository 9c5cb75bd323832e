"""Every Prometheus metric ccbridge exports, in one registry per server (tests run several)."""

from __future__ import annotations

import os

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
            "ccbridge_subscription_writes", "Subscription API writes", ["operation"], registry=r
        )
        self.process_info = Gauge(
            "ccbridge_process_info",
            "Always 1; its labels say which process answered (worker 0 when serving without --workers)",
            ["pid", "worker"],
            registry=r,
        )
        self.identify(0)
        self._add_endpoint_health(r)

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
