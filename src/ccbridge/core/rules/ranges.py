"""Which numeric ranges contain a number, in O(log n + answers) however many ranges there are.

The distinct bounds cut the number line into slots: the open gap before each bound and the bound
itself (so `>` and `>=` differ by one slot). Every range covers a run of slots; a segment tree over
the slots stores each range in O(log n) nodes, and a query walks one leaf-to-root path. A range is
stored in disjoint nodes, so a query meets it at most once.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from ccbridge.core.rules.matchers import Numeric


class RangeIndex:
    __slots__ = ("_bounds", "_size", "_tree")

    def __init__(self, ranges: list[tuple[Numeric, Any]]) -> None:
        self._bounds = sorted({b for m, _ in ranges for b in (m.lo, m.hi) if b is not None})
        slots = 2 * len(self._bounds) + 1
        size = 1
        while size < slots:
            size *= 2
        self._size = size
        tree: list[list[Any]] = [[] for _ in range(2 * size)]
        for m, target in ranges:
            first = 0 if m.lo is None else self._slot(m.lo) + (0 if m.lo_incl else 1)
            last = slots - 1 if m.hi is None else self._slot(m.hi) - (0 if m.hi_incl else 1)
            _insert(tree, first + size, last + size + 1, target)
        self._tree = tuple(tuple(node) for node in tree)

    def _slot(self, x: float) -> int:
        """Slot 2i is the gap below bound i (or above all, for i = len); slot 2i+1 is bound i."""
        i = bisect_left(self._bounds, x)
        return 2 * i + 1 if i < len(self._bounds) and self._bounds[i] == x else 2 * i

    def stab(self, x: float, out: list[Any]) -> None:
        """Append the target of every range containing `x` (which must not be NaN)."""
        tree, i = self._tree, self._slot(x) + self._size
        while i:
            node = tree[i]
            if node:
                out.extend(node)
            i >>= 1


def _insert(tree: list[list[Any]], left: int, right: int, target: Any) -> None:
    """Store `target` in the canonical nodes covering leaves [left, right)."""
    while left < right:
        if left & 1:
            tree[left].append(target)
            left += 1
        if right & 1:
            right -= 1
            tree[right].append(target)
        left >>= 1
        right >>= 1
