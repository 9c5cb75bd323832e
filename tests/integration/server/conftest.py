"""Fixtures: a real server over loopback HTTP with a real SQLite file, and an authenticated client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ccbridge.testing.server import RunningServer, running_server


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    async with running_server() as srv:
        yield srv


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = await server.token()
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client
