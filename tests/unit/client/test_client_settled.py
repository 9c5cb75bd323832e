"""What "settled" means for `ccbridge subscriptions status`."""

from __future__ import annotations

from ccbridge.client.status import is_settled


def test_settled_means_nothing_pending_or_retrying() -> None:
    """Only pending and retrying count; delivered and dead-lettered deliveries are settled."""
    assert is_settled({"counts": {"delivered": 5, "deadLettered": 2, "pending": 0, "retrying": 0}})
    assert is_settled({"counts": {}}) and is_settled({})
    assert not is_settled({"counts": {"pending": 1}})
    assert not is_settled({"counts": {"retrying": 1}})
