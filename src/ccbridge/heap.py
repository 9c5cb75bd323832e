"""Keep the garbage collector's full passes off the request path of a serving process.

Why: after startup the process holds a large, long-lived heap (modules, the app, compiled schemas
and patterns, the subscription cache). CPython's full collections traverse all of it, tens of
milliseconds during which nothing else runs: that was the slowest 1% of `POST /events` at load (p99
about 40 ms against a 6 ms median) and the worst ingest-to-receipt delivery times (35 ms). Collecting
once and then freezing what survived startup (`gc.freeze`) takes it out of every later collection.
Objects made later (new subscriptions, say) are collected as usual. Measured with
`bench/bench_events.py -c 64` and `bench/bench_delivery.py`, alternating runs with and without.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect what startup left behind, then freeze the survivors (call once, when serving begins)."""
    gc.collect()
    gc.freeze()
