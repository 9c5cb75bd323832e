"""SSRF guard: a webhook URL may not reach private, loopback or other non-public addresses by default.

A subscription's URL comes from an API caller, so without this guard anyone with `subscription:write`
could make the bridge POST into the operator's own network (metadata services, admin ports). The check
runs on every resolved address, not just the first, because the HTTP library may connect to any of them.
The webhook transport also connects through `NetworkPolicy.resolve`, so the addresses it connects to are
exactly the ones that were checked (no DNS-rebinding window between check and connect).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Sequence

from ccbridge.core.event import Failed, Outcome, Retry
from ccbridge.errors import ConfigError, Permanent, Retryable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CACHE_SECONDS = 30.0
_CACHE_MAX = 4096


def classify(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address ("loopback", "private", ...), or None when it is.

    IPv4-mapped IPv6 (`::ffff:10.0.0.5`) is judged as the IPv4 address it carries.
    """
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for reason, hit in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if hit:
            return reason
    return None if ip.is_global else "not public"  # e.g. 100.64.0.0/10 (carrier-grade NAT)


class NetworkPolicy:
    """Which addresses deliveries may reach: every public address, plus private ones only when allowed.

    `allow_private` lifts the guard entirely; `allowed_networks` (CIDR strings, config key
    `delivery.allowed_networks`) admits only the non-public addresses inside them. Safe to share between
    tasks; resolutions are cached for `cache_seconds` (successes only).
    """

    def __init__(
        self,
        allow_private: bool = False,
        allowed_networks: Sequence[str] = (),
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_private = allow_private
        self.allowed_networks = tuple(_network(cidr, i) for i, cidr in enumerate(allowed_networks))
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._verdicts: dict[str, str | None] = {}
        self._allowed_hosts: dict[tuple[str, int | None], tuple[float, list[str]]] = {}

    def refusal(self, address: str) -> str | None:
        """Why delivering to the IP literal `address` is refused, or None when it is allowed.

        The verdict depends only on the address and this (unchanging) policy, so it is remembered:
        parsing and classifying an address on every delivery cost more than the DNS cache lookup.
        """
        try:
            return self._verdicts[address]
        except KeyError:
            pass
        verdict = self._judge(address)
        if len(self._verdicts) >= _CACHE_MAX:
            self._verdicts.clear()
        self._verdicts[address] = verdict
        return verdict

    def _judge(self, address: str) -> str | None:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        reason = None if self.allow_private else classify(ip)
        if reason is None or self._allowed(ip):
            return None
        return f"address {ip} is {reason}; allow it with delivery.allowed_networks"

    async def check(self, host: str, port: int | None) -> list[str]:
        """The addresses `host` resolves to, all of them allowed.

        Raises Permanent when ANY address is refused (the message names it and the config key) and
        Retryable when the name does not resolve (DNS failures are usually transient).
        """
        known = self.checked(host, port)
        if known is not None:
            return known
        addresses = await self.resolve(host, port or 0)
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                raise Permanent(reason)
        if len(self._allowed_hosts) >= _CACHE_MAX:
            self._allowed_hosts.clear()
        expires = float("inf") if _is_literal(host) else self._clock() + self._cache_seconds
        self._allowed_hosts[(host, port)] = (expires, addresses)
        return addresses

    def checked(self, host: str, port: int | None) -> list[str] | None:
        """The allowed addresses of `host` when a recent `check` passed, else None: the delivery path's
        way to skip an await (and the IP parsing) for the receivers it sends to all the time."""
        entry = self._allowed_hosts.get((host, port))
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address of `host` (an IP literal is returned as is), via the loop's non-blocking
        getaddrinfo, cached briefly. Does not apply the policy; `check` does."""
        literal = host.strip("[]")
        try:
            return [str(ipaddress.ip_address(literal.split("%", 1)[0]))]
        except ValueError:
            pass
        key, now = (literal.lower(), port), self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                literal, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise Retryable(f"cannot resolve {literal}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise Retryable(f"cannot resolve {literal}")
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[key] = (now + self._cache_seconds, addresses)
        return addresses

    def _allowed(self, ip: IPAddress) -> bool:
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(c in net for c in candidates for net in self.allowed_networks if c.version == net.version)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _network(cidr: str, index: int) -> IPNetwork:
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError as exc:
        raise ConfigError(f"delivery.allowed_networks[{index}]", f"not a CIDR network: {cidr!r}") from exc


async def allowed_addresses(policy: NetworkPolicy, host: str, port: int) -> list[str] | Outcome:
    """The addresses of `host` the policy allows, or the outcome to settle with: a refused address is
    `Failed` (it names the address and the config key), a name that does not resolve is `Retry`."""
    try:
        return policy.checked(host, port) or await policy.check(host, port)
    except Permanent as exc:
        return Failed(str(exc))
    except Retryable as exc:
        return Retry(str(exc))
