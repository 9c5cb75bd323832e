"""`ccbridge.core.ports` is a package of modules by job, imported as one: every public name a module
of it defines is exported by the package (as the same object), and every store port is part of
`Store`, so a port added to a module is neither unreachable by `from ccbridge.core.ports import X`
nor missing from what backends implement."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from typing import Any

from ccbridge.core import ports

NOT_STORE_PORTS = {"Clock", "Endpoint", "Router", "Store", "ApiStore"}
"""Protocols of the package that a store does not implement (or that are the aggregates)."""


def _defined() -> dict[str, Any]:
    """Every public top-level class or alias of the package's modules, by name, with its object."""
    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules(ports.__path__):
        module = importlib.import_module(f"{ports.__name__}.{info.name}")
        tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            else:
                continue
            found.update({n: getattr(module, n) for n in names if not n.startswith("_")})
    return found


def test_every_public_name_is_exported_by_the_package() -> None:
    defined = _defined()
    assert sorted(ports.__all__) == sorted(defined)
    assert all(getattr(ports, name) is value for name, value in defined.items())


def test_every_store_port_is_part_of_store() -> None:
    protocols = {
        name
        for name, value in _defined().items()
        if isinstance(value, type) and getattr(value, "_is_protocol", False)
    }
    store_ports = protocols - NOT_STORE_PORTS
    assert store_ports, "the scan found no store ports"
    assert store_ports <= {base.__name__ for base in ports.Store.__mro__}
