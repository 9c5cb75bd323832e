"""The hash-chained audit log: what a line holds, and that verify names the first tampered line."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path
from typing import Any

import orjson
import pytest

from ccbridge.observability.audit import FIELDS, AuditLog, encode, verify


def _fill(path: Path, count: int = 5) -> AuditLog:
    log = AuditLog(path, fsync=False)
    for i in range(count):
        log.append_sync(
            actor="cli",
            operation="create",
            subscription_id=f"sub-{i}",
            status="created",
            idempotency_key=f"k{i}",
            request_id=f"r{i}",
        )
    return log


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_lines_hold_only_the_audit_fields_chained(tmp_path: Path) -> None:
    """Each line has exactly the listed fields plus prev/hash; the first prev is 64 zeros."""
    path = tmp_path / "audit.jsonl"
    _fill(path, 3)
    records = [orjson.loads(line) for line in _lines(path)]
    assert [list(r) for r in records] == [[*FIELDS, "prev", "hash"]] * 3
    assert records[0]["prev"] == "0" * 64 and records[1]["prev"] != records[2]["prev"]
    assert records[0]["actor"] == "cli" and records[2]["subscriptionId"] == "sub-2"
    assert verify(path) == (True, None, None)


def test_values_other_than_strings_and_ints_are_refused(tmp_path: Path) -> None:
    """An object (which might stringify to a secret) cannot be written as a field value."""
    log = AuditLog(tmp_path / "a.jsonl")
    with pytest.raises(TypeError):
        log.append_sync(
            actor="cli",
            operation="create",
            subscription_id={"secret": "x"},  # type: ignore[arg-type]
            status="created",
        )


def test_an_edited_line_is_named(tmp_path: Path) -> None:
    """Changing a value in line 3 (without fixing its hash) makes line 3 the first bad line."""
    path = tmp_path / "audit.jsonl"
    _fill(path)
    lines = _lines(path)
    lines[2] = lines[2].replace(b'"created"', b'"deleted"')
    _write(path, lines)
    ok, bad, reason = verify(path)
    assert (ok, bad) == (False, 3) and reason is not None and "altered" in reason


def test_an_edited_last_line_is_detected(tmp_path: Path) -> None:
    """Even the last line, which no later line links to, is caught by its own hash."""
    path = tmp_path / "audit.jsonl"
    _fill(path)
    lines = _lines(path)
    lines[-1] = lines[-1].replace(b'"cli"', b'"eve"')
    _write(path, lines)
    assert verify(path)[:2] == (False, 5)


def test_a_rewritten_line_with_a_fixed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    """A forger who recomputes line 2's own hash is caught at line 3, whose prev no longer matches."""
    path = tmp_path / "audit.jsonl"
    _fill(path)
    lines = _lines(path)
    record = orjson.loads(lines[1])
    record["status"] = "failed"
    lines[1] = encode(record, record["prev"])
    _write(path, lines)
    ok, bad, reason = verify(path)
    assert (ok, bad) == (False, 3) and reason is not None and "line 2" in reason


def test_a_removed_line_is_named_by_the_line_after_the_gap(tmp_path: Path) -> None:
    """Deleting line 2 makes the new line 2 (formerly 3) the first bad one."""
    path = tmp_path / "audit.jsonl"
    _fill(path)
    lines = _lines(path)
    del lines[1]
    _write(path, lines)
    assert verify(path)[:2] == (False, 2)


def test_removing_the_first_line_is_detected(tmp_path: Path) -> None:
    """Cutting the head of the file leaves a first line whose prev is not the genesis value."""
    path = tmp_path / "audit.jsonl"
    _fill(path)
    _write(path, _lines(path)[1:])
    assert verify(path)[:2] == (False, 1)


@pytest.mark.parametrize("copy_from", [0, 3])
def test_an_inserted_line_is_named(tmp_path: Path, copy_from: int) -> None:
    """A line inserted at position 3 (a copy of a valid line) is itself the first bad line."""
    path = tmp_path / "audit.jsonl"
    _fill(path)
    lines = _lines(path)
    lines.insert(2, lines[copy_from])
    _write(path, lines)
    assert verify(path)[:2] == (False, 3)


def test_a_torn_last_line_is_reported_and_the_chain_continues(tmp_path: Path) -> None:
    """A half-written line is closed before the next append; verify names it; later lines still link."""
    path = tmp_path / "audit.jsonl"
    log = _fill(path, 2)
    with path.open("ab") as f:
        f.write(b'{"time":"2024')
    assert verify(path)[:2] == (False, 3)
    log.append_sync(actor="cli", operation="delete", subscription_id="x", status="deleted")
    assert len(_lines(path)) == 4
    ok, bad, reason = verify(path)
    assert (ok, bad) == (False, 3) and reason is not None and "not JSON" in reason


def test_empty_or_missing_file(tmp_path: Path) -> None:
    """An empty file is a valid (empty) chain; a missing file is reported, not raised."""
    (tmp_path / "empty").write_bytes(b"")
    assert verify(tmp_path / "empty") == (True, None, None)
    assert verify(tmp_path / "missing")[0] is False


async def test_async_append_and_record_then_drain(tmp_path: Path) -> None:
    """`append` (awaited) and `record` (fire-and-forget, then `drain`) both write chained lines."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, fsync=False)
    written = await log.append(actor="srv", operation="replay", subscription_id=None, status=200)
    assert written["status"] == 200 and written["subscriptionId"] is None
    for i in range(20):
        log.record(actor="srv", operation="update", subscription_id=f"s{i}", status=200)
    await log.drain()
    assert len(_lines(path)) == 21 and verify(path).ok


async def test_concurrent_async_appends_keep_the_chain(tmp_path: Path) -> None:
    """50 appends racing on worker threads leave 50 lines and a valid chain."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, fsync=False)
    await asyncio.gather(
        *(log.append(actor="a", operation="create", subscription_id=str(i), status="ok") for i in range(50))
    )
    assert len(_lines(path)) == 50 and verify(path).ok


def _writer(path: str, name: str, count: int, go: Any) -> None:
    log = AuditLog(path, fsync=False)
    go.wait(30)
    for i in range(count):
        log.append_sync(actor=name, operation="update", subscription_id=f"{name}-{i}", status="updated")


def test_several_processes_appending_keep_the_chain_valid(tmp_path: Path) -> None:
    """Four processes appending 100 lines each at once to one file leave 400 lines and an intact chain."""
    path = tmp_path / "shared.jsonl"
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    workers = [context.Process(target=_writer, args=(str(path), f"p{n}", 100, go)) for n in range(4)]
    for worker in workers:
        worker.start()
    go.set()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    lines = _lines(path)
    assert len(lines) == 400
    assert verify(path) == (True, None, None)
    assert {orjson.loads(line)["actor"] for line in lines} == {"p0", "p1", "p2", "p3"}
