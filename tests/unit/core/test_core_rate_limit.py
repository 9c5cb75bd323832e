"""`core.rate_limit.take_token`: GCRA with a burst. The bound (never more than `burst + rate * T`
admissions in any window of T seconds), liveness (a refused caller that waits `retry_after` is
admitted), and refusals that leave the state alone."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbridge.core.rate_limit import SLACK, take_token

START = 1_800_000_000.0  # epoch seconds, where float rounding is about 0.2 microseconds


def run(times: list[float], per_second: float, burst: int) -> tuple[list[float], list[float]]:
    """Offer a request at each of `times`; (the times admitted, the waits of the refused)."""
    tat: float | None = None
    admitted: list[float] = []
    waits: list[float] = []
    for now in times:
        new_tat, wait = take_token(tat, now, per_second, burst)
        if new_tat is None:
            assert wait > 0
            waits.append(wait)
        else:
            assert wait == 0.0 and new_tat > now
            tat = new_tat
            admitted.append(now)
    return admitted, waits


rates = st.floats(min_value=0.1, max_value=1000.0, allow_nan=False)
bursts = st.integers(min_value=1, max_value=40)


@st.composite
def traffic(draw: st.DrawFn) -> tuple[float, int, list[float]]:
    """A rate, a burst and request times: bunches at one instant and gaps around the interval."""
    per_second, burst = draw(rates), draw(bursts)
    gaps = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=3.0 / per_second)),
            min_size=1,
            max_size=120,
        )
    )
    return per_second, burst, list(itertools.accumulate(gaps, initial=START))


@settings(max_examples=300, deadline=None)
@given(traffic())
def test_no_window_admits_more_than_the_burst_plus_the_rate(case: tuple[float, int, list[float]]) -> None:
    per_second, burst, times = case
    admitted, _ = run(times, per_second, burst)
    for i, first in enumerate(admitted):
        for j in range(i, len(admitted)):
            window = admitted[j] - first
            assert j - i + 1 <= burst + per_second * (window + 2 * SLACK)


@settings(max_examples=300, deadline=None)
@given(traffic())
def test_a_refused_caller_waiting_its_retry_after_is_admitted(case: tuple[float, int, list[float]]) -> None:
    """Whatever came before, the wait given is enough (and the state is what admissions made it)."""
    per_second, burst, times = case
    tat: float | None = None
    for now in times:
        new_tat, wait = take_token(tat, now, per_second, burst)
        if new_tat is None:
            again, second_wait = take_token(tat, now + wait, per_second, burst)
            assert again is not None and second_wait == 0.0
        else:
            tat = new_tat


@settings(max_examples=200, deadline=None)
@given(rates, bursts)
def test_a_full_burst_at_once_then_one_interval_between(per_second: float, burst: int) -> None:
    """The burst is admitted at one instant, the next is refused for one interval; at the steady
    rate afterwards every request is admitted."""
    admitted, waits = run([START] * (burst + 1), per_second, burst)
    assert len(admitted) == burst
    assert waits == [pytest.approx(1 / per_second, rel=1e-6, abs=2 * SLACK)]
    steady = [START + k / per_second for k in range(1, 50)]
    tat: float | None = START + burst / per_second  # the state after the burst
    for now in steady:
        tat, wait = take_token(tat, now, per_second, burst)
        assert tat is not None and wait == 0.0


def test_a_refusal_leaves_the_state_alone() -> None:
    """Refused, nothing is to be stored; the same state answers a shorter wait later."""
    tat, _ = take_token(None, START, 2, 1)
    assert tat == START + 0.5
    assert take_token(tat, START, 2, 1) == (None, pytest.approx(0.5))
    assert take_token(tat, START + 0.4, 2, 1) == (None, pytest.approx(0.1))
    assert take_token(tat, START + 0.5, 2, 1) == (START + 1.0, 0.0)


def test_an_idle_key_banks_no_more_than_the_burst() -> None:
    tat: float | None = START - 1e6  # a tat long past: the same as a key never seen
    admitted, _ = run([START] * 10, 5, 3)
    assert len(admitted) == 3
    assert take_token(tat, START, 5, 3)[0] == take_token(None, START, 5, 3)[0]


@pytest.mark.parametrize(("per_second", "burst"), [(0, 1), (-1, 1), (float("nan"), 1), (1, 0)])
def test_rates_and_bursts_the_config_refuses_are_value_errors(per_second: float, burst: int) -> None:
    with pytest.raises(ValueError):
        take_token(None, START, per_second, burst)
