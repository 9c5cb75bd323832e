"""The demo's progress lines and its summary table.

Every check is recorded as a row with the figure expected and the figure seen, so a failure reads as
"expected X, got Y" next to the step that produced it instead of as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

MAX_CELL = 160


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    step: str
    what: str
    expected: str
    actual: str
    ok: bool


def _text(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


class Report:
    """Collects the checks of a run; `begin` names the step the following checks belong to."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: list[Row] = []
        self.number = 0
        self.step = ""

    def begin(self, number: int, total: int, title: str) -> None:
        self.number, self.step = number, title
        self.console.print(f"[bold]\\[{number}/{total}] {title}[/bold]")

    def note(self, text: str) -> None:
        """A progress line that is not a check (what the demo is doing right now)."""
        self.console.print(f"    [dim]{text}[/dim]", highlight=False)

    def check(self, what: str, expected: object, actual: object, ok: bool | None = None) -> bool:
        """Records one figure; it passes when `actual == expected` unless `ok` says otherwise."""
        passed = (actual == expected) if ok is None else ok
        row = Row(self.number, self.step, what, _text(expected), _text(actual), passed)
        self.rows.append(row)
        if passed:
            self.console.print(f"    [green]✓[/green] {what}: {row.actual}", highlight=False)
        else:
            self.console.print(
                f"    [red]✗ {what}: expected {row.expected}, got {row.actual}[/red]", highlight=False
            )
        return passed

    def crashed(self, exc: BaseException) -> None:
        """A step that raised still gets a (failing) row, so the table shows where the run broke."""
        reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        self.check("step ran to the end", "no error", reason, ok=False)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.ok for row in self.rows)

    def table(self) -> Table:
        """One section per step: a title row, then its checks."""
        table = Table(title="ccbridge demo", expand=True)
        table.add_column("#", no_wrap=True)
        table.add_column("Check", ratio=3, overflow="fold")
        table.add_column("Expected", ratio=2, overflow="fold")
        table.add_column("Actual", ratio=2, overflow="fold")
        table.add_column("", width=1, no_wrap=True)
        previous = None
        for row in self.rows:
            if row.step != previous:
                if previous is not None:
                    table.add_section()
                table.add_row(str(row.number), f"[bold]{row.step}[/bold]", "", "", "")
                previous = row.step
            mark = "[green]✓[/green]" if row.ok else "[red]✗[/red]"
            table.add_row("", row.what, row.expected, row.actual, mark)
        return table

    def summary(self, seconds: float) -> None:
        self.console.print()
        self.console.print(self.table())
        failed = sum(not row.ok for row in self.rows)
        if failed:
            self.console.print(
                f"[red bold]{failed} of {len(self.rows)} checks failed[/red bold] ({seconds:.1f} s)"
            )
        else:
            self.console.print(
                f"[green bold]all {len(self.rows)} checks passed[/green bold] ({seconds:.1f} s)"
            )
