"""Schemathesis, driven by nothing but /openapi.json, fuzzes every route of a real `ccbridge serve`:
no answer is a 5xx, and every answer's status, content type and body are ones the document declares.
This is what "a fuzzer can use the OpenAPI document" means, held on every run (25 examples an
operation; `make soak` sets FUZZ_EXAMPLES higher)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from ccbridge.testing.servers import Servers

CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance"


async def test_every_route_survives_schemathesis(servers: Servers, tmp_path: Path) -> None:
    srv = await servers.start(tmp_path, {"delivery": {"enabled": False}})
    token = await srv.token()
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        srv.base_url + "/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        os.environ.get("FUZZ_EXAMPLES", "25"),  # `make soak` asks for more
        "--seed",
        "13",
        "--no-color",
    ]
    result = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    counted = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counted is not None and counted[1] == counted[2] and int(counted[1]) > 500, report
