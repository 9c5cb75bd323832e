"""`DeadLetterRemoval` on PostgreSQL: delete chosen dead letters in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any


class PostgresDeadLetterRemoval:
    """Mixed into `PostgresStore`, whose `_conn(write=True)` is a pooled connection in a transaction."""

    if TYPE_CHECKING:

        def _conn(self, write: bool = False) -> AbstractAsyncContextManager[Any]: ...

    async def discard_dead_letters(self, ids: Sequence[int]) -> int:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return 0
        async with self._conn(write=True) as conn:
            status = await conn.execute(
                "DELETE FROM deliveries WHERE state = 'dead' AND id = ANY($1::bigint[])", wanted
            )
        return int(str(status).rsplit(" ", 1)[-1])
