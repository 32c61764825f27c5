"""Readable identifiers such as ``POL-2025-000123``: a prefix, a year and a sequence number.

The store hands out the sequence numbers (one counter per prefix and year); this module only formats
and parses, so it stays pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from polis.kernel.errors import InvalidInput

__all__ = ["ReadableId"]

_PATTERN = re.compile(r"^([A-Z]{2,5})-(\d{4})-(\d{6,})$")


@dataclass(frozen=True, slots=True, order=True)
class ReadableId:
    """``PREFIX-YYYY-NNNNNN`` (six digits at least, more when the year needs them)."""

    prefix: str
    year: int
    number: int

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z]{2,5}", self.prefix):
            raise InvalidInput(
                f"prefix must be 2 to 5 capital letters: {self.prefix!r}", field="prefix"
            )
        if not 1000 <= self.year <= 9999:
            raise InvalidInput(f"year out of range: {self.year}", field="year")
        if self.number < 1:
            raise InvalidInput(f"sequence number must be positive: {self.number}", field="number")

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year:04d}-{self.number:06d}"

    @classmethod
    def parse(cls, text: str, *, field: str = "id", prefix: str | None = None) -> ReadableId:
        match = _PATTERN.match(text.strip())
        if match is None:
            raise InvalidInput(f"not a readable id (PREFIX-YYYY-NNNNNN): {text!r}", field=field)
        parsed = cls(match.group(1), int(match.group(2)), int(match.group(3)))
        if prefix is not None and parsed.prefix != prefix:
            raise InvalidInput(f"expected a {prefix}- id, got {text!r}", field=field)
        return parsed
