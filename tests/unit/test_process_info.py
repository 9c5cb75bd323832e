"""`ccbridge_process_info` says which process answered /metrics (several serve one port)."""

from __future__ import annotations

import os

from ccbridge.observability.metrics import Metrics
from ccbridge.testing.server import process_info


def test_process_info_names_this_process_and_its_worker_number() -> None:
    """Worker 0 until `identify` relabels it; one series only, whatever was set before."""
    metrics = Metrics()
    assert process_info(metrics.render().decode()) == {"pid": str(os.getpid()), "worker": "0"}
    metrics.identify(3)
    text = metrics.render().decode()
    assert process_info(text) == {"pid": str(os.getpid()), "worker": "3"}
    assert sum(line.startswith("ccbridge_process_info{") for line in text.splitlines()) == 1
