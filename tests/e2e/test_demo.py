"""`ccbridge demo` end to end, as a user runs it: a child process, its exit code and its summary."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ccbridge.demo.runner import STEPS

TAIL = 2000


def failed_rows(stdout: str) -> list[str]:
    """The summary table's failed rows, each as `step N title: check: expected E, got A`.

    The table (rich's default box) has the columns #, Check, Expected, Actual and the mark; a step's
    title row has its number in #, a check's row its mark (✓ or ✗), and a cell too wide for its
    column continues on the following lines, whose # and mark are empty. A step that raised or hung
    is a failed row too ("step ran to the end", with the exception as its Actual)."""
    rows: list[list[str]] = []
    title: list[str] = ["", ""]  # the step whose rows follow: number, title
    current = title  # the row a folded line continues: the title's or a check's
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if not line.startswith("│") or len(cells) != 5:
            continue
        number, check, expected, actual, mark = cells
        if number:
            title = current = [number, check]
        elif mark:
            current = [f"step {title[0]} {title[1]}", check, expected, actual, mark]
            rows.append(current)
        elif current is title:
            title[1] = f"{title[1]} {check}".strip()
        else:
            for i, more in enumerate((check, expected, actual), 1):
                current[i] = f"{current[i]} {more}".strip()
    return [f"{s}: {c}: expected {e}, got {a}" for s, c, e, a, mark in rows if mark == "✗"]


def failure_message(done: subprocess.CompletedProcess[str]) -> str:
    """What a failed run says: its verdict line, every failed row, and stderr's tail (tracebacks the
    report could not turn into rows); stdout's tail instead of rows when it printed no failed row
    (it crashed or hung before its summary)."""
    verdict = next((line for line in reversed(done.stdout.splitlines()) if " checks " in line), "no verdict")
    rows = failed_rows(done.stdout) or [
        f"no failed row in a summary table; stdout ends:\n{done.stdout[-TAIL:]}"
    ]
    return "\n".join([f"exit {done.returncode}: {verdict}", *rows, f"stderr ends:\n{done.stderr[-TAIL:]}"])


def test_failed_rows_names_each_failed_check_with_its_step_and_folded_cells() -> None:
    table = "\n".join(
        (
            "                 ccbridge demo",
            "┃ #  ┃ Check                 ┃ Expected      ┃ Actual        ┃   ┃",
            "│ 3  │ Events                │               │               │   │",
            "│    │ crm got it            │ 1 × c-1001    │ 1 × c-1001    │ ✓ │",
            "│    │ survey got only score │ 1 × score 5   │ 0 ×           │ ✗ │",
            "│    │ > 3                   │               │               │   │",
            "├────┼───────────────────────┼───────────────┼───────────────┼───┤",
            "│ 14 │ Delivery attempts and │               │               │   │",
            "│    │ range replay          │               │               │   │",
            "│    │ step ran to the end   │ no error      │ timed out     │ ✗ │",
            "└────┴───────────────────────┴───────────────┴───────────────┴───┘",
            "2 of 3 checks failed (1.0 s)",
        )
    )
    assert failed_rows(table) == [
        "step 3 Events: survey got only score > 3: expected 1 × score 5, got 0 ×",
        "step 14 Delivery attempts and range replay: step ran to the end: expected no error, got timed out",
    ]


def test_failure_message_without_a_summary_shows_the_output_tail() -> None:
    done = subprocess.CompletedProcess(["ccbridge", "demo"], 1, "[1/16] Tokens\n", "Traceback: boom\n")
    message = failure_message(done)
    assert "exit 1: no verdict" in message and "[1/16] Tokens" in message and "Traceback: boom" in message


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
    assert done.returncode == 0, failure_message(done)
    summary = done.stdout[done.stdout.index("ccbridge demo") :]
    for title, _ in STEPS:
        assert title in summary, title
    assert "checks passed" in summary and "✗" not in summary
