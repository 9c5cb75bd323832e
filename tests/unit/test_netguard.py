"""The SSRF guard: which addresses deliveries may reach, resolution through the loop, caching."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Any

import pytest

from ccbridge.endpoints.netguard import NetworkPolicy, classify
from ccbridge.errors import ConfigError, Permanent, Retryable


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not public"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.5", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_classify(address: str, reason: str | None) -> None:
    """Each non-public IPv4/IPv6 class is named, public unicast passes; IPv4-mapped is judged as IPv4."""
    assert classify(ipaddress.ip_address(address)) == reason


async def test_private_literal_is_refused_with_hint() -> None:
    """A private IP is refused permanently, naming the address and the config key to allow it."""
    with pytest.raises(Permanent) as info:
        await NetworkPolicy().check("10.0.0.5", 443)
    assert str(info.value) == "address 10.0.0.5 is private; allow it with delivery.allowed_networks"


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "::ffff:127.0.0.1", "169.254.169.254"])
async def test_non_public_literals_are_refused(host: str) -> None:
    """Loopback, bracketed IPv6, IPv4-mapped and metadata addresses are refused by default."""
    with pytest.raises(Permanent):
        await NetworkPolicy().check(host, 80)


async def test_public_literal_passes_without_dns() -> None:
    """A public IP literal is returned as is."""
    assert await NetworkPolicy().check("8.8.8.8", 443) == ["8.8.8.8"]


async def test_allowed_networks_admit_only_their_addresses() -> None:
    """allowed_networks admits addresses inside them and nothing else that is private."""
    policy = NetworkPolicy(allowed_networks=["127.0.0.0/8", "fd00::/8"])
    assert await policy.check("127.0.0.1", 80) == ["127.0.0.1"]
    assert await policy.check("fd12::7", 80) == ["fd12::7"]
    with pytest.raises(Permanent, match=re.escape("address 10.0.0.5 is private")):
        await policy.check("10.0.0.5", 80)


async def test_allowed_v4_network_admits_ipv4_mapped() -> None:
    """An IPv4 allow-list also covers the IPv4-mapped IPv6 form of its addresses."""
    policy = NetworkPolicy(allowed_networks=["127.0.0.0/8"])
    [address] = await policy.check("::ffff:127.0.0.1", 80)
    assert ipaddress.ip_address(address) == ipaddress.ip_address("::ffff:127.0.0.1")


async def test_allow_private_lifts_the_guard() -> None:
    """allow_private admits every address."""
    policy = NetworkPolicy(allow_private=True)
    for host in ("10.0.0.5", "127.0.0.1", "::1", "169.254.169.254"):
        assert await policy.check(host, 80)


def test_bad_cidr_is_a_config_error() -> None:
    """A malformed allowed network is a ConfigError naming its index in the config."""
    with pytest.raises(ConfigError) as info:
        NetworkPolicy(allowed_networks=["10.0.0.0/8", "not-a-net"])
    assert info.value.path == "delivery.allowed_networks[1]"


async def test_localhost_by_name_is_refused() -> None:
    """A name is resolved (here via the real resolver) and its loopback address refused."""
    with pytest.raises(Permanent, match="is loopback"):
        await NetworkPolicy().check("localhost", 80)


class FakeResolver:
    """Stands in for loop.getaddrinfo: answers from a table and counts calls."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in self.table[host]
        ]


@pytest.fixture
async def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    fake = FakeResolver(
        {
            "hooks.example.com": ["93.184.216.34", "93.184.216.34"],
            "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
        }
    )
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake)
    return fake


async def test_names_resolve_through_the_loop(resolver: FakeResolver) -> None:
    """Names go through the event loop's getaddrinfo; duplicate addresses are collapsed."""
    assert await NetworkPolicy().check("hooks.example.com", 443) == ["93.184.216.34"]
    assert resolver.calls == ["hooks.example.com"]


async def test_any_private_address_refuses_the_name(resolver: FakeResolver) -> None:
    """A name with one public and one private address is refused (the client might pick either)."""
    with pytest.raises(Permanent, match=re.escape("address 10.1.2.3 is private")):
        await NetworkPolicy().check("mixed.example.com", 443)


async def test_unresolvable_name_is_retryable(resolver: FakeResolver) -> None:
    """A DNS failure is transient: Retryable, naming the host only."""
    with pytest.raises(Retryable, match=re.escape("cannot resolve nowhere.example")):
        await NetworkPolicy().check("nowhere.example", 443)


async def test_resolutions_are_cached_briefly(resolver: FakeResolver) -> None:
    """A name is resolved once per cache period (per port) and again once it expires."""
    clock = [0.0]
    policy = NetworkPolicy(cache_seconds=30, clock=lambda: clock[0])
    await policy.check("hooks.example.com", 443)
    clock[0] = 29.0
    await policy.check("HOOKS.example.com", 443)
    assert resolver.calls == ["hooks.example.com"]
    clock[0] = 31.0
    await policy.check("hooks.example.com", 443)
    assert len(resolver.calls) == 2


async def test_failures_are_not_cached(resolver: FakeResolver) -> None:
    """A failed resolution is retried on the next check."""
    policy = NetworkPolicy()
    for _ in range(2):
        with pytest.raises(Retryable):
            await policy.check("nowhere.example", 443)
    assert resolver.calls == ["nowhere.example", "nowhere.example"]


async def test_cached_addresses_are_rechecked(resolver: FakeResolver) -> None:
    """The policy applies to cached addresses too: a cached private answer is still refused."""
    policy = NetworkPolicy()
    for _ in range(2):
        with pytest.raises(Permanent):
            await policy.check("mixed.example.com", 443)
    assert resolver.calls == ["mixed.example.com"]


async def test_checked_answers_only_for_hosts_that_passed_lately(resolver: FakeResolver) -> None:
    """`checked` is the no-wait shortcut: addresses of a passed check until the cache period ends,
    never for a refused host, and forever for an IP literal (its verdict cannot change)."""
    clock = [0.0]
    policy = NetworkPolicy(cache_seconds=30, clock=lambda: clock[0])
    assert policy.checked("hooks.example.com", 443) is None
    await policy.check("hooks.example.com", 443)
    assert policy.checked("hooks.example.com", 443) == ["93.184.216.34"]
    assert policy.checked("hooks.example.com", 8443) is None  # per port, like the resolution cache
    with pytest.raises(Permanent):
        await policy.check("mixed.example.com", 443)
    assert policy.checked("mixed.example.com", 443) is None
    await policy.check("93.184.216.34", 443)
    clock[0] = 31.0
    assert policy.checked("hooks.example.com", 443) is None
    assert policy.checked("93.184.216.34", 443) == ["93.184.216.34"]


async def test_a_refused_literal_is_never_reported_as_checked() -> None:
    policy = NetworkPolicy()
    for _ in range(2):
        with pytest.raises(Permanent, match="is private"):
            await policy.check("10.0.0.5", 80)
        assert policy.checked("10.0.0.5", 80) is None
