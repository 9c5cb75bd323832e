"""What every config model shares: unknown keys are refused and a loaded config never changes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    """A config section: `extra="forbid"` (a misspelt key is an error, not a silent default) and frozen
    (components share one loaded config; none may change it under the others)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def config_problem(message: str) -> PydanticCustomError:
    """A validator's error whose message is shown as written (no "Value error, " prefix)."""
    return PydanticCustomError("ccbridge", message)


def require_unique(values: list[str], what: str) -> None:
    """Raise the problem `<what> must be unique; repeated: a, b` when any of `values` repeats."""
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise config_problem(f"{what} must be unique; repeated: {', '.join(repeated)}")
