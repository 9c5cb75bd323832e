"""What every documentation model of the API builds on: request bodies refuse fields they do not
name (as the core parsers do), answers admit more (a server may add fields), and a body that is one
of two dialects is documented as a `oneOf`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

REF_TEMPLATE = "#/components/schemas/{model}"
"""Where `components.schemas` files a model of these, by name; every `$ref` of the document points there."""
JSON = dict[str, Any]


def one_of(schema: JSON) -> None:
    """A union of dialects as `oneOf` (pydantic writes `anyOf`): a body is one dialect, never both."""
    schema["oneOf"] = schema.pop("anyOf")


class RequestModel(BaseModel):
    """A request body: no field but those it names (`additionalProperties: false`)."""

    model_config = ConfigDict(extra="forbid")


class AnswerModel(BaseModel):
    """An answer that may carry fields beyond those it names."""

    model_config = ConfigDict(extra="allow")
