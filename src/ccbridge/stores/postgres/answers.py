"""Two things every part of the PostgreSQL store reads alike: the row count at the end of a command
tag, and how long a caller is told to wait (`Unavailable.retry_after`) while the database cannot be
reached or cannot write. Which errors say so is the store's `_conn`'s business (`store.py`).
"""

from __future__ import annotations

UNAVAILABLE_RETRY_AFTER = 5.0  # seconds: while the database cannot be reached or cannot write


def rowcount(status: str) -> int:
    """The row count at the end of a command tag ("UPDATE 3", "DELETE 0")."""
    return int(status.rsplit(" ", 1)[-1])
