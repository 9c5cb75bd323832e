"""The ingestion gateway (seed 003): legacy business events with JWT, JSON Schema and mapping.

`compile_ingest(raw_section, base_dir)` once at load, then `IngestGateway(compiled, append, clock,
rate_limits=store)` and `await gateway.handle(headers, body)` per `POST /ingest`. See `gateway` for the errors raised
(`api.problems` chooses how each is answered).
"""

from ccbridge.ingest.compile import CompiledIngest, compile_ingest
from ccbridge.ingest.gateway import IngestGateway, IngestResult
from ccbridge.ingest.jwt_verify import KeySetUnavailable

__all__ = [
    "CompiledIngest",
    "IngestGateway",
    "IngestResult",
    "KeySetUnavailable",
    "compile_ingest",
]
