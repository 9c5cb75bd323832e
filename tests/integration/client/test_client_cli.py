"""The client commands as mounted in `ccbridge` (typer) against a real server on loopback: output,
exit codes, and which requests each command sends (watched on the way out, never answered for it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from client_support import ORDER
from pydantic import SecretStr
from typer.testing import CliRunner

from ccbridge.cli import app
from ccbridge.cli import common as cli_common
from ccbridge.client import ApiConfig, BridgeClient
from ccbridge.observability.audit import AuditLog
from ccbridge.testing.server import RunningServer, running_server

SCHEMA = Path(__file__).parent / "data" / "order_created.schema.json"
SUBS: list[dict[str, Any]] = [
    {
        "name": "calls",
        "eventType": "contact.created",
        "endpoints": [{"url": "https://h.example/a", "type": "webhook"}],
    }
]
runner = CliRunner()


class Watched(httpx.AsyncBaseTransport):
    """The real network, noting each try's method and path in a list shared across commands."""

    def __init__(self, tries: list[tuple[str, str]]) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.tries = tries

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.tries.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def tries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every try any command sends, in order (token requests included)."""
    seen: list[tuple[str, str]] = []

    def make_client(settings: ApiConfig) -> BridgeClient:
        return BridgeClient(settings, transport=Watched(seen))

    monkeypatch.setattr(cli_common, "make_client", make_client)
    yield seen


def writes(tries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [t for t in tries if t[0] != "GET" and "oauth" not in t[1]]


@contextlib.asynccontextmanager
async def served(tmp_path: Path, **sections: Any) -> AsyncIterator[RunningServer]:
    """A server whose config file (`srv.config_path`) also holds the client sections the commands read."""
    document = {
        "subscriptions": SUBS,
        "publish": {"event_types": {"OrderCreated": {"schema": str(SCHEMA), "business_key": "orderId"}}},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
        "delivery": {"enabled": False},
        **sections,
    }
    async with running_server(document) as srv:
        yield srv


async def invoke(*args: str | Path) -> Any:
    """Runs a command in a thread: the CLI runs its own event loop, the server lives in this one."""
    return await asyncio.to_thread(runner.invoke, app, [str(a) for a in args])


def offline_config(tmp_path: Path, **sections: Any) -> Path:
    """A config file for commands that must stop before any request (nothing listens on its port)."""
    document = {
        "server": {"host": "127.0.0.1", "port": 9},
        "auth": {"clients": [{"id": "ops", "secret": "ops-secret-123"}]},
        "subscriptions": SUBS,
        "publish": {"event_types": {"OrderCreated": {"schema": str(SCHEMA), "business_key": "orderId"}}},
        **sections,
    }
    path = tmp_path / "ccbridge.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


async def test_plan_apply_plan_cycle(tmp_path: Path, tries: list[tuple[str, str]]) -> None:
    """plan exits 3 with a create, apply --yes creates and audits it, the next plan exits 0."""
    async with served(tmp_path) as srv:
        config = srv.config_path
        first = await invoke("subscriptions", "plan", "--config", config)
        assert first.exit_code == 3 and "+ create calls" in first.output
        applied = await invoke("subscriptions", "apply", "--config", config, "--yes")
        assert applied.exit_code == 0, applied.output
        assert "created calls" in applied.output
        again = await invoke("subscriptions", "plan", "--config", config, "--json")
        assert again.exit_code == 0 and orjson.loads(again.output)["summary"]["unchanged"] == 1
        noop = await invoke("subscriptions", "apply", "--config", config, "--yes")
        assert noop.exit_code == 0 and "No changes." in noop.output
    assert writes(tries) == [("POST", "/api/v2/eventbridge/subscriptions")]
    assert (await invoke("audit", "verify", tmp_path / "audit.jsonl")).exit_code == 0


async def test_apply_without_yes_and_without_a_terminal_refuses(
    tmp_path: Path, tries: list[tuple[str, str]]
) -> None:
    """With no tty to ask on, apply without --yes exits 2 and writes nothing."""
    async with served(tmp_path) as srv:
        result = await invoke("subscriptions", "apply", "--config", srv.config_path)
    assert result.exit_code == 2 and "--yes" in result.output
    assert tries and writes(tries) == []


async def test_invalid_subscriptions_exit_2_naming_the_key_before_any_request(
    tmp_path: Path, tries: list[tuple[str, str]]
) -> None:
    """A bad endpoint URL exits 2 with its config path and the server's message; no request is made."""
    bad = [{**SUBS[0], "endpoints": [{"url": "not a url", "type": "webhook"}]}]
    async with served(tmp_path, subscriptions=bad) as srv:
        result = await invoke("subscriptions", "plan", "--config", srv.config_path)
    assert result.exit_code == 2
    assert "subscriptions[0].endpoints[0].url: must use http:// or https://" in result.output
    assert tries == []


async def test_bad_client_section_exits_2_naming_the_key(
    tmp_path: Path, tries: list[tuple[str, str]]
) -> None:
    """An unknown key in the api section exits 2 naming `api.<key>`."""
    api = {"base_url": "http://x", "client_id": "a", "client_secret": "b", "colour": "red"}
    result = await invoke("subscriptions", "list", "--config", offline_config(tmp_path, api=api))
    assert result.exit_code == 2 and "api.colour" in result.output and tries == []


async def test_list_and_status(tmp_path: Path) -> None:
    """list shows subscriptions without secrets; status exits 0 when nothing is waiting to be delivered."""
    async with served(tmp_path) as srv:
        await invoke("subscriptions", "apply", "--config", srv.config_path, "--yes")
        listed = await invoke("subscriptions", "list", "--config", srv.config_path, "--json")
        status = await invoke(
            "subscriptions", "status", "--config", srv.config_path, "--json", "--timeout", "0"
        )
    (entity,) = orjson.loads(listed.output)["entities"]
    assert entity["name"] == "calls" and "secret" not in entity and "secretHint" not in entity
    assert status.exit_code == 0, status.output
    (reported,) = orjson.loads(status.output)["subscriptions"]
    assert reported["settled"] is True and reported["id"] == entity["id"]


async def test_status_is_unsettled_while_deliveries_are_pending(tmp_path: Path) -> None:
    """An event whose delivery waits (no dispatcher runs) leaves the subscription unsettled: exit 1."""
    async with served(tmp_path) as srv:
        await invoke("subscriptions", "apply", "--config", srv.config_path, "--yes")
        settings = ApiConfig(
            base_url=srv.base_url, client_id=srv.client_id, client_secret=SecretStr(srv.client_secret)
        )
        async with BridgeClient(settings) as client:
            event = {"eventType": "contact.created", "attributes": {}, "timestamp": "2026-01-01T00:00:00Z"}
            await client.publish_event(event, idempotency_key="e-1")
        status = await invoke("subscriptions", "status", "--config", srv.config_path, "--timeout", "0")
    assert status.exit_code == 1 and "calls" in status.output


async def test_publish_prints_event_id_and_key(tmp_path: Path) -> None:
    """publish --type --data prints the event id and idempotency key; a second run is a duplicate."""
    data = tmp_path / "order.json"
    data.write_bytes(orjson.dumps(ORDER))
    async with served(tmp_path) as srv:
        first = await invoke(
            "publish", "--config", srv.config_path, "--type", "OrderCreated", "--data", f"@{data}", "--json"
        )
        again = await invoke(
            "publish",
            "--config",
            srv.config_path,
            "--type",
            "OrderCreated",
            "--data",
            orjson.dumps(ORDER).decode(),
        )
    assert first.exit_code == 0, first.output
    published = orjson.loads(first.output)
    assert published["duplicate"] is False and published["eventId"]
    assert again.exit_code == 0 and "duplicate of event " + published["eventId"] in again.output
    assert published["idempotencyKey"] in again.output


async def test_publish_schema_errors_exit_2_listing_every_error(
    tmp_path: Path, tries: list[tuple[str, str]]
) -> None:
    """Invalid data exits 2 and prints each violation; nothing is sent."""
    bad = orjson.dumps({**ORDER, "currency": "usd", "totalAmount": -1}).decode()
    async with served(tmp_path) as srv:
        result = await invoke("publish", "--config", srv.config_path, "--type", "OrderCreated", "--data", bad)
    assert result.exit_code == 2
    assert "data.currency" in result.output and "data.totalAmount" in result.output
    assert tries == []


async def test_publish_usage_errors_exit_2(tmp_path: Path, tries: list[tuple[str, str]]) -> None:
    """Missing --data, both --file and --type, and non-JSON --data are usage errors."""
    config = offline_config(tmp_path)
    assert (await invoke("publish", "--config", config, "--type", "OrderCreated")).exit_code == 2
    assert (await invoke("publish", "--config", config, "--type", "X", "--file", "f.jsonl")).exit_code == 2
    result = await invoke("publish", "--config", config, "--type", "OrderCreated", "--data", "{nope")
    assert result.exit_code == 2 and "--data" in result.output
    assert tries == []


async def test_publish_file_counts_and_writes_rejected_lines(tmp_path: Path) -> None:
    """--file publishes each line and writes rejected ones, with errors, to --rejected-file (exit 1)."""
    lines = [
        orjson.dumps({"type": "OrderCreated", "data": ORDER}),
        orjson.dumps({"type": "OrderCreated", "data": ORDER}),
        orjson.dumps({"type": "OrderCreated", "data": {**ORDER, "orderId": "bad"}}),
    ]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    rejected = tmp_path / "rejected.jsonl"
    async with served(tmp_path) as srv:
        result = await invoke(
            "publish", "--config", srv.config_path, "--file", events, "--rejected-file", rejected, "--json"
        )
    assert result.exit_code == 1
    counts = orjson.loads(result.output)
    assert (counts["published"], counts["duplicates"]) == (1, 1)
    (record,) = [orjson.loads(line) for line in rejected.read_bytes().splitlines()]
    assert record["line"] == 3 and record["errors"][0]["field"] == "data.orderId"


def test_audit_verify_names_the_first_bad_line(tmp_path: Path) -> None:
    """audit verify exits 1 and names the first bad line of a tampered file."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, fsync=False)
    for i in range(3):
        log.append_sync(actor="a", operation="create", subscription_id=str(i), status="created")
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([lines[0], lines[2]]) + b"\n")
    result = runner.invoke(app, ["audit", "verify", str(path)])
    assert result.exit_code == 1 and "line 2" in result.output
