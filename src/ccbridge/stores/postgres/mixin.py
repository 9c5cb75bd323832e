"""The base of `PostgresStore`'s mixins: what the store gives each of them, declared once.

Declarations only, for the type checker (nothing exists at run time but an empty class): the store
sets these in its constructor and defines the methods. `_conn(write=True)` is a pooled connection in
a transaction (none with `transaction=False`), its outages raised as `Unavailable`; `_notify` wakes this process's dispatchers;
`_channel` is the due-deliveries NOTIFY channel and `_instance` the payload by which this store tells
its own notifications from other replicas'. A mixin declares beside this only what it takes from
another mixin.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any


class PostgresMixin:
    if TYPE_CHECKING:
        _now: Callable[[], float]
        _channel: str
        _instance: str

        def _conn(
            self, write: bool = False, transaction: bool = True
        ) -> AbstractAsyncContextManager[Any]: ...

        def _notify(self) -> None: ...
