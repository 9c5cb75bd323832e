"""Log lines: JSON lines for files, readable text on a terminal, and the context a delivery binds
(with its endpoint's credentials masked) on every line logged on its behalf."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator

import pytest
import structlog

from ccbridge.config.load import parse_config
from ccbridge.core.event import DeliveryJob, EndpointSpec, Event
from ccbridge.observability.logging import bind_delivery, configure

EVENT = Event("evt-1", "contact.created", "s", "t", {}, "cxone", "corr-9", "t")


@pytest.fixture(autouse=True)
def _unconfigured_afterwards() -> Iterator[None]:
    """Later tests in this process expect structlog unconfigured, as the server leaves it."""
    yield
    structlog.reset_defaults()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_writes_json_lines_to_a_file_and_readable_text_to_a_terminal() -> None:
    file, tty = io.StringIO(), Terminal()
    configure("info", "auto", file)
    structlog.get_logger("t").info("hello", n=1)
    configure("info", "auto", tty)
    structlog.get_logger("t").info("hello", n=1)
    line = json.loads(file.getvalue())
    assert line["event"] == "hello" and line["n"] == 1 and line["level"] == "info"
    assert "hello" in tty.getvalue() and not tty.getvalue().lstrip().startswith("{")


def test_a_delivery_binds_its_context_masked_and_only_in_its_own_task() -> None:
    out = io.StringIO()
    configure("debug", "json", out)
    job = DeliveryJob(3, EVENT, "sub-1", EndpointSpec("https://crm:hunter2@h.example.com/x?token=abc"), 2)

    async def deliver() -> None:
        bind_delivery(job)
        structlog.get_logger("t").warning("dead letter")

    async def main() -> None:
        await asyncio.create_task(deliver())
        structlog.get_logger("t").info("elsewhere")

    asyncio.run(main())
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event_id"] == "evt-1" and first["correlation_id"] == "corr-9"
    assert first["subscription_id"] == "sub-1" and first["attempt"] == 2
    assert "hunter2" not in first["endpoint"] and "abc" not in first["endpoint"]
    assert first["endpoint"].startswith("https://crm:")
    assert "event_id" not in second


def test_log_is_the_logging_section_under_issue_18s_name() -> None:
    assert parse_config({"log": {"level": "debug", "format": "json"}}).logging.level == "debug"
    merged = parse_config({"logging": {"level": "warning", "format": "console"}, "log": {"level": "error"}})
    assert (merged.logging.level, merged.logging.format) == ("error", "console")
    assert parse_config({}).logging.format == "auto"
    assert parse_config({}, env={"CCBRIDGE_LOG__LEVEL": "error"}).logging.level == "error"


def test_debug_lines_wait_for_configure(capsys: pytest.CaptureFixture[str]) -> None:
    """Unconfigured (a program embedding the server), per-event debug lines stay off its stdout."""
    from ccbridge.observability.logging import debug

    structlog.reset_defaults()
    debug(structlog.get_logger("t"), "event stored", event_id="e1")
    assert "event stored" not in capsys.readouterr().out
    out = io.StringIO()
    configure("debug", "json", out)
    debug(structlog.get_logger("t"), "event stored", event_id="e1")
    assert json.loads(out.getvalue())["event_id"] == "e1"
