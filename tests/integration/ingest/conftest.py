"""Fixtures for the gateway's integration tests: real keys, a JWKS served on loopback, a gateway factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from ingest_support import ORDER_SCHEMA, Harness, Issuers, JwksServer, MakeGateway, section

from ccbridge.core.routing import SubscriptionRouter
from ccbridge.ingest import IngestGateway, compile_ingest
from ccbridge.ingest.testing import FakeClock, LegacyIssuer, MemoryAppend
from ccbridge.stores.sqlite import SqliteStore


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    server = JwksServer()
    app = web.Application()
    app.router.add_get("/jwks.json", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}/jwks.json"
    yield server
    await runner.cleanup()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def issuers() -> Issuers:
    return Issuers(LegacyIssuer("ES256"), LegacyIssuer("ES384"), LegacyIssuer("RS256"))


@pytest.fixture
def config_dir(tmp_path: Path, issuers: Issuers) -> Path:
    issuers.ec.write_pem(tmp_path / "keys" / "erp-ec.pem")
    issuers.ec384.write_pem(tmp_path / "keys" / "erp-ec384.pem")
    issuers.rsa.write_pem(tmp_path / "keys" / "erp-rsa.pem")
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "legacy-order.json").write_text(ORDER_SCHEMA)
    return tmp_path


@pytest.fixture
async def limits_store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SqliteStore]:
    """A real SQLite store on the test's clock: where the gateways keep their rate limits."""
    store = SqliteStore(str(tmp_path / "limits.db"), SubscriptionRouter(), clock=clock)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def make_gateway(
    config_dir: Path, clock: FakeClock, limits_store: SqliteStore
) -> AsyncIterator[MakeGateway]:
    """Build a gateway from `section(**kwargs)` (or a given section) with an in-memory append; its
    rate limits in `limits_store` (shared by every gateway the test makes, as by replicas)."""
    made: list[IngestGateway] = []

    async def make(doc: dict[str, Any] | None = None, **kwargs: Any) -> Harness:
        store = MemoryAppend()
        compiled = compile_ingest(doc or section(**kwargs), config_dir)
        gateway = IngestGateway(compiled, store, clock, rate_limits=limits_store)
        made.append(gateway)
        return Harness(gateway, store)

    yield make
    for gateway in made:
        await gateway.aclose()
