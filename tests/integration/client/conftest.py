"""Fixtures: the real app on a temporary SQLite file (`bridge`), and a client of it on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from client_support import HOST, Bridge, Sleeps, Wire, running_app

from ccbridge.client import BridgeClient


@pytest.fixture
async def bridge(tmp_path: Path) -> AsyncIterator[Bridge]:
    async with running_app(tmp_path) as runtime:
        yield Bridge(runtime, Wire({HOST: runtime.app}), tmp_path)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(bridge: Bridge, sleeps: Sleeps) -> AsyncIterator[BridgeClient]:
    async with bridge.client(sleeps) as bridge_client:
        yield bridge_client
