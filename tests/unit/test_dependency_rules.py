"""The dependency rules of ARCHITECTURE.md, held by scanning every import in src/ccbridge (lazy ones
inside functions included): a change that breaks one fails here, naming the file, line and rule."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "ccbridge"

HTTP = ("starlette", "fastapi", "uvicorn", "granian", "aiohttp", "httpx", "websockets")
DATABASES = ("sqlite3", "asyncpg", "psycopg", "redis")
TRANSPORTS = ("grpc", "nats", "aio_pika", "aiormq")


@dataclass(frozen=True)
class Rule:
    """Modules under `part` (a package or module path relative to ccbridge) may not import `forbidden`
    (module prefixes: `ccbridge.api`, `starlette`), except those in `allowed`."""

    name: str
    part: str
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()


RULES = (
    Rule(
        "core/ is pure: nothing of ccbridge outside core/, config.py, errors.py; no HTTP, database or transport",
        "core",
        ("ccbridge", *HTTP, *DATABASES, *TRANSPORTS),
        allowed=("ccbridge.core", "ccbridge.config", "ccbridge.errors"),
    ),
    Rule("api/ stores and answers, it never delivers", "api", ("ccbridge.endpoints", "ccbridge.delivery")),
    Rule("api/ receives its store from bootstrap", "api", ("ccbridge.stores",)),
    Rule("delivery/ drives endpoints through the Endpoint port", "delivery", ("ccbridge.endpoints",)),
    Rule("delivery/ receives its store from bootstrap", "delivery", ("ccbridge.stores", "ccbridge.api")),
    Rule("stores/ know no HTTP", "stores", ("ccbridge.api", "ccbridge.client", *HTTP)),
    Rule("stores/ never deliver", "stores", ("ccbridge.endpoints", "ccbridge.delivery")),
    Rule("one store backend never imports another", "stores/postgres", ("ccbridge.stores.sqlite",)),
    Rule("one store backend never imports another", "stores/sqlite", ("ccbridge.stores.postgres",)),
    Rule("endpoints/ never persist", "endpoints", ("ccbridge.stores", "ccbridge.api", *DATABASES)),
    Rule(
        "client/ speaks only HTTP to a server of the API",
        "client",
        ("ccbridge.api", "ccbridge.stores", "ccbridge.delivery", "ccbridge.endpoints", "ccbridge.bootstrap"),
    ),
)

COMPOSITION_ROOTS = ("bootstrap.py",)
"""The only modules that may name a store class: everything else receives a port."""


def imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(("ccbridge", *path.relative_to(SRC).parent.parts))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from ccbridge import api` imports ccbridge.api
                yield node.lineno, f"{module}.{alias.name}"


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def sources(part: str) -> list[Path]:
    target = SRC / part
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


@pytest.mark.parametrize("rule", RULES, ids=[r.part + ": " + r.name for r in RULES])
def test_imports_follow_the_rule(rule: Rule) -> None:
    broken = [
        f"{path.relative_to(SRC)}:{line} imports {module}"
        for path in sources(rule.part)
        if "grpc_gen" not in path.parts
        for line, module in imports(path)
        if any(_under(module, f) for f in rule.forbidden) and not any(_under(module, a) for a in rule.allowed)
    ]
    assert not broken, rule.name + ":\n" + "\n".join(broken)


def test_only_the_composition_root_names_a_store_class() -> None:
    named = [
        f"{path.relative_to(SRC)}:{line} imports {module}"
        for path in sources(".")
        if path.relative_to(SRC).as_posix() not in COMPOSITION_ROOTS and not _in_store_package(path)
        for line, module in imports(path)
        if _under(module, "ccbridge.stores.sqlite") or _under(module, "ccbridge.stores.postgres")
    ]
    assert not named, "store classes are constructed in bootstrap.py only:\n" + "\n".join(named)


def _in_store_package(path: Path) -> bool:
    return path.relative_to(SRC).parts[0] == "stores"


def test_the_scan_sees_imports() -> None:
    """The scanner itself: it finds plain, from-, relative and lazy imports (so the rules can fail)."""
    found = {module for _, module in imports(SRC / "bootstrap.py")}
    assert "ccbridge.stores.sqlite" in found and "ccbridge.api.app" in found
