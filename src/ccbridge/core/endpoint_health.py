"""Endpoint health, as data: the circuit breaker's states and transitions, and the rate limiter's
arithmetic. Pure: both stores run these inside their own transactions, so every backend moves an
endpoint through the same states, and every process sharing a store sees the same endpoint.

An endpoint here is one endpoint of one subscription (`subscription_id`, `url`).

The breaker:

* **closed** — deliveries are sent. Each failed attempt counts; a success resets the count.
  `policy.failures` consecutive failures open it.
* **open** — deliveries wait (re-queued for the next probe, their attempts unspent, so nothing is
  dead-lettered meanwhile). When `next_probe_at` comes, one delivery at a time is let through as a
  probe (held for `probe_lease` seconds, so a crashed prober does not block probing for ever). A
  failed probe doubles the wait (`probe_initial_seconds` up to `probe_max_seconds`); a successful
  one closes the breaker.
* **disabled** — after `policy.disable_after_seconds` of failures without a success, at once on
  `410 Gone`, or by an operator. Nothing is sent; its deliveries become dead letters (kept,
  replayable once it is enabled again). Only an operator enables it again (closed, counts reset).
  An automatic disable sets `notified` False until the `ccbridge.endpoint.disabled` event is stored.

An endpoint with no record is closed with no failures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

BreakerState = Literal["closed", "open", "disabled"]
DisabledBy = Literal["breaker", "gone", "operator"]
AttemptResult = Literal["ok", "failed", "gone"]
STATE_VALUES: dict[str, int] = {"closed": 0, "open": 1, "disabled": 2}
"""The breaker state gauge's values."""


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """`delivery.breaker` of the config, in seconds."""

    failures: int = 5
    probe_initial_seconds: float = 5.0
    probe_max_seconds: float = 600.0
    disable_after_seconds: float = 5 * 86400.0
    probe_lease_seconds: float = 30.0

    def probe_delay(self, failed_probes: int) -> float:
        """The wait before the next probe after `failed_probes` failed ones (0 right after opening)."""
        return float(min(self.probe_max_seconds, self.probe_initial_seconds * 2.0 ** min(failed_probes, 40)))


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """One endpoint's breaker state; times are epoch seconds."""

    subscription_id: str
    url: str
    state: BreakerState = "closed"
    failures: int = 0  # consecutive failed attempts
    failing_since: float | None = None  # the first failure since the last success
    opened_at: float | None = None
    next_probe_at: float | None = None
    failed_probes: int = 0
    probe_owner: str | None = None
    probe_until: float | None = None
    last_error: str | None = None
    disabled_at: float | None = None
    disabled_by: DisabledBy | None = None
    notified: bool = True  # False while an automatic disable's event is not yet stored
    updated_at: float = 0.0


Admission = Literal["send", "probe", "wait", "disabled"]


def admit(
    record: HealthRecord | None, owner: str, now: float, policy: BreakerPolicy
) -> tuple[Admission, float | None, HealthRecord | None]:
    """May a delivery to this endpoint be sent now? Returns (what to do, until when to wait for
    "wait", the record to store when it changed). An open breaker whose probe is due lets one
    delivery through and holds the probe for `policy.probe_lease_seconds`. While a probe is out,
    the others wait until the next probe would be due if it failed (a success wakes them sooner)."""
    if record is None or record.state == "closed":
        return "send", None, None
    if record.state == "disabled":
        return "disabled", None, None
    due = record.next_probe_at or now
    held = record.probe_until if record.probe_until is not None and record.probe_until > now else None
    if due <= now and held is None:
        taken = replace(
            record, probe_owner=owner, probe_until=now + policy.probe_lease_seconds, updated_at=now
        )
        return "probe", None, taken
    if due > now:
        return "wait", due, None
    assert held is not None
    return "wait", min(held, now + policy.probe_delay(record.failed_probes + 1)), None


def after_attempt(
    record: HealthRecord | None,
    key: tuple[str, str],
    owner: str,
    result: AttemptResult,
    error: str | None,
    policy: BreakerPolicy,
    now: float,
) -> HealthRecord | None:
    """The record after one attempt ended with `result`; None when nothing changes (a success on a
    healthy endpoint: the hot path writes nothing)."""
    current = record or HealthRecord(key[0], key[1])
    if current.state == "disabled":
        return None  # an attempt sent before it was disabled changes nothing; only an operator enables
    if result == "ok":
        if record is None or (current.state == "closed" and current.failures == 0):
            return None
        return HealthRecord(key[0], key[1], last_error=current.last_error, updated_at=now)
    failing_since = current.failing_since if current.failing_since is not None else now
    failed = replace(
        current, failures=current.failures + 1, failing_since=failing_since, last_error=error, updated_at=now
    )
    if result == "gone":
        return _disabled(failed, "gone", now)
    if now - failing_since >= policy.disable_after_seconds:
        return _disabled(failed, "breaker", now)
    if current.state == "open":
        if current.probe_owner != owner:  # a send from before it opened: the probe schedule stands
            return failed
        probes = current.failed_probes + 1
        return replace(
            failed,
            failed_probes=probes,
            next_probe_at=now + policy.probe_delay(probes),
            probe_owner=None,
            probe_until=None,
        )
    if failed.failures >= policy.failures:
        return replace(
            failed, state="open", opened_at=now, failed_probes=0, next_probe_at=now + policy.probe_delay(0)
        )
    return failed


def _disabled(record: HealthRecord, by: DisabledBy, now: float) -> HealthRecord:
    return replace(
        record,
        state="disabled",
        disabled_at=now,
        disabled_by=by,
        notified=False,
        next_probe_at=None,
        probe_owner=None,
        probe_until=None,
    )


def operator_set(
    record: HealthRecord | None, key: tuple[str, str], enabled: bool, now: float
) -> HealthRecord:
    """An operator's enable (closed, every count reset) or disable (no event: they know)."""
    if enabled:
        return HealthRecord(key[0], key[1], updated_at=now)
    current = record or HealthRecord(key[0], key[1])
    return replace(_disabled(current, "operator", now), notified=True)


def rate_slot(tat: float | None, now: float, per_second: float) -> tuple[float, float]:
    """The rate limiter: GCRA (the generic cell rate algorithm) with reservations, slots
    `1/per_second` apart.

    `tat` is the stored theoretical arrival time: the next free slot (None at first). Every call
    reserves a slot, `max(tat, now)`, and moves `tat` one interval past it; the caller sends at its
    slot. Returns (the new `tat`, seconds until the reserved slot: 0 when it is now, or less than
    half an interval ahead, a tolerance for a delivery coming due a little early). Since each slot
    is one interval after the previous, the long-run rate is exact and any one-second window holds
    at most `per_second + 1` slots; a send made late (a busy process) may land in the next slot's
    second. A reserved slot nobody uses (its process died) is simply lost."""
    interval = 1.0 / per_second
    slot = now if tat is None else max(tat, now)
    wait = slot - now
    return slot + interval, 0.0 if wait <= interval / 2 + 1e-9 else wait
