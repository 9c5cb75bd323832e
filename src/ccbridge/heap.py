"""Keep the garbage collector's full passes off the request path of a serving process.

Why: after startup the process holds a large, long-lived heap (modules, the app, compiled schemas
and patterns, the subscription cache). CPython's full collections traverse all of it, a pause during
which no request is served: it sets the slowest requests' latency. Collecting once and then freezing
what survived startup (`gc.freeze`) takes it out of every later collection. Objects made later (new
subscriptions, say) are collected as usual. `bench/bench_events.py` and `bench/bench_delivery.py`
show the effect.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect what startup left behind, then freeze the survivors (call once, when serving begins)."""
    gc.collect()
    gc.freeze()
