"""The last hour of this process's counters, minute by minute, for the dashboard's charts.

Prometheus counters only say "so many since start"; a chart of events per minute needs their values
at minute boundaries. `MetricsHistory.observe` keeps, for each minute, the last snapshot taken in
it (a sampler calls it every few seconds, and the overview page once more when it renders), and
`minutes` answers the difference between consecutive snapshots: what happened in each minute.

Figures are this process's: with `server.workers` > 1 each worker charts its own share (as each
answers `/metrics` with its own). The store's figures (backlog, dead letters) are read separately.
Not thread-safe; it is called on the event loop only.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Histogram

from ccbridge.observability.metrics import Metrics

SAMPLE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Counter totals at one instant; `minute` is `floor(epoch seconds / 60)`. `latency` is the
    delivery-attempt histogram as cumulative (upper bound in seconds, count) pairs."""

    minute: int
    events_in: float = 0.0
    delivered: float = 0.0
    failed: float = 0.0
    latency: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Minute:
    """What happened in one minute: events accepted, attempts that delivered or failed."""

    minute: int
    events_in: float
    delivered: float
    failed: float


@dataclass(frozen=True, slots=True)
class Window:
    """Totals over the charted window: attempts, the share that delivered (None with no attempt),
    and p50/p99 attempt latency as histogram bucket bounds in seconds (None with no attempt;
    `inf` when beyond the largest bucket)."""

    events_in: float
    delivered: float
    failed: float
    success_rate: float | None
    p50: float | None
    p99: float | None


def _total(counter: Counter, **labels: str) -> float:
    """The sum of a counter's `_total` samples whose labels include `labels`."""
    found = 0.0
    for family in counter.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and all(sample.labels.get(k) == v for k, v in labels.items()):
                found += sample.value
    return found


def _buckets(histogram: Histogram) -> tuple[tuple[float, float], ...]:
    """Cumulative bucket counts summed over every label set, by upper bound."""
    sums: dict[float, float] = {}
    for family in histogram.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                sums[bound] = sums.get(bound, 0.0) + sample.value
    return tuple(sorted(sums.items()))


def snapshot(metrics: Metrics, now: float) -> Snapshot:
    """The counters the charts use, read now. Events in are those stored by any ingestion route
    (the events API, inbound webhooks, /ingest), duplicates not counted."""
    events_in = (
        _total(metrics.events_received, outcome="created")
        + _total(metrics.inbound_webhooks, result="stored")
        + _total(metrics.ingest_requests, result="accepted")
    )
    delivered = _total(metrics.deliveries, outcome="delivered")
    failed = _total(metrics.deliveries) - delivered
    return Snapshot(math.floor(now / 60), events_in, delivered, failed, _buckets(metrics.delivery_seconds))


def quantile(buckets: tuple[tuple[float, float], ...], q: float) -> float | None:
    """The upper bound of the bucket holding the `q`-quantile, from cumulative counts."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    wanted = q * buckets[-1][1]
    return next(bound for bound, count in buckets if count >= wanted)


def _minus(
    a: tuple[tuple[float, float], ...], b: tuple[tuple[float, float], ...]
) -> tuple[tuple[float, float], ...]:
    before = dict(b)
    return tuple((bound, count - before.get(bound, 0.0)) for bound, count in a)


@dataclass
class MetricsHistory:
    """Per-minute snapshots of the last `keep_minutes` minutes, after a zero baseline (counters
    start at zero with the process, so the first minute is counted from there)."""

    keep_minutes: int = 60
    _snaps: deque[Snapshot] = field(default_factory=deque)
    _base: Snapshot | None = None

    def observe(self, metrics: Metrics, now: float) -> None:
        self.record(snapshot(metrics, now))

    def record(self, snap: Snapshot) -> None:
        """Keep `snap` as the latest of its minute; minutes older than the window are dropped (the
        newest dropped one stays as the baseline of the oldest kept)."""
        if self._base is None:
            self._base = Snapshot(snap.minute - 1)
        if self._snaps and self._snaps[-1].minute == snap.minute:
            self._snaps[-1] = snap
        else:
            self._snaps.append(snap)
        while self._snaps and self._snaps[0].minute <= snap.minute - self.keep_minutes:
            self._base = self._snaps.popleft()

    def minutes(self, now: float) -> list[Minute]:
        """One entry per minute of the window ending with the current one, oldest first; a minute
        without a snapshot shows zero (its counts land in the next minute that has one)."""
        current = math.floor(now / 60)
        changes: dict[int, Minute] = {}
        previous = self._base
        for snap in self._snaps:
            assert previous is not None  # set by the first `record`
            changes[snap.minute] = Minute(
                snap.minute,
                snap.events_in - previous.events_in,
                snap.delivered - previous.delivered,
                snap.failed - previous.failed,
            )
            previous = snap
        first = current - self.keep_minutes + 1
        return [changes.get(m, Minute(m, 0.0, 0.0, 0.0)) for m in range(first, current + 1)]

    def window(self, now: float) -> Window:
        """Totals since the baseline (at most the last `keep_minutes` minutes)."""
        if not self._snaps or self._base is None:
            return Window(0.0, 0.0, 0.0, None, None, None)
        last, base = self._snaps[-1], self._base
        delivered, failed = last.delivered - base.delivered, last.failed - base.failed
        attempts = delivered + failed
        latency = _minus(last.latency, base.latency)
        return Window(
            last.events_in - base.events_in,
            delivered,
            failed,
            delivered / attempts if attempts > 0 else None,
            quantile(latency, 0.50),
            quantile(latency, 0.99),
        )


async def run_sampler(
    history: MetricsHistory,
    metrics: Metrics,
    now: Callable[[], float],
    interval: float = SAMPLE_SECONDS,
) -> None:
    """Observe every `interval` seconds until cancelled (started and cancelled by the lifespan)."""
    while True:
        history.observe(metrics, now())
        await asyncio.sleep(interval)
