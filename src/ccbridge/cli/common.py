"""What every command shares: options, output, exit codes, config loading, running a client.

Exit codes: 0 done (plan: no changes), 1 the server or the network failed (or an apply action, or a
batch line, did not land), 2 invalid input, config or usage (the message names the key), 3 plan has
changes (like `terraform plan -detailed-exitcode`). Human output goes to stdout, `--json` prints one
JSON document instead; errors go to stderr. Nothing prints a secret.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console

from ccbridge.client import render
from ccbridge.client.api import BridgeClient
from ccbridge.client.config import ApiConfig, client_settings
from ccbridge.client.errors import ApiError
from ccbridge.errors import ConfigError, InputError

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML config file")]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON document")]

T = TypeVar("T")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def make_client(settings: ApiConfig) -> BridgeClient:
    """The client every command uses (tests replace it to watch the requests a command sends)."""
    return BridgeClient(settings)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"error: {message}", highlight=False, markup=False)
    raise typer.Exit(code)


def emit_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def fail_config(exc: ConfigError) -> NoReturn:
    """Every problem of a config on its own `error:` line, then exit 2."""
    for line in exc.lines():
        err.print(f"error: {line}", highlight=False, markup=False)
    raise typer.Exit(2)


def load(path: Path) -> Any:
    """The config (`ccbridge.config.Config`) with the environment's overrides; a bad file exits 2
    with every problem naming its key."""
    from ccbridge.config import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        fail_config(exc)


def settings_of(config: Any) -> ApiConfig:
    try:
        return client_settings(config)
    except ConfigError as exc:
        fail_config(exc)


def run(main: Callable[[BridgeClient], Awaitable[T]], settings: ApiConfig) -> T:
    """Runs `main` with a client; input errors exit 2, API and network errors exit 1."""

    async def with_client() -> T:
        async with make_client(settings) as client:
            return await main(client)

    try:
        return asyncio.run(with_client())
    except InputError as exc:
        render.field_errors(err, exc.errors)
        fail(exc.title)
    except ConfigError as exc:
        fail_config(exc)
    except ApiError as exc:
        fail(str(exc), 1)
