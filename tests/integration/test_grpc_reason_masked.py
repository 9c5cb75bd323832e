"""A gRPC endpoint URL it cannot dial is named in the failure reason (stored, answered, logged)
with its credentials masked."""

from __future__ import annotations

import uuid

from ccbridge.core.event import DeliveryJob, EndpointSpec, Failed
from ccbridge.core.ports import Attempt
from ccbridge.endpoints.grpc import GrpcEndpoint
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.testing.samples import sample_event

PASSWORD = f"pw-{uuid.uuid4().hex}"


async def test_a_refused_grpc_url_is_named_without_its_password() -> None:
    url = f"grpc://svc:{PASSWORD}@127.0.0.1:1"
    job = DeliveryJob(
        id=1, event=sample_event(1), subscription_id="s", endpoint=EndpointSpec(url, "grpc"), attempt=1
    )
    endpoint = GrpcEndpoint(NetworkPolicy(allowed_networks=["127.0.0.0/8"]))
    try:
        outcome = await endpoint.send(Attempt(job=job, body=b"{}", headers={}, timeout=1.0))
    finally:
        await endpoint.aclose()
    assert isinstance(outcome, Failed)
    assert "grpc://svc:***@127.0.0.1:1" in outcome.reason and PASSWORD not in outcome.reason
