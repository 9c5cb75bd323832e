"""Dead letters: deliveries that ran out of retries or failed permanently. `DeadLetterStore`
lists, shows, replays and purges them; `DeadLetterRemoval` deletes chosen ones.

Contracts: dead letters are kept until replayed, purged or discarded; listing is newest first;
replay re-queues them due now with the attempt count reset and does nothing to what is not dead (or
whose subscription is gone), so it is idempotent; a discard deletes only the ids that still name a
dead letter, in one commit, so a repeat deletes nothing. The store-wide contract of
`ccbridge.core.ports` applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A delivery that ran out of retries or failed permanently, with why and when."""

    id: int
    event_id: str
    event_type: str
    subscription_id: str
    endpoint_url: str
    endpoint_type: str
    attempts: int
    last_status: int | None
    reason: str | None
    created_at: str
    dead_at: str
    event: dict[str, Any] | None = None


class DeadLetterStore(Protocol):
    """Deliveries that ran out of retries or failed permanently; kept until replayed or purged."""

    async def list_dead_letters(
        self, subscription_id: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """Newest first."""
        ...

    async def get_dead_letter(self, delivery_id: int) -> DeadLetter | None:
        """With the event document."""
        ...

    async def replay_dead_letters(
        self, ids: Sequence[int] | None = None, subscription_id: str | None = None
    ) -> int:
        """Re-queue dead letters, due now with the attempt count reset; returns how many. Replaying
        what is not dead (or whose subscription is gone) does nothing, so replay is idempotent."""
        ...

    async def purge_dead_letters(self, older_than: float | None = None) -> int:
        """Delete dead letters that died before `older_than` (epoch seconds); None purges them all."""
        ...


class DeadLetterRemoval(Protocol):
    """Deleting chosen dead letters (the dashboard's purge of one letter or a selection)."""

    async def discard_dead_letters(self, ids: Sequence[int]) -> int:
        """Delete the dead letters among `ids` in one commit; returns how many. Ids that name no dead
        letter (a live or delivered delivery, one already purged or replayed) are left alone, so a
        repeat deletes nothing."""
        ...
