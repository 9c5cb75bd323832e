"""The one translation of pydantic's ValidationError into config problems that name their key path.

Every config model (the root file, a section validated on its own, the gateway's `ingest:`) reports
through `config_error`, so a message reads the same wherever it comes from:
`auth.clients[0].secret: must be at least 8 characters`, `server.colour: unknown key`.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from ccbridge.errors import ConfigError

Problem = tuple[str, str]
"""(key path, message): one thing wrong with a config."""


def error_path(loc: Iterable[int | str], root: str = "") -> str:
    """pydantic's `('auth', 'clients', 0, 'secret')` -> `auth.clients[0].secret`, after `root` if given."""
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def problems(exc: ValidationError, root: str = "") -> list[Problem]:
    """Every error of `exc`, in pydantic's order; an unknown key's path is the key itself.

    Messages never include the rejected value (it may be a secret)."""
    found: list[Problem] = []
    for err in exc.errors(include_url=False, include_input=False):
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        else:
            message = err["msg"].removeprefix("Value error, ")
        found.append((error_path(err["loc"], root), message))
    return found


def config_error(exc: ValidationError, root: str = "") -> ConfigError:
    """`exc` as one ConfigError carrying every problem; `.path`/`.message` are the first's."""
    return problems_error(problems(exc, root))


def problems_error(found: list[Problem]) -> ConfigError:
    """One ConfigError for a non-empty list of problems."""
    (path, message), *more = found
    return ConfigError(path, message, more=more)
