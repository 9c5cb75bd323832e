"""`ccbridge test-pattern` as a function: prints true/false, or an error and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccbridge.cli.pattern import test_pattern as run

PATTERN = json.dumps({"data": {"channel": ["voice"], "duration": [{"numeric": [">", 120]}]}})


def test_prints_true(capsys: pytest.CaptureFixture[str]) -> None:
    """A matching event prints `true` and exits 0."""
    assert run(PATTERN, '{"data": {"channel": "voice", "duration": 300}}') == 0
    assert capsys.readouterr() == ("true\n", "")


def test_prints_false(capsys: pytest.CaptureFixture[str]) -> None:
    """A non-matching event prints `false` and still exits 0."""
    assert run(PATTERN, '{"data": {"channel": "voice", "duration": 60}}') == 0
    assert capsys.readouterr() == ("false\n", "")


def test_numbers_beyond_a_double(capsys: pytest.CaptureFixture[str]) -> None:
    """JSON integers have no size limit; one too large for a float still compares exactly (it once
    ended in an OverflowError traceback)."""
    huge = "1" + "0" * 400
    assert run(PATTERN, f'{{"data": {{"channel": "voice", "duration": {huge}}}}}') == 0
    assert run(PATTERN, f'{{"data": {{"channel": "voice", "duration": -{huge}}}}}') == 0
    assert run(PATTERN, f'{{"data": {{"channel": "voice", "duration": {2**53 + 1}}}}}') == 0
    assert capsys.readouterr() == ("true\nfalse\ntrue\n", "")


def test_reads_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An argument starting with @ is read from that file."""
    (tmp_path / "p.json").write_text(PATTERN, encoding="utf-8")
    (tmp_path / "e.json").write_text('{"data": {"channel": "voice", "duration": 121}}', encoding="utf-8")
    assert run(f"@{tmp_path / 'p.json'}", f"@{tmp_path / 'e.json'}") == 0
    assert capsys.readouterr().out == "true\n"


@pytest.mark.parametrize(
    ("pattern", "event", "message"),
    [
        pytest.param(
            '{"a": "x"}', "{}", "error: pattern: a: a leaf must be an array of values", id="bad-pattern"
        ),
        pytest.param(
            '{"a": [{"prefx": "x"}]}', "{}", 'error: pattern: a: unknown operator "prefx"', id="operator"
        ),
        pytest.param("[1]", "{}", "error: pattern: a pattern must be a JSON object", id="not-object"),
        pytest.param("{", "{}", "error: pattern: invalid JSON: Expecting property name", id="pattern-json"),
        pytest.param('{"a": ["x"]}', "nope", "error: event: invalid JSON: Expecting value", id="event-json"),
        pytest.param('{"a": ["x"]}', "[]", "error: event: must be a JSON object", id="event-array"),
        pytest.param(
            "@/nonexistent/p.json", "{}", "error: pattern: cannot read '/nonexistent/p.json'", id="file"
        ),
    ],
)
def test_errors(pattern: str, event: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input prints `error: <reason>` to stderr, nothing to stdout, and returns 2."""
    assert run(pattern, event) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message), err
