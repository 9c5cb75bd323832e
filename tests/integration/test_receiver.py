"""The reusable WebhookReceiver: recording, settable behaviour, signature counting, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from ccbridge.core import signatures
from ccbridge.testing import Behaviour, WebhookReceiver

BODY = b'{"id":"evt_1","event":"test.created","data":{"n":1}}'


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes = BODY, headers: dict[str, str] | None = None
) -> tuple[int, str | None]:
    async with http.post(url, data=body, headers=headers or {}) as response:
        await response.read()
        return response.status, response.headers.get("Retry-After")


async def test_records_each_request() -> None:
    """Method, path, headers (case-insensitive), exact body bytes, arrival time and answer are recorded."""
    async with WebhookReceiver() as receiver, aiohttp.ClientSession() as http:
        assert receiver.url.startswith("http://127.0.0.1:") and receiver.url.endswith("/hook")
        before = time.time()
        await post(http, receiver.url + "/x?y=1", headers={"X-Custom": "abc"})
        [request] = receiver.received
    assert (request.method, request.path, request.status) == ("POST", "/hook/x", 200)
    assert request.body == BODY and request.json()["id"] == "evt_1"
    assert request.headers["x-custom"] == "abc"
    assert before <= request.received_at <= time.time()
    assert request.signature_valid is None


async def test_fixed_status(http: aiohttp.ClientSession) -> None:
    """A fixed status is answered to every request."""
    async with WebhookReceiver(Behaviour(status=410)) as receiver:
        assert [(await post(http, receiver.url))[0] for _ in range(3)] == [410, 410, 410]


async def test_fail_first_then_succeed_with_retry_after(http: aiohttp.ClientSession) -> None:
    """The first N requests fail with Retry-After, later ones succeed without it."""
    async with WebhookReceiver(Behaviour(fail_first=2, fail_status=503, retry_after="7")) as receiver:
        answers = [await post(http, receiver.url) for _ in range(3)]
    assert answers == [(503, "7"), (503, "7"), (200, None)]
    assert [r.status for r in receiver.received] == [503, 503, 200]


async def test_behave_changes_behaviour_and_restarts_count(http: aiohttp.ClientSession) -> None:
    """behave() changes fields of the behaviour and restarts the fail_first count."""
    async with WebhookReceiver(Behaviour(fail_first=1)) as receiver:
        assert (await post(http, receiver.url))[0] == 503
        receiver.behave(status=500)
        assert (await post(http, receiver.url))[0] == 503  # fail_first counts again from now
        assert (await post(http, receiver.url))[0] == 500
        receiver.behave(Behaviour(status=202))
        assert (await post(http, receiver.url))[0] == 202


async def test_extra_answer_headers(http: aiohttp.ClientSession) -> None:
    """Behaviour.headers are added to every answer (e.g. Location for redirects)."""
    async with (
        WebhookReceiver(Behaviour(status=302, headers={"Location": "/elsewhere"})) as receiver,
        http.post(receiver.url, data=BODY, allow_redirects=False) as response,
    ):
        assert response.headers["Location"] == "/elsewhere"


async def test_delay_and_in_flight(http: aiohttp.ClientSession) -> None:
    """Answers wait `delay` seconds, so concurrent requests are all held at once (max_in_flight)."""
    async with WebhookReceiver(Behaviour(delay=0.3)) as receiver:
        await asyncio.gather(*(post(http, receiver.url) for _ in range(3)))
        assert receiver.max_in_flight == 3 and receiver.in_flight == 0


async def test_counts_valid_and_invalid_signatures(http: aiohttp.ClientSession) -> None:
    """Signed requests count as valid, tampered or unsigned ones as invalid, per scheme."""
    secret = signatures.generate_secret()
    headers = signatures.signed_headers(secret, "evt_1", time.time(), BODY)
    async with WebhookReceiver(secrets=[secret]) as receiver:
        await post(http, receiver.url, headers=headers)
        await post(http, receiver.url, body=BODY + b" ", headers=headers)
        await post(http, receiver.url)
        genesys_only = {signatures.GENESYS_HEADER: headers[signatures.GENESYS_HEADER]}
        await post(http, receiver.url, headers=genesys_only)
    good, tampered, unsigned, genesys = receiver.received
    assert (good.standard_valid, good.genesys_valid, good.signature_valid) == (True, True, True)
    assert (tampered.standard_valid, tampered.genesys_valid, tampered.signature_valid) == (
        False,
        False,
        False,
    )
    assert unsigned.signature_valid is False
    assert (genesys.standard_valid, genesys.genesys_valid) == (None, True)
    assert (receiver.valid_signatures, receiver.invalid_signatures) == (2, 2)


async def test_rotated_secrets_all_verify(http: aiohttp.ClientSession) -> None:
    """With several secrets, a request signed by any of them counts as valid."""
    old, new = signatures.generate_secret(), signatures.generate_secret()
    async with WebhookReceiver(secrets=[old, new]) as receiver:
        for secret in (old, new):
            await post(http, receiver.url, headers=signatures.signed_headers(secret, "e", time.time(), BODY))
    assert receiver.valid_signatures == 2


async def test_stale_standard_signature_is_invalid(http: aiohttp.ClientSession) -> None:
    """A Standard Webhooks timestamp outside the tolerance makes the signature invalid."""
    secret = signatures.generate_secret()
    headers = signatures.signed_headers(secret, "e", time.time() - 600, BODY)
    async with WebhookReceiver(secrets=[secret], tolerance=300) as receiver:
        await post(http, receiver.url, headers=headers)
    assert receiver.received[0].standard_valid is False


async def test_reject_invalid_answers_401_without_consuming_behaviour(http: aiohttp.ClientSession) -> None:
    """With reject_invalid, bad signatures get 401 and do not count toward fail_first."""
    secret = signatures.generate_secret()
    async with WebhookReceiver(Behaviour(fail_first=1), secrets=[secret], reject_invalid=True) as receiver:
        assert (await post(http, receiver.url))[0] == 401
        signed = signatures.signed_headers(secret, "e", time.time(), BODY)
        assert (await post(http, receiver.url, headers=signed))[0] == 503
        assert (await post(http, receiver.url, headers=signed))[0] == 200


async def test_wait_for_returns_when_enough_arrived(http: aiohttp.ClientSession) -> None:
    """wait_for returns every recorded request once at least n have arrived."""
    async with WebhookReceiver() as receiver:
        waiter = asyncio.create_task(receiver.wait_for(2, timeout=5))
        await post(http, receiver.url)
        assert not waiter.done()
        await post(http, receiver.url)
        assert len(await waiter) == 2


async def test_wait_for_times_out() -> None:
    """wait_for raises TimeoutError when too few requests arrive in time."""
    async with WebhookReceiver() as receiver:
        with pytest.raises(TimeoutError):
            await receiver.wait_for(1, timeout=0.1)


async def test_request_is_recorded_before_a_delayed_answer(http: aiohttp.ClientSession) -> None:
    """A request is visible on arrival, even when its answer is delayed past the sender's timeout."""
    async with WebhookReceiver(Behaviour(delay=5)) as receiver:
        with pytest.raises(TimeoutError):
            await http.post(receiver.url, data=BODY, timeout=aiohttp.ClientTimeout(total=0.2))
        assert len(await receiver.wait_for(1, timeout=1)) == 1


async def test_stop_does_not_wait_for_delayed_answers(http: aiohttp.ClientSession) -> None:
    """stop() returns while an answer is still being delayed (it would otherwise hang for 300 s)."""
    receiver = WebhookReceiver(Behaviour(delay=300))
    await receiver.start()
    task = asyncio.create_task(post(http, receiver.url))
    await receiver.wait_for(1)
    await asyncio.wait_for(receiver.stop(), 60)
    with pytest.raises(aiohttp.ClientError):
        await task


async def test_reset_forgets_requests(http: aiohttp.ClientSession) -> None:
    """reset() clears recorded requests and counters."""
    secret = signatures.generate_secret()
    async with WebhookReceiver(secrets=[secret]) as receiver:
        await post(http, receiver.url)
        receiver.reset()
        assert (receiver.received, receiver.invalid_signatures, receiver.max_in_flight) == ([], 0, 0)


def test_url_before_start_is_an_error() -> None:
    """The URL is only known once the receiver has bound its port."""
    with pytest.raises(RuntimeError):
        _ = WebhookReceiver().url


def test_behaviour_status_for() -> None:
    """status_for gives fail_status to the first fail_first requests and status afterwards."""
    behaviour = Behaviour(status=201, fail_first=2, fail_status=429)
    assert [behaviour.status_for(n) for n in (1, 2, 3, 4)] == [429, 429, 201, 201]
