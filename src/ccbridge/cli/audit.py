"""`ccbridge audit`: the hash-chained audit log the client side writes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccbridge.cli.common import fail, out

audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")


@audit_app.command("verify")
def verify(file: Annotated[Path, typer.Argument(help="audit log file")]) -> None:
    """Check the hash chain; exit 1 naming the first bad line."""
    from ccbridge.observability.audit import verify as check

    result = check(file)
    if not result.ok:
        where = f"line {result.first_bad_line}: " if result.first_bad_line else ""
        fail(f"{where}{result.reason}", 1)
    lines = sum(1 for _ in file.open("rb"))
    out.print(f"ok: {file} ({lines} lines, chain intact)", highlight=False, markup=False)
