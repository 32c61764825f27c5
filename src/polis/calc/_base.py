"""What every calculator shares: strict request models and one translation of validation errors."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from polis.kernel.errors import InvalidInput

__all__ = ["CalcModel", "ExplanationLine", "field_path", "parse_request"]

M = TypeVar("M", bound=BaseModel)


class CalcModel(BaseModel):
    """Base of calculator requests and responses: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ExplanationLine(CalcModel):
    """``{"step", "formula", "amount"}`` as in contracts.md (amount may be null)."""

    step: str
    formula: str
    amount: str | None = None


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("periods", 1, "claims", 0, "responsibility")`` → ``"periods[1].claims[0].responsibility"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "request"


def parse_request(model: type[M], payload: M | dict[str, Any] | Any) -> M:
    """Validate ``payload`` into ``model``; the first problem becomes an ``InvalidInput`` naming its field."""
    if isinstance(payload, model):
        return payload
    if not isinstance(payload, dict):
        raise InvalidInput("the request must be a JSON object", field="request")
    try:
        return model.model_validate(payload)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and "[" in p))
        # union/function-wrapped validators add synthetic location parts: keep the field names only
        message = str(first["msg"])
        if first["type"] == "extra_forbidden":
            message = "unknown field (not part of the request shape)"
        elif first["type"] == "missing":
            message = "this field is required"
        raise InvalidInput(message, field=field_path(loc)) from e
