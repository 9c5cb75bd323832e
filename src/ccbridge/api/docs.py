"""Routes registered together with their OpenAPI description, and the document that holds them.

The handlers read raw bytes (see `api.schemas` for why), so FastAPI cannot infer their bodies; each
route states them here instead: its request body (`openapi_extra`), its success answer and the
problem+json answers it may give (`responses=`). `DocumentedApp` adds the models of `api.schemas` as
`components.schemas`, which every `$ref` points into.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.responses import PlainTextResponse, Response

from ccbridge.api import schemas
from ccbridge.api.problems import PROBLEM, status_on

JSON_MEDIA = "application/json"
Endpoint = Callable[..., Awaitable[Response]]
READS = (401, 403)
"""Error answers of every route behind a bearer token."""
WRITES = (400, 401, 403, 413, 415, 422, 503)
"""Error answers of every such route that reads a JSON body: not JSON, too large, not sent as JSON,
fields at fault (422, which the documents' routes answer as 400), and the store unable to take it for
now (a full disk, `limits.max_pending`)."""


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": schemas.REF_TEMPLATE.format(model=model.__name__)}


def _content(model: type[BaseModel] | None, media: str) -> dict[str, Any]:
    return {media: {"schema": ref(model) if model is not None else {"type": "string"}}}


@dataclass(frozen=True, slots=True)
class Doc:
    """What a route's OpenAPI operation says: `answer` is the body of its `status` answer (None: no
    body, or plain text with `text`), `errors` the statuses of its error answers, `extra` other
    successful answers (status -> body)."""

    summary: str
    answer: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    extra: tuple[tuple[int, type[BaseModel]], ...] = ()
    body_media: str = JSON_MEDIA
    error_model: type[BaseModel] = schemas.Problem
    error_media: str = PROBLEM
    text: bool = False
    query: tuple[tuple[str, str], ...] = ()

    def responses(self) -> dict[int | str, dict[str, Any]]:
        answers: dict[int | str, dict[str, Any]] = {}
        if self.answer is not None or self.text:
            answers[self.status] = {
                "content": _content(self.answer, "text/plain" if self.text else JSON_MEDIA)
            }
        for code, model in self.extra:
            answers[code] = {"description": HTTPStatus(code).phrase, "content": _content(model, JSON_MEDIA)}
        for code in sorted(set(self.errors)):
            content = _content(self.error_model, self.error_media)
            answers[code] = {"description": HTTPStatus(code).phrase, "content": content}
        return answers

    def openapi_extra(self) -> dict[str, Any] | None:
        """The request body and the query parameters (optional, of JSON type `kind`) of the operation."""
        extra: dict[str, Any] = {}
        if self.body is not None:
            extra["requestBody"] = {"required": True, "content": _content(self.body, self.body_media)}
        if self.query:
            extra["parameters"] = [
                {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
                for name, kind in self.query
            ]
        return extra or None


def add(router: APIRouter, method: str, path: str, endpoint: Endpoint, doc: Doc) -> None:
    """Register `endpoint` for `method path`, described by `doc` (its error statuses as the route
    answers them: `problems.status_on`)."""
    doc = replace(doc, errors=tuple(status_on(path, code) for code in doc.errors))
    router.add_api_route(
        path,
        endpoint,
        methods=[method],
        status_code=doc.status,
        summary=doc.summary,
        response_model=None,
        response_class=PlainTextResponse if doc.text else Response,
        responses=doc.responses(),
        openapi_extra=doc.openapi_extra(),
    )


class DocumentedApp(FastAPI):
    """FastAPI whose OpenAPI document also holds the models that the routes' `$ref`s name."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = get_openapi(
                title=self.title,
                version=self.version,
                openapi_version=self.openapi_version,
                description=self.description,
                routes=self.routes,
            )
            components = document.setdefault("components", {})
            components["schemas"] = {**components.get("schemas", {}), **schemas.components()}
            _drop_framework_validation(document)
            self.openapi_schema = document
        return self.openapi_schema


def _drop_framework_validation(document: dict[str, Any]) -> None:
    """FastAPI documents a 422 `HTTPValidationError` for every route with parameters; ours answer
    problem+json instead, and a route where a 422 can happen says so in its `Doc`."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422", {})
            if "application/json" in answer.get("content", {}):
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(name, None)
