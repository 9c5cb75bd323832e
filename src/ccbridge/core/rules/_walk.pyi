"""Types of the C walk (`_walk.c`); `native.py` builds its arguments."""

from typing import Any

TAG_BITS: int
RULE: int
GROUP: int
NODE: int
FORK: int
LENGTH: int
OTHER: int
TYPED: int
MAX_ARG: int
MAX_KEY_CHARS: int

class Program:
    def __init__(
        self,
        names: tuple[Any, ...],
        groups: list[tuple[int, ...]],
        forks: list[tuple[int, tuple[int, ...], int]],
        tables: list[list[tuple[str, int]]],
        links_flags: list[bool],
        nodes: list[list[tuple[Any, ...]]],
        root: int,
        width: int,
        missing: object,
        many: type[list[Any]],
        node_index: dict[Any, int],
    ) -> None: ...
    python_edges: int
    def walk(self, values: list[Any], result: set[Any], several: bool = False, /) -> int: ...
