"""The server's audit trail of subscription writes covers refused ones (status and one-line message,
never a secret), every line and every answer carries the request id (`X-Request-Id` given or
minted), and `/metrics` counts writes by operation and outcome."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import orjson

from ccbridge.testing.server import running_server

SUBS = "/api/v2/eventbridge/subscriptions"
SECRET = "whsec_" + "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw=="
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def sub(**extra: object) -> dict[str, object]:
    return {
        "name": "orders",
        "eventType": "OrderCreated",
        "endpoints": [{"url": "https://hooks.example/orders"}],
        **extra,
    }


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_refused_writes_are_audited_with_status_message_and_request_id(tmp_path: Path) -> None:
    """A 400 (with a secret in its body), a 401, a 404 and a 409 each get a line with the status,
    the one-line message and the request id the caller gave; the secret is nowhere in the file."""
    audit = tmp_path / "audit.jsonl"
    async with running_server({"audit": {"path": str(audit)}}) as srv:
        token = await srv.token()
        bearer = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=srv.base_url) as web:
            bad = await web.post(
                SUBS, json=sub(eventType="nope", secret=SECRET), headers={**bearer, "X-Request-Id": "req-bad"}
            )
            anonymous = await web.post(SUBS, json=sub(), headers={"X-Request-Id": "req-anon"})
            missing = await web.delete(f"{SUBS}/no-such-id", headers={**bearer, "X-Request-Id": "req-404"})
            made = await web.post(SUBS, json=sub(), headers={**bearer, "X-Request-Id": "req-ok"})
            twice = await web.post(SUBS, json=sub(), headers={**bearer, "X-Request-Id": "req-409"})
        assert [r.status_code for r in (bad, anonymous, missing, made, twice)] == [400, 401, 404, 201, 409]
        assert srv.runtime is not None and srv.runtime.services.audit is not None
        await srv.runtime.services.audit.drain()
    records = {str(r["requestId"]): r for r in lines(audit)}
    assert sorted(records) == ["req-404", "req-409", "req-anon", "req-bad", "req-ok"]
    assert (records["req-bad"]["status"], records["req-bad"]["actor"]) == (400, "test-client")
    assert str(records["req-bad"]["message"]).startswith("eventType: ")
    assert (records["req-anon"]["status"], records["req-anon"]["actor"]) == (401, None)
    assert (records["req-404"]["operation"], records["req-404"]["status"]) == ("delete", 404)
    assert records["req-404"]["subscriptionId"] == "no-such-id"
    assert (records["req-409"]["status"], records["req-ok"]["status"], records["req-ok"]["message"]) == (
        409,
        201,
        None,
    )
    assert SECRET not in audit.read_text() and "c2VjcmV0" not in audit.read_text()
    assert all(r.headers["x-audit-logged"] == "server" for r in (bad, anonymous, missing, made, twice))


async def test_every_answer_carries_a_request_id(tmp_path: Path) -> None:
    """A usable id is echoed on every route (the hot events route, errors, health); a missing or
    unusable one is replaced by a fresh UUID."""
    async with running_server({}) as srv, httpx.AsyncClient(base_url=srv.base_url) as web:
        given = await web.get("/healthz", headers={"X-Request-Id": "trace-123"})
        minted = await web.get("/healthz")
        refused = await web.post("/api/v2/eventbridge/events", json={}, headers={"X-Request-Id": "ev-1"})
        unusable = await web.get("/healthz", headers={"X-Request-Id": "x" * 300})
        unknown = await web.get("/no-such-route")
    assert given.headers["x-request-id"] == "trace-123" and refused.headers["x-request-id"] == "ev-1"
    assert refused.status_code == 401
    for answer in (minted, unusable, unknown):
        assert UUID.match(answer.headers["x-request-id"]), answer.headers
    assert minted.headers["x-request-id"] != unusable.headers["x-request-id"]


async def test_metrics_count_writes_by_outcome(tmp_path: Path) -> None:
    """`ccbridge_subscription_writes_total{operation, outcome}` has error counters beside the
    successes: refused (4xx) and failed (5xx)."""
    async with running_server({}) as srv:
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            assert (await api.post(SUBS, json=sub())).status_code == 201
            assert (await api.post(SUBS, json=sub())).status_code == 409
            assert (await api.post(SUBS, json=sub(name="x", eventType="nope"))).status_code == 400
            assert (await api.delete(f"{SUBS}/{uuid.uuid4()}")).status_code == 404
            text = (await api.get("/metrics")).text

    def figure(operation: str, outcome: str) -> float:
        found = re.search(
            rf'ccbridge_subscription_writes_total\{{operation="{operation}",outcome="{outcome}"\}} (\S+)',
            text,
        )
        return float(found[1]) if found else 0.0

    assert (figure("create", "success"), figure("create", "refused"), figure("delete", "refused")) == (
        1,
        2,
        1,
    )


async def test_refused_dead_letter_writes_are_audited_too(tmp_path: Path) -> None:
    """A purge with an unreadable age and a replay of a subscription that does not exist get their
    lines (400, 404) beside the successful purge's."""
    audit = tmp_path / "audit.jsonl"
    async with running_server({"audit": {"path": str(audit)}}) as srv:
        token = await srv.token()
        letters = "/api/v2/eventbridge/deadletters"
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            bad = await api.delete(letters, params={"olderThanDays": "soon"})
            unknown = await api.post(f"{letters}/replay", json={"subscriptionId": "nope"})
            purged = await api.delete(letters)
        assert (bad.status_code, unknown.status_code, purged.status_code) == (400, 404, 200)
        assert srv.runtime is not None and srv.runtime.services.audit is not None
        await srv.runtime.services.audit.drain()
    records = sorted((str(r["operation"]), r["status"], r["message"] is None) for r in lines(audit))
    assert records == [("purge", 200, True), ("purge", 400, False), ("replay", 404, False)]
