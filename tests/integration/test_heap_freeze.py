"""`build(freeze_heap=True)` (what `ccbridge serve` uses) freezes the startup heap once serving
begins; the default, used by tests and the demo, leaves the collector alone."""

from __future__ import annotations

import gc
from pathlib import Path

from ccbridge.bootstrap import build
from ccbridge.config import load_config
from ccbridge.serve import free_port, serve_async, stop_async
from ccbridge.testing.server import write_config


async def serve_once(tmp_path: Path, freeze_heap: bool) -> int:
    """Starts and stops a server in this loop; the freeze count seen while it served."""
    gc.unfreeze()
    path = write_config(tmp_path, None, free_port())
    server = await serve_async(build(load_config(path), freeze_heap=freeze_heap))
    try:
        return gc.get_freeze_count()
    finally:
        await stop_async(server)
        gc.unfreeze()


async def test_serve_freezes_what_startup_built(tmp_path: Path) -> None:
    assert await serve_once(tmp_path, freeze_heap=True) > 10_000  # the app, config, modules...


async def test_without_the_flag_nothing_is_frozen(tmp_path: Path) -> None:
    assert await serve_once(tmp_path, freeze_heap=False) == 0
