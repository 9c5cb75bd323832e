"""/openapi.json describes every route's request and response bodies, truthfully enough for a client
generator or a fuzzer: bodies offer both dialects, and the server's real answers match the schemas."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest
from server_payloads import CXONE_EVENT, GENESYS_EVENT, cxone_subscription, genesys_subscription

SUBS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"
WITHOUT_BODY = {
    ("post", "/api/v2/eventbridge/deadletters/{letter_id}/replay"),
    ("post", "/api/v2/eventbridge/deliveries/{delivery}/retry"),
    ("post", "/api/v2/eventbridge/subscriptions/{subscription_id}/endpoints/{index}/enable"),
    ("post", "/api/v2/eventbridge/subscriptions/{subscription_id}/endpoints/{index}/disable"),
    ("post", "/api/v2/eventbridge/subscriptions/{subscription_id}/secret/rotate"),
    ("post", "/api/v2/eventbridge/subscriptions/{subscription_id}/test"),
}
PLAIN_JSON_ERRORS = {"/api/v2/oauth/token", "/oauth/token", "/readyz"}  # RFC 6749 errors; {status}
Document = dict[str, Any]


@pytest.fixture
async def document(api: httpx.AsyncClient) -> Document:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    doc: Document = response.json()
    return doc


def operations(doc: Document) -> list[tuple[str, str, Document]]:
    return [(method, path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


def resolve(doc: Document, schema: Document) -> Document:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    assert ref.startswith("#/components/schemas/"), ref
    resolved: Document = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


def validator(doc: Document, schema: Document) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]})


def body_schema(doc: Document, method: str, path: str) -> Document:
    schema: Document = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return schema


def answer_schema(
    doc: Document, method: str, path: str, status: int, media: str = "application/json"
) -> Document:
    schema: Document = doc["paths"][path][method]["responses"][str(status)]["content"][media]["schema"]
    return schema


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


async def test_every_operation_has_its_bodies_described(document: Document) -> None:
    """Each write has a request body schema, each operation a 2xx answer with a schema (204 aside)
    and its errors as problem+json (the OAuth2 token routes answer RFC 6749 JSON, readyz its status)."""
    ops = operations(document)
    assert len(ops) >= 18
    for method, path, op in ops:
        takes_body = method in ("post", "put") and (method, path) not in WITHOUT_BODY
        assert ("requestBody" in op) == takes_body, (method, path)
        if takes_body:
            [(media, content)] = op["requestBody"]["content"].items()
            assert content["schema"], (method, path, media)
        successes = {int(s): r for s, r in op["responses"].items() if s.startswith("2")}
        assert successes, (method, path)
        for status, answer in successes.items():
            assert status == 204 or all(c["schema"] for c in answer["content"].values()), (method, path)
        errors = {int(s): r for s, r in op["responses"].items() if int(s) >= 400}
        error_media = "application/json" if path in PLAIN_JSON_ERRORS else "application/problem+json"
        for status, answer in errors.items():
            assert list(answer["content"]) == [error_media], (method, path, status)
    assert len({op["operationId"] for _, _, op in ops}) == len(ops)


async def test_every_reference_resolves(document: Document) -> None:
    """Every `$ref` in the document names a schema in components.schemas."""
    names = set(document["components"]["schemas"])
    found = refs(document)
    assert found
    assert {r.rsplit("/", 1)[1] for r in found} <= names
    assert "HTTPValidationError" not in names  # our handlers answer problem+json, not FastAPI's shape


async def test_subscription_and_event_bodies_offer_both_dialects(document: Document) -> None:
    """Create, replace and publish take oneOf a CXone and a Genesys body; each sample is exactly one."""
    cases = [
        (
            ("post", SUBS),
            {"CxoneSubscription", "GenesysSubscription"},
            cxone_subscription(),
            genesys_subscription(),
        ),
        (("put", SUBS + "/{subscription_id}"), {"CxoneSubscription", "GenesysSubscription"}, None, None),
        (("post", EVENTS), {"CxoneEvent", "GenesysEvent"}, CXONE_EVENT, GENESYS_EVENT),
    ]
    for (method, path), dialects, cxone, genesys in cases:
        schema = body_schema(document, method, path)
        alternatives = resolve(document, schema)["oneOf"]
        assert {a["$ref"].rsplit("/", 1)[1] for a in alternatives} == dialects, (method, path)
        if cxone is None or genesys is None:
            continue
        check = validator(document, schema)
        assert check.is_valid(cxone) and check.is_valid(genesys), (method, path)
        both = {**cxone, **genesys}
        assert not check.is_valid(both), "a body with both dialects' fields matches neither"
        for body in (cxone, genesys):
            matching = [a for a in alternatives if validator(document, a).is_valid(body)]
            assert len(matching) == 1, (method, path, body)


async def test_real_answers_match_the_documented_schemas(api: httpx.AsyncClient, document: Document) -> None:
    """What the server answers (created, listed, status, published, problems) validates against its schema."""
    one = SUBS + "/{subscription_id}"
    answers: list[tuple[httpx.Response, Document, str]] = []
    for body in (cxone_subscription(), genesys_subscription()):
        answers.append((await api.post(SUBS, json=body), answer_schema(document, "post", SUBS, 201), "json"))
    sub_id = answers[0][0].json()["id"]
    answers += [
        (await api.get(SUBS), answer_schema(document, "get", SUBS, 200), "json"),
        (await api.get(f"{SUBS}/{sub_id}"), answer_schema(document, "get", one, 200), "json"),
        (
            await api.get(f"{SUBS}/{sub_id}/delivery-status"),
            answer_schema(document, "get", one + "/delivery-status", 200),
            "json",
        ),
        (await api.post(EVENTS, json=CXONE_EVENT), answer_schema(document, "post", EVENTS, 201), "json"),
        (
            await api.get(f"{SUBS}/no-such-id"),
            answer_schema(document, "get", one, 404, "application/problem+json"),
            "problem",
        ),
        (
            await api.post(SUBS, json={"name": "x", "eventType": "nope", "endpoints": []}),
            answer_schema(document, "post", SUBS, 422, "application/problem+json"),
            "problem",
        ),
        (await api.get("/readyz"), answer_schema(document, "get", "/readyz", 200), "json"),
    ]
    for response, schema, kind in answers:
        assert response.is_success == (kind == "json"), response.text
        errors = [e.message for e in validator(document, schema).iter_errors(response.json())]
        assert errors == [], (response.request.url.path, response.text, errors)
