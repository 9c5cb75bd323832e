"""Pausing the cyclic garbage collector around bulk allocations (`RuleSet`, the router)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while many objects that all survive are made.

    The collector would run its passes again and again over a growing heap for nothing, a large
    share of a big RuleSet's build and of the router's bookkeeping after a subscription write (a
    full pass over a large heap, on the writer). What
    runs inside makes no reference cycles; other threads' cyclic garbage waits a few hundred
    milliseconds at most. Left off if it was off already."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
