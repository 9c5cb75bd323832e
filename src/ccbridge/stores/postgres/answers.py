"""What asyncpg answers, read the same way by every part of the PostgreSQL store.

Two things: which exceptions say "the database cannot take writes now" rather than "this request
is wrong" (they become `Unavailable` with `UNAVAILABLE_RETRY_AFTER`, so callers answer 503 and
retry, never 5xx with a stack), and the row count at the end of a command tag.
"""

from __future__ import annotations

import asyncpg

from ccbridge.errors import Unavailable

UNAVAILABLE_RETRY_AFTER = 5.0  # seconds: while the database cannot be reached or cannot write

# what says "the database cannot take writes now" rather than "this request is wrong"
UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,  # a session the server ended mid-operation: its protocol broke
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: disk full, out of memory, too many connections
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, cannot connect now
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a standby after a failover
    ConnectionError,
    OSError,
    TimeoutError,
)


def unavailable(exc: BaseException) -> Unavailable:
    """`exc` (one of `UNAVAILABLE`) as the error callers see, naming its type only."""
    return Unavailable(
        f"the store cannot be reached or cannot write: {type(exc).__name__}",
        retry_after=UNAVAILABLE_RETRY_AFTER,
    )


def rowcount(status: str) -> int:
    """The row count at the end of a command tag ("UPDATE 3", "DELETE 0")."""
    return int(status.rsplit(" ", 1)[-1])
