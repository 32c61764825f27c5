"""The public calculators over HTTP: ``POST /v1/calc/<name>`` with the JSON of contracts.md.

One route per entry of ``polis.calc.CALCULATORS``; FastAPI validates the body with the calculator's
own request model, so the OpenAPI page documents every field.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from polis.calc import CALCULATORS, Calculator

__all__ = ["router"]

router = APIRouter(prefix="/v1/calc", tags=["calculators"])


def _endpoint(calculator: Calculator) -> Callable[..., BaseModel]:
    def endpoint(request: Any) -> BaseModel:
        return calculator.run(request)

    parameter = inspect.Parameter(
        "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=calculator.request
    )
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [parameter], return_annotation=calculator.response
    )
    endpoint.__name__ = f"calc_{calculator.name.replace('-', '_')}"
    return endpoint


for _calculator in CALCULATORS.values():
    router.add_api_route(
        f"/{_calculator.name}",
        _endpoint(_calculator),
        methods=["POST"],
        response_model=_calculator.response,
        summary=_calculator.summary,
        description=_calculator.description,
        openapi_extra={
            "requestBody": {"content": {"application/json": {"example": dict(_calculator.example)}}}
        },
    )
