"""Random (version 4) UUID strings, drawn from the OS in batches.

Why: `uuid.uuid4()` makes one getrandom call and builds a `UUID` object per id, and every stored
event needs one or two, on the ingestion path. Here one `os.urandom` call yields 256 ids, formatted
straight from the bytes: the same randomness and the same RFC 4122 layout for a fraction of the
cost. A forked child drops the parent's pool so the two never hand out the same ids.
"""

from __future__ import annotations

import os

_BATCH = 256
_pool: list[str] = []


def uuid4_str() -> str:
    """A random UUID in its canonical 36-character form, like `str(uuid.uuid4())`."""
    try:
        return _pool.pop()
    except IndexError:
        _pool.extend(_draw(_BATCH))
        return _pool.pop()


def _draw(n: int) -> list[str]:
    raw = bytearray(os.urandom(16 * n))
    for i in range(0, 16 * n, 16):
        raw[i + 6] = (raw[i + 6] & 0x0F) | 0x40  # version 4
        raw[i + 8] = (raw[i + 8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pool.clear)
