"""GrpcEndpoint against a real EventConsumer server on loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import grpc.aio
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ccbridge.core.event import Delivered, DeliveryJob, EndpointSpec, Event, Failed, Retry
from ccbridge.core.ports import Attempt
from ccbridge.endpoints.grpc import GrpcEndpoint, dial_target
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.errors import ConfigError
from ccbridge.testing.grpc_consumer import ConsumerBehaviour, GrpcConsumer

S = grpc.StatusCode
JSON = object


def make_attempt(
    url: str,
    *,
    source: JSON = "cxone",
    attempt: int = 1,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    body: bytes | None = None,
) -> Attempt:
    event = Event(
        id="evt-1",
        type="routing:interaction:completed",
        source=source,
        time="2024-05-01T12:00:00Z",
        data={"channel": "voice", "duration": 130},
        dialect="genesys",
        correlation_id="corr-1",
        received_at="2024-05-01T12:00:01Z",
    )
    job = DeliveryJob(
        id=1, event=event, subscription_id="sub-1", endpoint=EndpointSpec(url, "grpc"), attempt=attempt
    )
    if body is None:
        body = json.dumps(event.delivery_body("sub-1", attempt)).encode()
    return Attempt(job=job, body=body, headers=headers or {}, timeout=timeout)


LOOPBACK = NetworkPolicy(allowed_networks=["127.0.0.0/8"])
"""The consumers of these tests listen on loopback, which the default policy refuses."""


@pytest.fixture
async def consumer() -> AsyncIterator[GrpcConsumer]:
    async with GrpcConsumer() as server:
        yield server


@pytest.fixture
async def endpoint() -> AsyncIterator[GrpcEndpoint]:
    endpoint = GrpcEndpoint(LOOPBACK)
    yield endpoint
    await endpoint.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_delivers_every_field_and_the_exact_body(
    consumer: GrpcConsumer, endpoint: GrpcEndpoint
) -> None:
    """An OK answer is Delivered and the consumer gets the job's fields and the body byte for byte."""
    attempt = make_attempt(consumer.address, attempt=2)
    assert await endpoint.send(attempt) == Delivered()
    [got] = await consumer.wait_for(1)
    assert (got.id, got.type, got.source, got.time) == (
        "evt-1",
        "routing:interaction:completed",
        "cxone",
        "2024-05-01T12:00:00Z",
    )
    assert (got.correlation_id, got.attempt, got.subscription_id) == ("corr-1", 2, "sub-1")
    assert got.payload == attempt.body
    assert got.body["metadata"] == {"correlationId": "corr-1", "subscriptionId": "sub-1", "attempt": 2}


async def test_object_source_is_sent_as_json(consumer: GrpcConsumer, endpoint: GrpcEndpoint) -> None:
    """A source that is an object (Genesys envelopes) travels as its JSON encoding."""
    source = {"system": "legacy-crm", "version": "2"}
    await endpoint.send(make_attempt(consumer.address, source=source))
    [got] = await consumer.wait_for(1)
    assert json.loads(got.source) == source


async def test_headers_travel_as_metadata(consumer: GrpcConsumer, endpoint: GrpcEndpoint) -> None:
    """Signed headers arrive as lower-case metadata; reserved and non-ASCII ones are left out."""
    headers = {
        "webhook-id": "evt-1",
        "X-Genesys-Event-Signature": "ab12",
        "Content-Type": "application/json",
        "X-Accent": "café",
    }
    assert await endpoint.send(make_attempt(consumer.address, headers=headers)) == Delivered()
    [got] = await consumer.wait_for(1)
    assert got.metadata["webhook-id"] == "evt-1"
    assert got.metadata["x-genesys-event-signature"] == "ab12"
    assert got.metadata.get("content-type") != "application/json"
    assert "x-accent" not in got.metadata


@pytest.mark.parametrize(
    "code",
    [S.UNAVAILABLE, S.RESOURCE_EXHAUSTED, S.DEADLINE_EXCEEDED, S.ABORTED, S.INTERNAL, S.UNKNOWN, S.CANCELLED],
)
async def test_transient_codes_are_retried(
    consumer: GrpcConsumer, endpoint: GrpcEndpoint, code: grpc.StatusCode
) -> None:
    """A transient status from the consumer is a Retry whose reason names the code and the detail."""
    consumer.behaviour = ConsumerBehaviour(always=code, details="busy")
    outcome = await endpoint.send(make_attempt(consumer.address))
    assert outcome == Retry(f"gRPC {code.name}: busy")


@pytest.mark.parametrize(
    "code",
    [
        S.INVALID_ARGUMENT,
        S.FAILED_PRECONDITION,
        S.PERMISSION_DENIED,
        S.UNAUTHENTICATED,
        S.NOT_FOUND,
        S.UNIMPLEMENTED,
        S.OUT_OF_RANGE,
        S.DATA_LOSS,
    ],
)
async def test_permanent_codes_fail(
    consumer: GrpcConsumer, endpoint: GrpcEndpoint, code: grpc.StatusCode
) -> None:
    """A permanent status from the consumer is Failed, so the delivery is dead-lettered at once."""
    consumer.behaviour = ConsumerBehaviour(always=code, details="no")
    assert await endpoint.send(make_attempt(consumer.address)) == Failed(f"gRPC {code.name}: no")


async def test_already_exists_counts_as_delivered(consumer: GrpcConsumer, endpoint: GrpcEndpoint) -> None:
    """ALREADY_EXISTS (a de-duplicating consumer has the id) is Delivered, not a failure."""
    consumer.behaviour = ConsumerBehaviour(always=S.ALREADY_EXISTS)
    assert await endpoint.send(make_attempt(consumer.address)) == Delivered()


async def test_server_without_the_service_fails(endpoint: GrpcEndpoint) -> None:
    """A gRPC server that does not implement EventConsumer answers UNIMPLEMENTED: Failed."""
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        outcome = await endpoint.send(make_attempt(f"grpc://127.0.0.1:{port}"))
    finally:
        await server.stop(None)
    assert isinstance(outcome, Failed)
    assert outcome.reason.startswith("gRPC UNIMPLEMENTED")


async def test_retry_after_trailer_sets_the_floor(consumer: GrpcConsumer, endpoint: GrpcEndpoint) -> None:
    """A retry-after trailing metadata entry on a transient status becomes Retry.after."""
    consumer.behaviour = ConsumerBehaviour(always=S.RESOURCE_EXHAUSTED, retry_after=2.5)
    outcome = await endpoint.send(make_attempt(consumer.address))
    assert isinstance(outcome, Retry)
    assert outcome.after == 2.5


async def test_fail_first_then_deliver(consumer: GrpcConsumer, endpoint: GrpcEndpoint) -> None:
    """A consumer failing its first two calls gets Retry twice, then the third attempt is Delivered."""
    consumer.behaviour = ConsumerBehaviour(fail_first=2)
    outcomes = [await endpoint.send(make_attempt(consumer.address, attempt=n)) for n in (1, 2, 3)]
    assert [type(o) for o in outcomes] == [Retry, Retry, Delivered]
    assert [c.attempt for c in consumer.calls] == [1, 2, 3]
    assert [r.attempt for r in consumer.received] == [3]


async def test_oversized_message_fails(endpoint: GrpcEndpoint) -> None:
    """A payload over the consumer's receive limit is Failed: the same bytes can never fit."""
    async with GrpcConsumer(options=[("grpc.max_receive_message_length", 256)]) as small:
        outcome = await endpoint.send(make_attempt(small.address, body=b"x" * 1024))
    assert isinstance(outcome, Failed)
    assert outcome.reason.startswith("gRPC RESOURCE_EXHAUSTED")


async def test_slow_consumer_hits_the_deadline(consumer: GrpcConsumer, endpoint: GrpcEndpoint) -> None:
    """A consumer slower than attempt.timeout gives DEADLINE_EXCEEDED, a Retry, within the deadline."""
    consumer.behaviour = ConsumerBehaviour(delay=2.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = await endpoint.send(make_attempt(consumer.address, timeout=0.2))
    assert loop.time() - started < 1.5
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith("gRPC DEADLINE_EXCEEDED")


async def test_connection_refused_is_retried(endpoint: GrpcEndpoint) -> None:
    """Nothing listening at the address is UNAVAILABLE, a Retry, not an exception."""
    outcome = await endpoint.send(make_attempt(f"grpc://127.0.0.1:{free_port()}", timeout=3.0))
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith("gRPC UNAVAILABLE")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1",
        "grpc://127.0.0.1",
        "grpc://:50051",
        "grpc://h:99999",
        "grpc://h:1/x",
        "grpc://u@h:1",
    ],
)
async def test_bad_url_fails(endpoint: GrpcEndpoint, url: str) -> None:
    """A URL that is not grpc://host:port or grpcs://host[:port] is Failed without a call."""
    outcome = await endpoint.send(make_attempt(url))
    assert isinstance(outcome, Failed)
    assert outcome.reason.startswith("bad gRPC endpoint URL")


async def test_one_channel_serves_many_sends(consumer: GrpcConsumer, endpoint: GrpcEndpoint) -> None:
    """Sequential sends to one address reuse one channel: the consumer sees a single peer."""
    for n in range(5):
        assert await endpoint.send(make_attempt(consumer.address, attempt=n + 1)) == Delivered()
    assert len({c.peer for c in consumer.calls}) == 1


async def test_concurrent_first_sends_share_one_channel(
    consumer: GrpcConsumer, endpoint: GrpcEndpoint
) -> None:
    """Fifty concurrent sends on a fresh endpoint all deliver over one connection."""
    outcomes = await asyncio.gather(*(endpoint.send(make_attempt(consumer.address)) for _ in range(50)))
    assert outcomes == [Delivered()] * 50
    assert len(await consumer.wait_for(50)) == 50
    assert len({c.peer for c in consumer.calls}) == 1


async def test_each_address_gets_its_own_channel(endpoint: GrpcEndpoint) -> None:
    """Two consumers at two addresses both receive their own deliveries through one endpoint."""
    async with GrpcConsumer() as first, GrpcConsumer() as second:
        results = await asyncio.gather(
            endpoint.send(make_attempt(first.address)), endpoint.send(make_attempt(second.address))
        )
        assert results == [Delivered(), Delivered()]
        assert (len(first.received), len(second.received)) == (1, 1)


async def test_send_after_close_is_retried(consumer: GrpcConsumer) -> None:
    """A send racing shutdown is re-queued (Retry) rather than lost or raised."""
    endpoint = GrpcEndpoint(LOOPBACK)
    assert await endpoint.send(make_attempt(consumer.address)) == Delivered()
    await endpoint.aclose()
    assert await endpoint.send(make_attempt(consumer.address)) == Retry("gRPC endpoint closed")


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, Path]:
    """A self-signed certificate for 127.0.0.1: (chain PEM, key PEM, path of the chain as a CA file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ccbridge-test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca_file.write_bytes(chain)
    return chain, key_pem, ca_file


async def test_tls_with_ca_file_delivers(certificate: tuple[bytes, bytes, Path]) -> None:
    """grpcs:// verifies the consumer against the CA file given at construction and delivers."""
    chain, key, ca_file = certificate
    endpoint = GrpcEndpoint(LOOPBACK, ca_file=str(ca_file))
    async with GrpcConsumer(tls=(chain, key)) as secure:
        assert secure.address.startswith("grpcs://")
        assert await endpoint.send(make_attempt(secure.address)) == Delivered()
        await endpoint.aclose()
    assert len(secure.received) == 1


async def test_tls_with_untrusted_certificate_is_retried(certificate: tuple[bytes, bytes, Path]) -> None:
    """Without the CA the handshake fails: UNAVAILABLE, a Retry, and the consumer sees no call."""
    chain, key, _ = certificate
    endpoint = GrpcEndpoint(LOOPBACK)
    async with GrpcConsumer(tls=(chain, key)) as secure:
        outcome = await endpoint.send(make_attempt(secure.address, timeout=3.0))
        await endpoint.aclose()
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith("gRPC UNAVAILABLE")
    assert secure.calls == []


def test_unreadable_ca_file_is_a_config_error(tmp_path: Path) -> None:
    """A CA file that cannot be read fails at construction, naming the key, not at the first send."""
    with pytest.raises(ConfigError, match="ca_file"):
        GrpcEndpoint(LOOPBACK, ca_file=str(tmp_path / "missing.pem"))


async def test_a_private_address_is_refused_by_the_default_policy(consumer: GrpcConsumer) -> None:
    """The webhook network policy holds for gRPC too: loopback is refused unless allowed, the
    reason names the address and the config key, and nothing reaches the consumer."""
    guarded = GrpcEndpoint(NetworkPolicy())
    try:
        outcome = await guarded.send(make_attempt(consumer.address))
    finally:
        await guarded.aclose()
    assert isinstance(outcome, Failed)
    assert "127.0.0.1 is loopback" in outcome.reason and "delivery.allowed_networks" in outcome.reason
    assert consumer.calls == []


async def test_a_host_name_is_dialed_at_the_addresses_the_policy_checked(consumer: GrpcConsumer) -> None:
    """`localhost` is resolved and checked by the policy, then dialed by address: delivered."""
    port = consumer.address.rsplit(":", 1)[1]
    endpoint = GrpcEndpoint(LOOPBACK)
    try:
        outcome = await endpoint.send(make_attempt(f"grpc://localhost:{port}"))
    finally:
        await endpoint.aclose()
    assert isinstance(outcome, Delivered)
    assert len(consumer.received) == 1


async def test_a_name_that_does_not_resolve_is_retried() -> None:
    endpoint = GrpcEndpoint(LOOPBACK)
    try:
        outcome = await endpoint.send(make_attempt("grpc://no-such-host.invalid:50051"))
    finally:
        await endpoint.aclose()
    assert isinstance(outcome, Retry) and "cannot resolve" in outcome.reason


def test_dial_targets_name_one_address_family() -> None:
    assert dial_target(["10.0.0.1", "10.0.0.2"], 443) == "ipv4:10.0.0.1:443,10.0.0.2:443"
    assert dial_target(["2001:db8::1", "10.0.0.1"], 50051) == "ipv6:[2001:db8::1]:50051"
