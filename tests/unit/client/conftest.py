from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from client_fakes import FakeApi, Sleeps, make_client

from ccbridge.client import BridgeClient


@pytest.fixture
def fake() -> FakeApi:
    return FakeApi()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(fake: FakeApi, sleeps: Sleeps) -> AsyncIterator[BridgeClient]:
    async with make_client(fake, sleeps) as bridge:
        yield bridge
