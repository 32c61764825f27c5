"""The table of public calculators: one entry each, read by the HTTP API and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = ["Calculator"]


@dataclass(frozen=True, slots=True)
class Calculator:
    """A calculator exposed as ``polis.calc.<name>``, ``polis calc <name>`` and ``POST /v1/calc/<name>``."""

    name: str
    summary: str
    description: str
    request: type[BaseModel]
    response: type[BaseModel]
    run: Callable[[Any], BaseModel]
    example: Mapping[str, Any] = field(default_factory=dict)
