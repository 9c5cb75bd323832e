"""Fixtures for end-to-end tests: `servers` starts `ccbridge serve` child processes and never leaves one
behind (a test that fails mid-way still gets its processes killed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ccbridge.testing.servers import Servers


@pytest.fixture
def servers() -> Iterator[Servers]:
    pool = Servers()
    try:
        yield pool
    finally:
        pool.cleanup()
