"""Placeholder registration: filled in once the client library lands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer


def register(group: typer.Typer, load: Callable[..., Any]) -> None:
    return None
