"""NICE CXone: the agent event source (`CxoneConnector`) and the credentials it shares with the
Signal endpoint (`CxoneAuth`, one per configured tenant).

The connector runner calls `build(entry, auth)` for each `connectors.cxone` entry with the tenant's
`CxoneAuth` from the composition root (`bootstrap.cxone_auths`), so the agent source and the
`cxone-signal` endpoint share one token per tenant.
"""

from __future__ import annotations

import random

from ccbridge.config.connectors import CxoneConnectorConfig
from ccbridge.connectors.cxone.agent_events import Backoff, Wait, wait_or_stop
from ccbridge.connectors.cxone.auth import CxoneAuth
from ccbridge.connectors.cxone.connector import CxoneConnector
from ccbridge.core.ports import Clock

__all__ = ["Backoff", "CxoneAuth", "CxoneConnector", "build"]


def build(
    entry: CxoneConnectorConfig,
    auth: CxoneAuth,
    *,
    clock: Clock | None = None,
    wait: Wait = wait_or_stop,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
) -> CxoneConnector:
    """The connector for one `connectors.cxone` entry, using the tenant's shared `auth`."""
    return CxoneConnector(entry, auth, clock=clock, wait=wait, backoff=backoff, rng=rng)
