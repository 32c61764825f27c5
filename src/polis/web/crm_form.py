"""The bonus-malus page's form: HTML fields ⇄ the ``crm`` calculator request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from polis.kernel.errors import InvalidInput

__all__ = ["MAX_ROWS", "CrmForm", "PeriodRow"]

MAX_ROWS = 60
_COUNTS = ("full", "partial", "none", "neutral")


@dataclass
class PeriodRow:
    full: int = 0
    partial: int = 0
    none: int = 0
    neutral: int = 0
    interrupted: bool = False

    def claims(self) -> list[dict[str, object]]:
        """One claim object per counted claim, in the calculator's shape."""
        kinds: list[tuple[int, dict[str, object]]] = [
            (self.full, {"responsibility": "full"}),
            (self.partial, {"responsibility": "partial"}),
            (self.none, {"responsibility": "none"}),
            (self.neutral, {"responsibility": "none", "neutral": True}),
        ]
        return [dict(claim) for count, claim in kinds for _ in range(count)]


@dataclass
class CrmForm:
    start: str = "1.00"
    usage: str = "standard"
    years_at_floor: str = "0"
    reference_premium: str = ""
    rows: list[PeriodRow] = field(default_factory=lambda: [PeriodRow() for _ in range(5)])

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> CrmForm:
        """Read the posted fields; counts must be whole numbers from 0 to 20."""
        try:
            count = int(data.get("rows", "5"))
        except ValueError as e:
            raise InvalidInput("the number of periods must be a whole number", field="rows") from e
        rows = [_row(data, i) for i in range(1, min(max(count, 1), MAX_ROWS) + 1)]
        return cls(
            start=data.get("start", "1.00").strip().replace(",", "."),
            usage=data.get("usage", "standard"),
            years_at_floor=data.get("years_at_floor", "0").strip() or "0",
            reference_premium=data.get("reference_premium", "").strip().replace(",", "."),
            rows=rows,
        )

    def request(self) -> dict[str, object]:
        """The calculator request for this form."""
        try:
            years = int(self.years_at_floor)
        except ValueError as e:
            raise InvalidInput("must be a whole number", field="years_at_floor") from e
        payload: dict[str, object] = {
            "start": self.start,
            "usage": self.usage,
            "years_at_floor": years,
            "periods": [
                {"claims": row.claims(), "interrupted": row.interrupted} for row in self.rows
            ],
        }
        if self.reference_premium:
            payload["reference_premium"] = self.reference_premium
        return payload


def _row(data: Mapping[str, str], index: int) -> PeriodRow:
    values: dict[str, int] = {}
    for name in _COUNTS:
        key = f"{name}_{index}"
        raw = data.get(key, "0").strip() or "0"
        if not raw.isdigit() or int(raw) > 20:
            raise InvalidInput("enter a whole number of claims from 0 to 20", field=key)
        values[name] = int(raw)
    return PeriodRow(**values, interrupted=data.get(f"interrupted_{index}") in {"on", "true", "1"})
