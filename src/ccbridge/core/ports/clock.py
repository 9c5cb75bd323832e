"""The clock port: time is injected, never read from the system inside the core.

`Clock.now()` is wall-clock seconds since the epoch, synchronous and cheap; retry schedules, leases,
token expiry and rate budgets all read it, so a test can drive them with a clock it controls.
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Wall-clock seconds since the epoch; injected so retry schedules are testable."""

    def now(self) -> float: ...
