"""Seed 003's gateway as its document runs it: the public key from an environment variable, and a
source that may fall back to "now" for an unparseable event time (keeping the original)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from ingest_support import ORDER, Issuers, MakeGateway, section

from ccbridge.config.load import load_config
from ccbridge.errors import AuthError, ConfigError, InputError
from ccbridge.ingest import IngestGateway, compile_ingest
from ccbridge.ingest.testing import FakeClock, LegacyIssuer, MemoryAppend, orders_source


def order(**changes: Any) -> bytes:
    doc = {**ORDER, **changes}
    return orjson.dumps({k: v for k, v in doc.items() if v is not None})


def config_file(tmp_path: Path, jwt: dict[str, Any], source: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "ccbridge.yaml"
    jwt = {"issuer": "legacy-erp", "audience": "ccbridge", **jwt}
    doc = {"ingest": {"jwt": jwt, "sources": [source or orders_source(None)]}}
    path.write_text(yaml.safe_dump(doc))
    return path


async def test_public_key_inline_from_an_environment_variable(
    tmp_path: Path, issuers: Issuers, clock: FakeClock
) -> None:
    """`public_key_pem: ${LEGACY_JWT_PUB_KEY}` verifies the legacy system's tokens; no key file."""
    path = config_file(tmp_path, {"public_key_pem": "${LEGACY_JWT_PUB_KEY}"})
    config = load_config(path, env={"LEGACY_JWT_PUB_KEY": issuers.ec.public_pem().decode()})
    assert config.ingest is not None
    store = MemoryAppend()
    gateway = IngestGateway(compile_ingest(config.ingest, tmp_path), store, clock)
    try:
        result = await gateway.handle(issuers.ec.bearer(clock.now()), order())
        assert result.status_code == 202 and len(store.events) == 1
        with pytest.raises(AuthError):  # a key the config does not hold is refused
            await gateway.handle(LegacyIssuer("ES256").bearer(clock.now()), order(transaction_id="T-2"))
    finally:
        await gateway.aclose()


async def test_an_inline_key_on_one_line_with_escaped_newlines_is_read(
    config_dir: Path, issuers: Issuers, clock: FakeClock
) -> None:
    one_line = issuers.rsa.public_pem().decode().strip().replace("\n", "\\n")
    doc = section(public_key_files=[], public_key_pem=[{"pem": one_line, "kid": "erp"}])
    gateway = IngestGateway(compile_ingest(doc, config_dir), MemoryAppend(), clock)
    try:
        doc_order = dict(ORDER)
        result = await gateway.handle(issuers.rsa.bearer(clock.now()), orjson.dumps(doc_order))
        assert result.status_code == 202
    finally:
        await gateway.aclose()


def test_an_inline_private_key_or_junk_is_refused_naming_the_key(config_dir: Path) -> None:
    doc = section(public_key_files=[], public_key_pem=["-----BEGIN PRIVATE KEY-----\nxx\n"])
    with pytest.raises(ConfigError) as caught:
        compile_ingest(doc, config_dir)
    assert "jwt.public_key_pem[0]" in str(caught.value) and "private key" in str(caught.value)
    with pytest.raises(ConfigError) as junk:
        compile_ingest(section(public_key_files=[], public_key_pem=["not a key"]), config_dir)
    assert "public_key_pem[0]" in str(junk.value)


async def test_on_bad_time_now_uses_the_time_received_and_keeps_the_original(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    doc = section()
    doc["sources"][0]["on_bad_time"] = "now"
    harness = await make_gateway(doc)
    await harness.gateway.handle(issuers.ec.bearer(clock.now()), order(timestamp="01/05/2024"))
    (event,) = harness.store.events
    assert event.time == event.received_at == "2024-05-01T12:00:00.000Z"
    assert event.metadata["originalEventTime"] == "01/05/2024"
    assert event.metadata["eventTimeFallback"].startswith("timestamp: ")
    assert event.document()["metadata"]["originalEventTime"] == "01/05/2024"


async def test_on_bad_time_now_keeps_good_times(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    doc = section()
    doc["sources"][0]["on_bad_time"] = "now"
    harness = await make_gateway(doc)
    await harness.gateway.handle(issuers.ec.bearer(clock.now()), order())
    (event,) = harness.store.events
    assert event.time == "2024-05-01T12:00:00Z" and "originalEventTime" not in event.metadata


async def test_on_bad_time_defaults_to_reject(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    doc = section()
    doc["sources"][0]["on_bad_time"] = "reject"
    harness = await make_gateway(doc)
    with pytest.raises(InputError):
        await harness.gateway.handle(issuers.ec.bearer(clock.now()), order(timestamp="01/05/2024"))
    assert harness.store.events == []


def test_on_bad_time_takes_only_reject_or_now(tmp_path: Path) -> None:
    source = {**orders_source(None), "on_bad_time": "later"}
    path = config_file(tmp_path, {"public_key_pem": "x"}, source)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "ingest.sources[0].on_bad_time" in str(caught.value) or "on_bad_time" in str(caught.value)
