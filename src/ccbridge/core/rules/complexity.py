"""How non-deterministic a pattern's wildcards make matching, bounded as Amazon EventBridge bounds it.

EventBridge refuses a rule whose wildcards are "too complex" with event-ruler's message (below).
event-ruler's `MachineComplexityEvaluator` measures, for each field's value machine, the largest
number of wildcard-pattern prefixes that one worst-case input value can keep alive at once: the
number of states a traversal can be in simultaneously, counting only states that lead on to a
wildcard match. Each `*` followed by text that the input can keep restarting (`*:*:*:*:*:...`)
adds states that stay alive together.

This module measures the same quantity on the pattern's own terms: per field path, the wildcard
values of every alternative (`wildcard`, and `anything-but` of wildcards) become one NFA over the
value's UTF-8 bytes wrapped in quotes (as event-ruler matches the quoted JSON text); the subset
construction visits every set of states some input reaches, over the bytes the wildcards name plus
one byte none of them names; the complexity of a set is how many wildcard states it holds. A
pattern is refused when some reachable set holds more than `MAX_COMPLEXITY` of them.

Pure; the work is bounded: the search stops at the first set past the limit and visits at most
`MAX_SETS` sets (a pattern needing more is refused the same way, as too complex to evaluate).
"""

from __future__ import annotations

from collections.abc import Iterable

from ccbridge.core.rules.matchers import AnythingBut, Wildcard

MAX_COMPLEXITY = 10
"""The most wildcard prefixes one input may keep alive at once (more is refused)."""

MAX_SETS = 2_000
"""A bound on the subset construction's work per field."""

TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)
"""AWS's message for a rule past the limit, word for word."""

_STAR = -1
_QUOTE = ord('"')

Token = int  # a byte, or _STAR


def wildcards_of(matchers: Iterable[object]) -> list[Wildcard]:
    """The wildcards among a leaf's matchers, those inside `anything-but` included."""
    found: list[Wildcard] = []
    for m in matchers:
        if isinstance(m, Wildcard):
            found.append(m)
        elif isinstance(m, AnythingBut):
            found.extend(x for x in m.excluded if isinstance(x, Wildcard))
    return found


def _tokens(wildcard: Wildcard) -> tuple[Token, ...]:
    out: list[Token] = [_QUOTE]
    for i, segment in enumerate(wildcard.segments):
        if i:
            out.append(_STAR)
        out.extend(segment.encode())
    out.append(_QUOTE)
    return tuple(out)


def complexity(wildcards: Iterable[Wildcard], cap: int = MAX_COMPLEXITY) -> int:
    """The largest number of live wildcard states one input keeps at once, or `cap + 1` as soon as
    it is known to pass `cap` (or the search would visit more than `MAX_SETS` sets)."""
    machines = sorted({_tokens(w) for w in wildcards})
    machines = [m for m in machines if _STAR in m]
    if not machines:
        return 0
    alphabet = [*sorted({t for m in machines for t in m if t != _STAR}), 256]  # 256: any other byte

    def closure(states: Iterable[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        done: set[tuple[int, int]] = set()
        pending = list(states)
        while pending:
            state = pending.pop()
            if state in done:
                continue
            done.add(state)
            which, at = state
            tokens = machines[which]
            if at < len(tokens) and tokens[at] == _STAR:
                pending.append((which, at + 1))  # a star may match nothing
        return frozenset(done)

    def step(states: frozenset[tuple[int, int]], byte: int) -> frozenset[tuple[int, int]]:
        moved: list[tuple[int, int]] = []
        for which, at in states:
            tokens = machines[which]
            if at >= len(tokens):
                continue
            if tokens[at] == _STAR:
                moved.append((which, at))
            elif tokens[at] == byte:
                moved.append((which, at + 1))
        return closure(moved)

    def live(states: frozenset[tuple[int, int]]) -> int:
        """States at or after a machine's first star that have not yet matched."""
        return sum(1 for which, at in states if machines[which].index(_STAR) <= at < len(machines[which]))

    start = closure((i, 0) for i in range(len(machines)))
    seen = {start}
    pending = [start]
    worst = 0
    while pending:
        states = pending.pop()
        for byte in alphabet:
            reached = step(states, byte)
            if not reached or reached in seen:
                continue
            worst = max(worst, live(reached))
            if worst > cap or len(seen) >= MAX_SETS:
                return cap + 1
            seen.add(reached)
            pending.append(reached)
    return worst
