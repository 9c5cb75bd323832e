"""The overview's per-minute figures: counter differences between minutes, and the window's totals."""

from __future__ import annotations

from ccbridge.observability.history import MetricsHistory, Snapshot, quantile
from ccbridge.observability.metrics import Metrics
from ccbridge.testing.clock import ManualClock


def test_each_minute_shows_what_happened_in_it() -> None:
    """Events counted in minute m show in m's bar only; a minute without samples shows zero."""
    clock = ManualClock(60 * 1_000_000)
    metrics = Metrics()
    history = MetricsHistory(keep_minutes=5)
    history.observe(metrics, clock.now())
    metrics.events_received.labels("cxone", "created").inc(3)
    metrics.events_received.labels("cxone", "duplicate").inc(7)  # not new events
    history.observe(metrics, clock.now())
    clock.advance(120)
    metrics.inbound_webhooks.labels("stored").inc(2)
    metrics.deliveries.labels("delivered", "webhook").inc(4)
    metrics.deliveries.labels("retry", "webhook").inc(1)
    history.observe(metrics, clock.now())
    minutes = history.minutes(clock.now())
    assert [m.events_in for m in minutes] == [0, 0, 3, 0, 2]
    assert [(m.delivered, m.failed) for m in minutes[-1:]] == [(4, 1)]
    window = history.window(clock.now())
    assert (window.events_in, window.delivered, window.failed) == (5, 4, 1)
    assert window.success_rate == 0.8


def test_old_minutes_leave_the_window_but_stay_its_baseline() -> None:
    """After `keep_minutes`, a minute's counts leave the totals, and the next minute is not inflated."""
    history = MetricsHistory(keep_minutes=2)
    history.record(Snapshot(10, events_in=5))
    history.record(Snapshot(11, events_in=6))
    history.record(Snapshot(12, events_in=9))
    assert [m.events_in for m in history.minutes(12 * 60)] == [1, 3]
    assert history.window(12 * 60).events_in == 4


def test_latency_quantiles_come_from_the_window_buckets() -> None:
    """p50/p99 are bucket bounds of the attempts in the window, not of everything since start."""
    metrics = Metrics()
    history = MetricsHistory(keep_minutes=2)
    for _ in range(100):
        metrics.delivery_seconds.labels("webhook").observe(2.0)
    history.observe(metrics, 0)
    history.observe(metrics, 60)
    assert (history.window(60).p50, history.window(60).p99) == (2.5, 2.5)
    for _ in range(98):
        metrics.delivery_seconds.labels("grpc").observe(0.003)
    for _ in range(2):
        metrics.delivery_seconds.labels("webhook").observe(0.4)
    history.observe(metrics, 120)  # minute 0, with the slow attempts, leaves the window
    window = history.window(120)
    assert (window.p50, window.p99) == (0.005, 0.5)
    assert quantile((), 0.5) is None
