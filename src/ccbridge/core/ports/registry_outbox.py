"""The registry outbox (`RegistryOutbox`): seed 001's registry notices, queued as deliveries.

Contracts: once enabled, every subscription create, update and delete queues its notice in the
write's own transaction (a committed write has its notice, a failed one none); before that nothing
is queued; the last state told per subscription is stored, so every process and replica sharing the
store tells each change once. `core.registry` says what a notice is. The store-wide contract of
`ccbridge.core.ports` applies.
"""

from __future__ import annotations

from typing import Protocol

from ccbridge.core.event import EndpointSpec


class RegistryOutbox(Protocol):
    """Seed 001's registry sync from the server (`core.registry`): notices queued as deliveries.

    Once `enable_registry` has named the registry's endpoint, every subscription create, update and
    delete of this store also queues a notice (`active`; the last state told; `deleted`) in the same
    transaction as the write, so a write that commits has its notice stored and one that fails has
    none. Until then nothing is queued and these methods change nothing. The last state told per
    subscription is stored, so processes and replicas sharing the store tell each change once.
    """

    def enable_registry(self, endpoint: EndpointSpec) -> None:
        """From now on, queue notices for `endpoint` (called once, before the store serves)."""
        ...

    async def registry_state_changed(self, subscription_id: str, state: str) -> bool:
        """Queue a notice when `state` differs from the last one told for the subscription (and it
        still exists); True when one was queued. Safe to call concurrently from several processes:
        of two callers seeing the same change, one queues it."""
