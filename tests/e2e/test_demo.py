"""`ccbridge demo` end to end, as a user runs it: a child process, its exit code and its summary."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ccbridge.demo.runner import STEPS


@pytest.mark.slow
def test_demo_exits_0_and_its_summary_names_every_step() -> None:
    """The demo passes every check (exit 0) and its summary table has a section for each step."""
    done = subprocess.run(
        [sys.executable, "-m", "ccbridge", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = done.stdout[done.stdout.index("ccbridge demo") :]
    for title, _ in STEPS:
        assert title in summary, title
    assert "checks passed" in summary and "✗" not in summary
