"""Fixtures for the ingestion gateway's unit tests: a settable clock and a config folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccbridge.ingest.testing import FakeClock, LegacyIssuer

ORDER_SCHEMA = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["transaction_id", "event_type", "timestamp"],
  "properties": {"amount": {"type": "number"}, "timestamp": {"type": ["string", "number"]}}
}"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A config folder with keys/erp-ec.pem (P-256), keys/erp-ec384.pem, keys/erp-rsa.pem and a schema."""
    LegacyIssuer("ES256").write_pem(tmp_path / "keys" / "erp-ec.pem")
    LegacyIssuer("ES384").write_pem(tmp_path / "keys" / "erp-ec384.pem")
    LegacyIssuer("RS256").write_pem(tmp_path / "keys" / "erp-rsa.pem")
    schema = tmp_path / "schemas" / "legacy-order.json"
    schema.parent.mkdir()
    schema.write_text(ORDER_SCHEMA)
    return tmp_path
