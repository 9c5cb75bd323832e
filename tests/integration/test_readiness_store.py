"""`/readyz` is ready only while the store answers: the real server on PostgreSQL reached through a
TCP relay on loopback that the test cuts and restores (nothing else needs to write meanwhile)."""

from __future__ import annotations

import os

import httpx

from ccbridge.testing.relay import Relay
from ccbridge.testing.server import running_server, wait_until

URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def test_readyz_follows_whether_the_store_answers(schema: str) -> None:
    relay = Relay(5432)
    await relay.restore()
    store = {"url": f"postgresql://postgres@127.0.0.1:{relay.port}/test", "postgres_schema": schema}
    try:
        async with running_server({"store": store}) as srv, httpx.AsyncClient(base_url=srv.base_url) as web:
            assert (await web.get("/readyz")).json() == {"status": "ready"}
            await relay.cut()
            down = await web.get("/readyz")
            assert down.status_code == 503
            assert down.json()["status"] == "unavailable"
            assert "does not answer" in down.json()["reason"] or "did not answer" in down.json()["reason"]
            await relay.restore()

            async def ready() -> bool:
                return (await web.get("/readyz")).status_code == 200

            assert await wait_until(ready, timeout=15)
    finally:
        await relay.cut()
