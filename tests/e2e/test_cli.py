"""The CLI as a user runs it: separate processes, exit codes, messages naming the key."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from ccbridge.ingest.testing import orders_source
from ccbridge.testing.server import running_server

ROOT = Path(__file__).resolve().parents[2]


def ccbridge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`ccbridge ARGS` in a child process; `env` adds variables to the inherited environment."""
    return subprocess.run(
        [sys.executable, "-m", "ccbridge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


async def accbridge(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ccbridge",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


def test_check_config_accepts_the_example_and_names_a_bad_key(tmp_path: Path) -> None:
    """The README's example config is valid; an unknown nested key exits 2 naming its path."""
    ok = ccbridge("check-config", "--config", str(ROOT / "examples" / "ccbridge.yaml"))
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("auth:\n  clients:\n    - id: a\n      secret: long-enough-secret\n      scop: []\n")
    failed = ccbridge("check-config", "--config", str(bad))
    assert failed.returncode == 2
    assert "auth.clients[0].scop: unknown key" in failed.stderr


def test_every_example_config_is_valid() -> None:
    """Each config under examples/ passes check-config as shipped."""
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    assert examples
    for example in examples:
        ok = ccbridge("check-config", "--config", str(example))
        assert ok.returncode == 0, f"{example.name}: {ok.stderr}"


def test_check_config_prints_every_problem_on_its_own_line(tmp_path: Path) -> None:
    """A file with three mistakes: three `error:` lines, each naming its key, and exit 2."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "server: {port: 99999}\ndelivery: {enabled: maybe}\naudit: {path: a.jsonl, rotate: daily}\n"
    )
    failed = ccbridge("check-config", "--config", str(bad))
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert [line.split(":")[1].strip() for line in lines] == [
        "server.port",
        "delivery.enabled",
        "audit.rotate",
    ]


def test_check_config_applies_environment_overrides(tmp_path: Path) -> None:
    """CCBRIDGE_SECTION__KEY overrides the file (a fix passes, a bad value fails); an unknown key
    in a variable exits 2 naming the variable."""
    config = tmp_path / "ccbridge.yaml"
    config.write_text("server: {port: 99999}\n")
    assert ccbridge("check-config", "--config", str(config)).returncode == 2
    fixed = ccbridge("check-config", "--config", str(config), env={"CCBRIDGE_SERVER__PORT": "9000"})
    assert fixed.returncode == 0, fixed.stderr
    wrong = ccbridge(
        "check-config",
        "--config",
        str(config),
        env={"CCBRIDGE_SERVER__PORT": "1", "CCBRIDGE_STORE__URLL": "x"},
    )
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == "error: store.urll: unknown key (from CCBRIDGE_STORE__URLL)"


def test_check_config_reports_the_files_the_ingest_section_names(tmp_path: Path) -> None:
    """Missing key and schema files are found by check-config, every one of them, before serving."""
    section = {
        "jwt": {"public_key_files": ["keys/absent.pem"]},
        "sources": [orders_source("schemas/absent.json")],
    }
    config = tmp_path / "ccbridge.yaml"
    config.write_text(yaml.safe_dump({"ingest": section}))
    failed = ccbridge("check-config", "--config", str(config))
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "ingest.jwt.public_key_files[0]",
        "ingest.sources[0].schema",
    ]


def test_test_pattern_prints_true_false_and_rejects_bad_patterns(tmp_path: Path) -> None:
    """test-pattern answers like the AWS CLI and exits 2 with the reason for an invalid pattern."""
    event = json.dumps({"event": "contact.created", "data": {"channel": "voice", "duration": 300}})
    (tmp_path / "p.json").write_text(json.dumps({"data": {"duration": [{"numeric": [">", 120]}]}}))
    yes = ccbridge("test-pattern", "--pattern", f"@{tmp_path / 'p.json'}", "--event", event)
    no = ccbridge("test-pattern", "--pattern", '{"data": {"channel": ["chat"]}}', "--event", event)
    bad = ccbridge("test-pattern", "--pattern", '{"data": {"channel": [{"prefx": "v"}]}}', "--event", event)
    assert (yes.returncode, yes.stdout.strip()) == (0, "true")
    assert (no.returncode, no.stdout.strip()) == (0, "false")
    assert bad.returncode == 2 and "prefx" in bad.stderr


async def test_deadletters_commands_against_a_running_server() -> None:
    """deadletters list/replay/purge talk to the server named by the config file."""
    async with running_server({"delivery": {"allowed_networks": []}}) as srv:
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            await api.post(
                "/api/v2/eventbridge/subscriptions",
                json={
                    "name": "refused",
                    "eventType": "contact.created",
                    "endpoints": [{"url": "http://127.0.0.1:9/x"}],
                },
            )
            await api.post(
                "/api/v2/eventbridge/events",
                json={"eventType": "contact.created", "attributes": {}, "timestamp": "2026-11-24T10:00:00Z"},
            )
            for _ in range(200):
                if (await api.get("/api/v2/eventbridge/deadletters")).json()["total"]:
                    break
                await asyncio.sleep(0.02)
        code, out, err = await accbridge("deadletters", "list", "--json", "--config", str(srv.config_path))
        assert code == 0, err
        [letter] = json.loads(out)["entities"]
        assert "127.0.0.1" in letter["reason"]
        code, out, _ = await accbridge("deadletters", "purge", "--json", "--config", str(srv.config_path))
        assert (code, json.loads(out)) == (0, {"purged": 1})
        code, _, err = await accbridge("deadletters", "replay", "--config", str(srv.config_path))
        assert code == 2 and "exactly one" in err
