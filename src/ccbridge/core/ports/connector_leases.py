"""Connector leases (`ConnectorLeases`): one lease per connector name, so across replicas exactly
one process runs a connector, and the status its runner last reported (`ConnectorLease`).

Contracts: times are the store clock's; a lease is held while `now < expires_at` and an expired one
is anyone's; `acquire` and `renew` are atomic compare-and-set writes, so two racing callers never
both win; a failed renewal writes nothing and tells the runner to stop at once; a release by a
non-holder does nothing. The store-wide contract of `ccbridge.core.ports` applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ConnectorLease:
    """One connector's row: who runs it until when, and the status its runner last reported.

    `owner` and `expires_at` are None once released; `status` is the JSON the connector's
    `status()` gave at the owner's latest renewal or release (empty before the first one), so any
    replica can answer the status route. `updated_at` is when the row last changed (epoch seconds)."""

    name: str
    owner: str | None
    expires_at: float | None
    status: dict[str, Any]
    updated_at: float


class ConnectorLeases(Protocol):
    """One lease per connector name, so across replicas exactly one process runs a connector.

    Times are the store clock's epoch seconds. A lease is held while `now < expires_at`; an expired
    lease is anyone's to take. `acquire` and `renew` are atomic compare-and-set writes: two callers
    racing for a free lease never both get True."""

    async def acquire_connector(self, name: str, owner: str, ttl: float) -> bool:
        """Take `name` for `owner` until now + `ttl` when nobody holds it (free, released or expired)
        or `owner` already does; True when `owner` holds it on return."""
        ...

    async def renew_connector(
        self, name: str, owner: str, ttl: float, status: dict[str, Any] | None = None
    ) -> bool:
        """Extend `owner`'s unexpired lease to now + `ttl`, storing `status` when given; False (and
        nothing written) when `owner` no longer holds it: it must stop the connector at once."""
        ...

    async def release_connector(self, name: str, owner: str, status: dict[str, Any] | None = None) -> None:
        """Give the lease up (next taker need not wait for expiry), storing `status` when given;
        nothing happens when `owner` does not hold it."""
        ...

    async def connector_leases(self) -> list[ConnectorLease]:
        """Every connector row, by name."""
