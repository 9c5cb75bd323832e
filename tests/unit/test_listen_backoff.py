"""The listener's reconnect backoff: a ceiling doubling from `first_delay` up to `max_delay`, of
which the wait is at least half and at most all (equal jitter)."""

from __future__ import annotations

from ccbridge.stores.postgres.listening import ListenPolicy

POLICY = ListenPolicy(first_delay=0.5, max_delay=30.0)


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    ceilings = [POLICY.delay(n, draw=lambda: 1.0) for n in range(1, 10)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_the_wait_is_between_half_the_ceiling_and_all_of_it() -> None:
    assert POLICY.delay(3, draw=lambda: 0.0) == 1.0
    assert POLICY.delay(3, draw=lambda: 0.5) == 1.5
    assert POLICY.delay(3) >= 1.0 and POLICY.delay(3) <= 2.0


def test_a_long_outage_neither_overflows_nor_passes_the_cap() -> None:
    assert POLICY.delay(10_000, draw=lambda: 1.0) == 30.0
