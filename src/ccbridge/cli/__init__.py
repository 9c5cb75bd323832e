"""The one CLI: the server's commands here, each command group in its own module (`subscriptions`,
`publish`, `deadletters`, `audit`, `pattern`) on the plumbing of `cli.common`. Usage and config errors
exit 2 with a message naming the key; nothing prints a secret."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ccbridge.cli.common import ConfigOption, fail_config, load
from ccbridge.errors import ConfigError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="ccbridge: a durable event bridge for contact-center platforms (NICE CXone and Genesys Cloud).",
)
deadletters_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, replay, purge.")
app.add_typer(deadletters_app, name="deadletters")


@app.command()
def serve(
    config: ConfigOption,
    workers: Annotated[
        str | None,
        typer.Option(
            help="processes serving the port: a number or 'auto' (one a core); overrides server.workers"
        ),
    ] = None,
) -> None:
    """Run the server (API, dispatcher) until SIGTERM."""
    from ccbridge.serve import serve as run

    cfg = load(config)
    if workers is not None:
        cfg = cfg.model_copy(update={"server": _with_workers(cfg.server, workers)})
    try:
        code = run(cfg)
    except ConfigError as exc:
        fail_config(exc)
    raise typer.Exit(code)


def _with_workers(server: Any, workers: str) -> Any:
    """`server` (a ServerConfig) with `--workers` validated as `server.workers` is (exit 2 if bad)."""
    from pydantic import ValidationError

    try:
        return server.model_validate({**server.model_dump(), "workers": workers})
    except ValidationError as exc:
        message = exc.errors()[0]["msg"]
        raise typer.BadParameter(message, param_hint="'--workers'") from None


@app.command("check-config")
def check_config(config: ConfigOption) -> None:
    """Validate a config file with the environment's CCBRIDGE_* overrides, and the files it names.

    Every problem is printed on its own line naming its key (exit 2). Files (ingest keys and
    schemas) are checked once the keys themselves are valid."""
    from ccbridge.bootstrap import compile_files

    cfg = load(config)
    try:
        compile_files(cfg)
    except ConfigError as exc:
        fail_config(exc)
    typer.echo(
        f"ok: {config} (store {cfg.store.url}, {len(cfg.auth.clients)} clients, "
        f"{len(cfg.event_types)} event types)"
    )


@app.command()
def migrate(config: ConfigOption) -> None:
    """Bring the store's schema up to date and exit, without serving (what `serve` also does at start).

    Safe while replicas run or start: on PostgreSQL the versioned steps apply once, under a lock."""
    import asyncio

    from ccbridge.bootstrap import make_store
    from ccbridge.errors import Unavailable

    cfg = load(config)

    async def run() -> None:
        store = make_store(cfg)
        await store.open()
        await store.close()

    try:
        asyncio.run(run())
    except Unavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"ok: the {cfg.store.kind} store is up to date")


@app.command()
def demo(keep: Annotated[bool, typer.Option(help="keep the temporary folder")] = False) -> None:
    """Start a server on free loopback ports and drive every feature through it."""
    import asyncio

    from ccbridge.demo.runner import run_demo

    raise typer.Exit(asyncio.run(run_demo(keep=keep)))


@app.command("test-pattern")
def test_pattern(
    pattern: Annotated[str, typer.Option(help="event pattern JSON, or @file")],
    event: Annotated[str, typer.Option(help="event JSON, or @file")],
) -> None:
    """Print true or false: does the event match the pattern (like aws events test-event-pattern)."""
    from ccbridge.cli.pattern import test_pattern as run

    raise typer.Exit(run(pattern, event))


def _register_optional() -> None:
    """Commands of the client side and dead letters live in their own modules."""
    from ccbridge.cli import audit, deadletters, publish, subscriptions

    deadletters.register(deadletters_app, load)
    app.add_typer(subscriptions.subscriptions_app, name="subscriptions")
    app.command("publish")(publish.publish)
    app.add_typer(audit.audit_app, name="audit")
    from ccbridge.cli import history, replay

    app.add_typer(history.events_app, name="events")
    app.add_typer(history.deliveries_app, name="deliveries")
    app.command("replay")(replay.replay)
    _register_endpoints()


def _register_endpoints() -> None:
    from ccbridge.cli.endpoints import endpoints_app

    app.add_typer(endpoints_app, name="endpoints")


_register_optional()


def main() -> None:
    app(prog_name="ccbridge")


if __name__ == "__main__":
    main()
