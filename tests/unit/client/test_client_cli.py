"""The client commands as mounted in `ccbridge` (typer), against the fake server: output and exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from client_fakes import FakeApi, make_client
from pydantic import SecretStr
from test_client_publish import ORDER, SCHEMA
from typer.testing import CliRunner

from ccbridge import cli_client
from ccbridge.cli import app
from ccbridge.client import ApiConfig, client_settings
from ccbridge.config import parse_config
from ccbridge.errors import ConfigError

runner = CliRunner()
SUBS: list[dict[str, Any]] = [
    {
        "name": "calls",
        "eventType": "contact.created",
        "endpoints": [{"url": "https://h.example/a", "type": "webhook"}],
    }
]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    api = FakeApi()
    monkeypatch.setattr(cli_client, "make_client", lambda settings: make_client(api, settings=settings))
    return api


def write_config(tmp_path: Path, **sections: Any) -> Path:
    document = {
        "server": {"host": "0.0.0.0", "port": 9999},
        "auth": {"clients": [{"id": "ops", "secret": "ops-secret-123"}]},
        "subscriptions": SUBS,
        "publish": {"event_types": {"OrderCreated": {"schema": str(SCHEMA), "business_key": "orderId"}}},
        "audit": {"path": "audit.jsonl"},
        **sections,
    }
    path = tmp_path / "ccbridge.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def invoke(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def test_plan_apply_plan_cycle(fake: FakeApi, tmp_path: Path) -> None:
    """plan exits 3 with a create, apply --yes creates and audits it, the next plan exits 0."""
    config = write_config(tmp_path)
    first = invoke("subscriptions", "plan", "--config", config)
    assert first.exit_code == 3 and "+ create calls" in first.output
    applied = invoke("subscriptions", "apply", "--config", config, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "created calls" in applied.output
    again = invoke("subscriptions", "plan", "--config", config, "--json")
    assert again.exit_code == 0 and orjson.loads(again.output)["summary"]["unchanged"] == 1
    assert (tmp_path / "audit.jsonl").exists()
    assert invoke("audit", "verify", tmp_path / "audit.jsonl").exit_code == 0
    noop = invoke("subscriptions", "apply", "--config", config, "--yes")
    assert noop.exit_code == 0 and "No changes." in noop.output and len(fake.writes()) == 1


def test_apply_without_yes_and_without_a_terminal_refuses(fake: FakeApi, tmp_path: Path) -> None:
    """With no tty to ask on, apply without --yes exits 2 and writes nothing."""
    result = invoke("subscriptions", "apply", "--config", write_config(tmp_path))
    assert result.exit_code == 2 and "--yes" in result.output and fake.writes() == []


def test_invalid_subscriptions_exit_2_naming_the_key_before_any_request(
    fake: FakeApi, tmp_path: Path
) -> None:
    """A bad endpoint URL exits 2 with its config path, and no request is made."""
    bad = [{**SUBS[0], "endpoints": [{"url": "not a url", "type": "webhook"}]}]
    result = invoke("subscriptions", "plan", "--config", write_config(tmp_path, subscriptions=bad))
    assert result.exit_code == 2
    assert "subscriptions[0].endpoints[0].url" in result.output
    assert fake.requests == [] and fake.token_requests == []


def test_bad_client_section_exits_2_naming_the_key(fake: FakeApi, tmp_path: Path) -> None:
    """An unknown key in the api section exits 2 naming `api.<key>`."""
    api = {"base_url": "http://x", "client_id": "a", "client_secret": "b", "colour": "red"}
    result = invoke("subscriptions", "list", "--config", write_config(tmp_path, api=api))
    assert result.exit_code == 2 and "api.colour" in result.output


def test_list_and_status(fake: FakeApi, tmp_path: Path) -> None:
    """list shows subscriptions without secrets; status exits 0 once deliveries are settled."""
    config = write_config(tmp_path)
    invoke("subscriptions", "apply", "--config", config, "--yes")
    listed = invoke("subscriptions", "list", "--config", config, "--json")
    (entity,) = orjson.loads(listed.output)["entities"]
    assert entity["name"] == "calls" and "secret" not in entity
    sub_id = entity["id"]
    fake.statuses[sub_id] = {
        "subscriptionId": sub_id,
        "state": "active",
        "counts": {"delivered": 3, "pending": 0, "retrying": 0, "deadLettered": 0},
    }
    status = invoke("subscriptions", "status", "--config", config, "--json", "--timeout", "1")
    assert status.exit_code == 0, status.output
    assert orjson.loads(status.output)["subscriptions"][0]["settled"] is True


def test_status_times_out_when_deliveries_stay_pending(fake: FakeApi, tmp_path: Path) -> None:
    """A subscription that keeps pending deliveries is reported unsettled with exit 1 after --timeout."""
    config = write_config(tmp_path)
    invoke("subscriptions", "apply", "--config", config, "--yes")
    (sub_id,) = fake.subscriptions
    fake.statuses[sub_id] = {"state": "degraded", "counts": {"pending": 2, "retrying": 1}}
    status = invoke("subscriptions", "status", "--config", config, "--timeout", "0.3")
    assert status.exit_code == 1 and "calls" in status.output


def test_publish_prints_event_id_and_key(fake: FakeApi, tmp_path: Path) -> None:
    """publish --type --data prints the event id and idempotency key; a second run is a duplicate."""
    config = write_config(tmp_path)
    data = tmp_path / "order.json"
    data.write_bytes(orjson.dumps(ORDER))
    result = invoke("publish", "--config", config, "--type", "OrderCreated", "--data", f"@{data}")
    assert result.exit_code == 0, result.output
    (event,) = fake.events.values()
    assert event["id"] in result.output and event["idempotencyKey"] in result.output
    again = invoke(
        "publish",
        "--config",
        config,
        "--type",
        "OrderCreated",
        "--data",
        orjson.dumps(ORDER).decode(),
        "--json",
    )
    assert orjson.loads(again.output)["duplicate"] is True


def test_publish_schema_errors_exit_2_listing_every_error(fake: FakeApi, tmp_path: Path) -> None:
    """Invalid data exits 2 and prints each violation; nothing is sent."""
    bad = orjson.dumps({**ORDER, "currency": "usd", "totalAmount": -1}).decode()
    result = invoke("publish", "--config", write_config(tmp_path), "--type", "OrderCreated", "--data", bad)
    assert result.exit_code == 2
    assert "data.currency" in result.output and "data.totalAmount" in result.output
    assert fake.requests == []


def test_publish_usage_errors_exit_2(fake: FakeApi, tmp_path: Path) -> None:
    """Missing --data, both --file and --type, and non-JSON --data are usage errors."""
    config = write_config(tmp_path)
    assert invoke("publish", "--config", config, "--type", "OrderCreated").exit_code == 2
    assert invoke("publish", "--config", config, "--type", "X", "--file", "f.jsonl").exit_code == 2
    result = invoke("publish", "--config", config, "--type", "OrderCreated", "--data", "{nope")
    assert result.exit_code == 2 and "--data" in result.output


def test_publish_file_counts_and_writes_rejected_lines(fake: FakeApi, tmp_path: Path) -> None:
    """--file publishes each line and writes rejected ones, with errors, to --rejected-file (exit 1)."""
    lines = [
        orjson.dumps({"type": "OrderCreated", "data": ORDER}),
        orjson.dumps({"type": "OrderCreated", "data": ORDER}),
        orjson.dumps({"type": "OrderCreated", "data": {**ORDER, "orderId": "bad"}}),
    ]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    rejected = tmp_path / "rejected.jsonl"
    result = invoke(
        "publish", "--config", write_config(tmp_path), "--file", events, "--rejected-file", rejected, "--json"
    )
    assert result.exit_code == 1
    assert orjson.loads(result.output)["published"] == 1
    assert orjson.loads(result.output)["duplicates"] == 1
    (record,) = [orjson.loads(line) for line in rejected.read_bytes().splitlines()]
    assert record["line"] == 3 and record["errors"][0]["field"] == "data.orderId"


def test_audit_verify_names_the_first_bad_line(tmp_path: Path) -> None:
    """audit verify exits 1 and names the first bad line of a tampered file."""
    from ccbridge.observability.audit import AuditLog

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, fsync=False)
    for i in range(3):
        log.append_sync(actor="a", operation="create", subscription_id=str(i), status="created")
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([lines[0], lines[2]]) + b"\n")
    result = invoke("audit", "verify", path)
    assert result.exit_code == 1 and "line 2" in result.output


def test_client_settings_fall_back_to_the_server_section() -> None:
    """Without `api`, the CLI talks to server.host:port (wildcard -> loopback) as the first client."""
    config = parse_config(
        {
            "server": {"host": "0.0.0.0", "port": 8123},
            "auth": {
                "clients": [{"id": "ops", "secret": "ops-secret-123", "scopes": ["eventbridge:events:write"]}]
            },
        }
    )
    settings = client_settings(config)
    assert settings.base_url == "http://127.0.0.1:8123" and settings.client_id == "ops"
    assert settings.client_secret.get_secret_value() == "ops-secret-123"
    assert settings.scopes == ["eventbridge:events:write"]
    explicit = parse_config(
        {
            "api": {
                "base_url": "https://bridge.example/",
                "client_id": "c",
                "client_secret": "s",
                "auth_style": "basic",
            }
        }
    )
    assert client_settings(explicit) == ApiConfig(
        base_url="https://bridge.example", client_id="c", client_secret=SecretStr("s"), auth_style="basic"
    )
    with pytest.raises(ConfigError) as caught:
        client_settings(parse_config({}))
    assert caught.value.path == "api"
