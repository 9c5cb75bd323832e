"""uuid4_str: canonical version-4 UUIDs, never repeated, not shared with a forked child."""

from __future__ import annotations

import os
import uuid

from ccbridge.core import ids


def test_ids_are_canonical_version_4_uuids() -> None:
    for _ in range(600):  # more than one batch
        text = ids.uuid4_str()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ids_do_not_repeat() -> None:
    drawn = [ids.uuid4_str() for _ in range(5000)]
    assert len(set(drawn)) == len(drawn)


def test_a_forked_child_does_not_reuse_the_parents_pool() -> None:
    ids.uuid4_str()  # the pool now holds ids the parent will hand out next
    expected_next = ids._pool[-1]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        os.write(write, ids.uuid4_str().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_id != expected_next
    assert ids.uuid4_str() == expected_next
