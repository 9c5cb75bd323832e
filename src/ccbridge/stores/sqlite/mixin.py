"""The base of `SqliteStore`'s mixins: what the store gives each of them, declared once.

Declarations only, for the type checker (nothing exists at run time but an empty class): the store
sets these in its constructor and defines the methods. `_writer` runs each write as a job in its
group-committed transaction, `_reader` runs reads on their own connection; `_pending` is the count
of unsettled deliveries the writer's jobs keep in step (see `admission.py`); `_notify` wakes this
process's dispatchers. A mixin declares beside this only what it takes from another mixin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccbridge.stores.sqlite.writer import SerialExecutor


class SqliteMixin:
    if TYPE_CHECKING:
        _writer: SerialExecutor
        _reader: SerialExecutor
        _now: Callable[[], float]
        _pending: int

        def _notify(self) -> None: ...
