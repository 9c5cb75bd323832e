"""structlog, configured once by the composition root; secrets are never passed to a logger.

Output: JSON lines (one object per line: `timestamp`, `level`, `event`, the bound context, the
call's fields) for files and collectors; a readable console rendering when the log goes to a
terminal. `format: auto` (the default) picks between them by whether the stream is a terminal.

Context: code that works for one event binds what identifies it with structlog's contextvars
(`bind_delivery`, `bind_request`), so every line logged on its behalf carries them without each call
site repeating them: `event_id`, `correlation_id`, and for a delivery attempt `subscription_id`,
`endpoint` (its URL with credentials and query secrets masked) and `attempt`. An asyncio task
copies the context when it starts, so what one delivery binds never reaches another.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from ccbridge.core.event import DeliveryJob
from ccbridge.core.redact import mask_url

FORMATS = ("json", "console", "auto")


def renderer_for(fmt: str, stream: TextIO) -> structlog.types.Processor:
    """JSON for `json`, the console renderer for `console`; `auto` asks whether `stream` is a tty."""
    if fmt == "auto":
        fmt = "console" if _is_terminal(stream) else "json"
    if fmt == "console":
        return structlog.dev.ConsoleRenderer(colors=_is_terminal(stream))
    return structlog.processors.JSONRenderer()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def configure(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Log at `level` and above to `stream` (stderr by default) in `fmt` (json, console, auto)."""
    out = stream if stream is not None else sys.stderr
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer_for(fmt, out),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def delivery_context(job: DeliveryJob) -> dict[str, Any]:
    """What identifies one delivery attempt in the logs; the endpoint's URL masked."""
    return {
        "event_id": job.event.id,
        "correlation_id": job.event.correlation_id,
        "subscription_id": job.subscription_id,
        "endpoint": mask_url(job.endpoint.url),
        "attempt": job.attempt,
    }


def bind_delivery(job: DeliveryJob) -> None:
    """Bind `delivery_context(job)` for the rest of the current task (a delivery runs in its own)."""
    structlog.contextvars.bind_contextvars(**delivery_context(job))


def bind_request(correlation_id: str | None, event_id: str | None = None) -> None:
    """Bind a request's correlation id (and the event id once known) for the rest of the task."""
    given = {"correlation_id": correlation_id, "event_id": event_id}
    structlog.contextvars.bind_contextvars(**{k: v for k, v in given.items() if v})


def debug(logger: Any, message: str, **fields: Any) -> None:
    """A debug line, written only once `configure` has run (`serve`, `demo --log-file`): a program
    that embeds the server without configuring logging (the tests, the CLI's in-process uses) gets
    structlog's print-everything default, and per-event detail must not fill its standard output."""
    if structlog.is_configured():
        logger.debug(message, **fields)
