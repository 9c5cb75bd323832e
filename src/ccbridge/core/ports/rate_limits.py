"""Rate limits (`RateLimits`): named budgets with a burst (`core.rate_limit`), one per key across
every process and replica sharing the store.

Contracts: taking a token is atomic across processes and a refusal writes nothing; outages raise
`Unavailable` and the caller fails closed. Durability is weaker than the store-wide contract, by
choice: an admission is committed and visible when the method returns, but a backend may not wait
for it to reach disk, so a database crash can forget its last fraction of a second of admissions.
"""

from __future__ import annotations

from typing import Protocol


class RateLimits(Protocol):
    """Named rate limits with a burst (`core.rate_limit`), one budget per key across every process
    and replica sharing the store, so a limit holds across replicas rather than per process.

    Times are the store clock's (each process's own: replicas whose clocks disagree by d seconds
    may admit up to `per_second * d` more, so keep them synchronized). A refusal writes nothing.
    Outages raise `Unavailable` like every other method; the caller decides to refuse (fail closed).
    Durability is weaker than elsewhere, by choice: an admission is committed, and visible to every
    process, when the method returns, but a backend may not wait for it to reach disk (PostgreSQL's
    asynchronous commit), so a crash of the database can forget the admissions of its last fraction
    of a second (their subjects may send that many again), except those a later durable commit of
    the same process followed (an admitted request whose event was then stored)."""

    async def take_rate_token(self, key: str, per_second: float, burst: int) -> float:
        """Take one admission from `key`'s budget (`per_second` > 0, `burst` >= 1): 0.0 when admitted
        (committed before returning), else the seconds until one would be (`retry_after`, > 0).
        Atomic: callers racing on one key, in one process or several, are admitted no more often
        than `core.rate_limit.take_token` allows for their requests in some order."""
        ...
