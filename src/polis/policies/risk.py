"""A risk is a JSON object whose fields the product declares; :func:`resolve_risk` validates it.

Each problem raises ``InvalidInput`` naming ``risk.<field>`` (``risk.declarations[2]`` for an item):
an unknown field (listing the declared ones), a missing required field, a value of the wrong type,
an enum value not allowed (listing the allowed ones), a number out of bounds. Defaults are applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.policies.product import Product, RiskField

__all__ = ["RiskValue", "resolve_risk"]

RiskValue = Decimal | int | str | bool | tuple[Decimal, ...] | None


def _bounded(value: Decimal, spec: RiskField, field: str) -> None:
    if spec.min is not None and value < spec.min:
        raise InvalidInput(f"{value} is below the minimum {spec.min}", field=field)
    if spec.max is not None and value > spec.max:
        raise InvalidInput(f"{value} is above the maximum {spec.max}", field=field)


def _decimal(value: object, spec: RiskField, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidInput("expected a decimal number (string or number)", field=field)
    number = to_decimal(value, field=field)
    _bounded(number, spec, field)
    return number


def _integer(value: object, spec: RiskField, field: str) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("expected a whole number", field=field)
    _bounded(Decimal(value), spec, field)
    return value


def _enum(value: object, spec: RiskField, field: str) -> str:
    allowed = spec.values or []
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(
            f"{value!r} is not allowed; allowed values: {', '.join(allowed)}", field=field
        )
    return value


def _boolean(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("expected true or false", field=field)
    return value


def _decimal_list(value: object, spec: RiskField, field: str) -> tuple[Decimal, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("expected a list of decimal numbers", field=field)
    if not spec.min_items <= len(value) <= spec.max_items:
        raise InvalidInput(
            f"expected {spec.min_items} to {spec.max_items} values, got {len(value)}", field=field
        )
    return tuple(_decimal(item, spec, f"{field}[{i}]") for i, item in enumerate(value))


def _value(value: object, spec: RiskField, field: str) -> RiskValue:
    if spec.type == "decimal":
        return _decimal(value, spec, field)
    if spec.type == "integer":
        return _integer(value, spec, field)
    if spec.type == "enum":
        return _enum(value, spec, field)
    if spec.type == "boolean":
        return _boolean(value, field)
    return _decimal_list(value, spec, field)


def resolve_risk(product: Product, risk: object) -> dict[str, RiskValue]:
    """The validated risk with defaults applied (absent optional fields are ``None``)."""
    if not isinstance(risk, Mapping):
        raise InvalidInput("the risk must be a JSON object", field="risk")
    data: Mapping[str, Any] = risk
    for name in data:
        if name not in product.risk:
            declared = ", ".join(sorted(product.risk)) or "(none)"
            raise InvalidInput(
                f"unknown field for product {product.id}; declared fields: {declared}",
                field=f"risk.{name}",
            )
    resolved: dict[str, RiskValue] = {}
    for name, spec in product.risk.items():
        field = f"risk.{name}"
        if name in data and data[name] is not None:
            resolved[name] = _value(data[name], spec, field)
        elif spec.default is not None:
            resolved[name] = _value(spec.default, spec, field)
        elif spec.required:
            raise InvalidInput("this field is required", field=field)
        else:
            resolved[name] = None
    return resolved
