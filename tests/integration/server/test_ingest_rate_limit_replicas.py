"""`ingest.rate_limit` on real servers: two servers on one store (one SQLite file, or one PostgreSQL
schema: two replicas) share a subject's budget over HTTP, answering 429 with `Retry-After` beyond
it; with the store out of reach the check fails closed, 503 with `Retry-After`, never a 500."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccbridge.ingest.testing import LegacyIssuer, orders_source
from ccbridge.testing.relay import Relay
from ccbridge.testing.server import running_server

URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ORDER = {"event_type": "order_created", "amount": 19.5, "currency": "EUR", "timestamp": 1732442400}
SCHEMA = {"type": "object", "required": ["event_type", "transaction_id", "amount", "currency", "timestamp"]}
# one request per 1000 s after a burst of 2: nothing refills while a test runs
RATE = {"per_subject_per_second": 0.001, "burst": 2}


def config(folder: Path, issuer: LegacyIssuer, store: dict[str, str] | None) -> dict[str, Any]:
    issuer.write_pem(folder / "keys" / "erp.pem")
    (folder / "order.json").write_text(json.dumps(SCHEMA))
    doc: dict[str, Any] = {
        "ingest": {
            "jwt": {"public_key_files": ["keys/erp.pem"], "issuer": "legacy-erp", "audience": "ccbridge"},
            "sources": [orders_source("order.json")],
            "rate_limit": RATE,
        },
        "delivery": {"enabled": False},
    }
    if store is not None:
        doc["store"] = store
    return doc


async def post(client: httpx.AsyncClient, issuer: LegacyIssuer, n: int, sub: str = "erp") -> httpx.Response:
    return await client.post(
        "/ingest", json={**ORDER, "transaction_id": f"tx-{n}"}, headers=issuer.bearer(sub=sub)
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_two_servers_on_one_store_share_a_subjects_budget(
    backend: str, tmp_path: Path, schema: str
) -> None:
    issuer = LegacyIssuer("ES256")
    store = None if backend == "sqlite" else {"url": URL, "postgres_schema": schema}  # sqlite: one file
    doc = config(tmp_path, issuer, store)
    async with contextlib.AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(running_server(doc, folder=tmp_path)) for _ in range(2)]
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=s.base_url)) for s in servers]
        answers = [await post(clients[n % 2], issuer, n) for n in range(5)]
        other = await post(clients[1], issuer, 9, sub="crm")
    assert [a.status_code for a in answers] == [202, 202, 429, 429, 429]
    for refused in answers[2:]:
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 0 < int(refused.headers["retry-after"]) <= 1000
    assert other.status_code == 202


async def test_the_store_out_of_reach_is_503_with_retry_after(tmp_path: Path, schema: str) -> None:
    relay = Relay(5432)
    await relay.restore()
    issuer = LegacyIssuer("ES256")
    store = {"url": f"postgresql://postgres@127.0.0.1:{relay.port}/test", "postgres_schema": schema}
    try:
        async with (
            running_server(config(tmp_path, issuer, store), folder=tmp_path) as srv,
            httpx.AsyncClient(base_url=srv.base_url) as client,
        ):
            assert (await post(client, issuer, 1)).status_code == 202
            await relay.cut()
            down = [await post(client, issuer, n) for n in (2, 3)]
            assert [d.status_code for d in down] == [503, 503]
            assert all(int(d.headers["retry-after"]) > 0 for d in down)
            assert all(d.headers["content-type"].startswith("application/problem+json") for d in down)
    finally:
        await relay.cut()
