"""Subscriptions: `SubscriptionStore`.

Contracts: names are unique and the count is capped at `max_subscriptions` (ConflictError with the
existing id, QuotaExceeded); a write commits with its idempotency record and is seen by every
`append_event` that begins after it returns, in any process sharing the store; a delete cancels the
subscription's pending deliveries and keeps its dead letters; listing is oldest first. The
store-wide contract of `ccbridge.core.ports` applies.
"""

from __future__ import annotations

from typing import Protocol

from ccbridge.core.event import Subscription
from ccbridge.core.ports.events import IdempotentRecord


class SubscriptionStore(Protocol):
    """Subscriptions, unique by name, at most `max_subscriptions` of them.

    A subscription write commits together with its idempotency record (`idem`) and is seen by every
    `append_event` that begins after it returns, in this process and in any other sharing the store.
    """

    async def create_subscription(
        self, sub: Subscription, max_subscriptions: int, idem: IdempotentRecord | None = None
    ) -> Subscription:
        """Raises ConflictError (with the existing id) on a taken name, QuotaExceeded at the limit."""
        ...

    async def update_subscription(self, sub: Subscription, idem: IdempotentRecord | None = None) -> None:
        """Replace `sub.id`'s document. Raises NotFoundError when it does not exist, ConflictError when
        its new name is another subscription's."""
        ...

    async def delete_subscription(self, sub_id: str) -> bool:
        """Delete it and cancel its pending deliveries (dead letters stay); False when it did not exist."""
        ...

    async def get_subscription(self, sub_id: str) -> Subscription | None: ...

    async def list_subscriptions(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        ...
