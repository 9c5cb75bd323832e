"""The problem+json body of every error answer but the token endpoint's."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    field: str = Field(description="a dotted/indexed path, e.g. endpoints[1].url")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with every field at fault."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None
    message: str = Field(
        description="one line: the first field at fault, else the detail (seed 001 prints it)"
    )
    code: str = Field(
        description="a stable machine word: bad.request, not.found, conflict, unauthorized, ..."
    )
    existingId: str | None = Field(None, description="409: the subscription that has the name")
