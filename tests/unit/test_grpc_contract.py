"""The gRPC contract: the proto, its packaged copy and the committed stubs stay in step."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ccbridge.endpoints.grpc_gen import consumer_pb2

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto/ccbridge/v1/consumer.proto"
PACKAGED_PROTO = ROOT / "src/ccbridge/proto/ccbridge/v1/consumer.proto"
STUBS = ROOT / "src/ccbridge/endpoints/grpc_gen"
STUB_FILES = ("__init__.py", "consumer_pb2.py", "consumer_pb2.pyi", "consumer_pb2_grpc.py")


def test_packaged_proto_is_identical_to_the_source() -> None:
    """The proto shipped inside the package is byte for byte the one in proto/."""
    assert PACKAGED_PROTO.read_bytes() == PROTO.read_bytes(), "run scripts/gen_grpc.sh"


def test_committed_stubs_are_up_to_date(tmp_path: Path) -> None:
    """Regenerating the stubs with scripts/gen_grpc.sh reproduces the committed files exactly."""
    bash = shutil.which("bash")
    assert bash is not None
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run([bash, str(ROOT / "scripts/gen_grpc.sh"), str(tmp_path)], check=True, env=env)
    stale = [name for name in STUB_FILES if (tmp_path / name).read_bytes() != (STUBS / name).read_bytes()]
    assert stale == [], f"stale stubs {stale}: run scripts/gen_grpc.sh and commit the result"


def test_event_field_numbers_are_the_published_ones() -> None:
    """The wire numbers of Event and Ack fields never change (consumers compiled them in)."""
    event = {field.name: field.number for field in consumer_pb2.Event.DESCRIPTOR.fields}
    assert event == {
        "id": 1,
        "type": 2,
        "source": 3,
        "time": 4,
        "correlation_id": 5,
        "attempt": 6,
        "subscription_id": 7,
        "payload": 8,
    }
    assert {field.name: field.number for field in consumer_pb2.Ack.DESCRIPTOR.fields} == {"note": 1}


def test_service_is_event_consumer_consume() -> None:
    """The service is ccbridge.v1.EventConsumer with the unary Consume(Event) returns (Ack)."""
    service = consumer_pb2.DESCRIPTOR.services_by_name["EventConsumer"]
    method = service.methods_by_name["Consume"]
    assert service.full_name == "ccbridge.v1.EventConsumer"
    assert (method.input_type.full_name, method.output_type.full_name) == (
        "ccbridge.v1.Event",
        "ccbridge.v1.Ack",
    )
    assert not method.client_streaming and not method.server_streaming


def test_stubs_round_trip_with_the_installed_protobuf() -> None:
    """The committed stubs load and serialize with the installed protobuf runtime."""
    event = consumer_pb2.Event(id="e1", attempt=3, payload=b'{"a":1}', source='{"system":"x"}')
    decoded = consumer_pb2.Event.FromString(event.SerializeToString())
    assert (decoded.id, decoded.attempt, decoded.payload) == ("e1", 3, b'{"a":1}')
