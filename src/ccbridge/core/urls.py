"""Endpoint URL forms that more than one part reads: the subscription parser checks them, the endpoint
adapters dial them, so both read them here."""

from __future__ import annotations

from urllib.parse import urlsplit

GrpcTarget = tuple[str, str]
"""(scheme, `host:port`), the host bracketed when it is an IPv6 literal."""


def grpc_target(url: str) -> GrpcTarget:
    """`grpc://host:port` or `grpcs://host[:port]` (443 by default) -> (scheme, `host:port`).

    Raises ValueError naming what is wrong; paths, queries, fragments and credentials are refused
    rather than silently dropped, since the gRPC endpoint could not honour them.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("grpc", "grpcs"):
        raise ValueError("the scheme must be grpc:// or grpcs://")
    if not parts.hostname:
        raise ValueError("no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("must be grpc://host:port or grpcs://host[:port], nothing more")
    port = parts.port  # raises ValueError when out of range
    if port is None:
        if parts.scheme == "grpc":
            raise ValueError("must name a port (grpc://host:port)")
        port = 443
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts.scheme, f"{host}:{port}"
