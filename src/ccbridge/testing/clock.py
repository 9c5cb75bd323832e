"""A `Clock` that moves only when told: schedules, windows and retention are tested without waiting."""

from __future__ import annotations

START = 1_800_000_000.0  # 2027-01-15, far from any boundary the tests care about


class ManualClock:
    """The `Clock` port at a fixed instant; `advance` moves it forward."""

    def __init__(self, t: float = START) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
