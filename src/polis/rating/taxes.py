"""Taxes and contributions on premiums as a dated table (``data/taxes.toml``), premium.md §3.

The table is data: a rate change is a new row with its date and reference, never code. Lookups are
by **due date** (the taxable event of the TSCA: the premium's due date, whatever the contract or
payment date). A due date that no row covers raises :class:`ReferenceDataMissing` ("missing
table"), naming ``due_date``.

Keys used by overrides (``TaxTable.with_overrides``):
``tax.<line>`` (rate), ``surcharge.<property|motor_theft_fire|motor_damage>`` (rate),
``contribution.<name>`` (amount for fixed contributions, rate for rate contributions) and
``cat_nat_taxed`` (true/false). An override applies at every date; its reference says so.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from polis.kernel.errors import InvalidInput, PolisError, ReferenceDataMissing
from polis.kernel.money import to_decimal

__all__ = [
    "CatNatClass",
    "ContributionKind",
    "ContributionRule",
    "DatedValue",
    "LineRule",
    "RateRow",
    "SurchargeRule",
    "TaxTable",
    "TaxTableError",
    "load_tax_table",
    "parse_tax_table",
]


class TaxTableError(PolisError):
    """A tax table file is malformed (a data bug, or a bad table given by the caller)."""

    code = "data.invalid"


class CatNatClass(StrEnum):
    """The legal default of the natural-catastrophe surcharge for a line."""

    PROPERTY = "property"
    MOTOR = "motor"
    NONE = "none"


class ContributionKind(StrEnum):
    FIXED = "fixed"
    RATE = "rate"


@dataclass(frozen=True, slots=True)
class RateRow:
    """``value`` in force for due dates in ``[start, end)`` (``end`` None: open)."""

    start: date
    end: date | None
    value: Decimal
    reference: str

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class DatedValue:
    """The value found for a key at a due date, with its legal reference."""

    key: str
    value: Decimal
    reference: str


@dataclass(frozen=True, slots=True)
class LineRule:
    line: str
    label: str
    tax: str
    cat_nat: CatNatClass
    contributions: tuple[str, ...]
    rows: tuple[RateRow, ...]


@dataclass(frozen=True, slots=True)
class SurchargeRule:
    key: str
    label: str
    rows: tuple[RateRow, ...]


@dataclass(frozen=True, slots=True)
class ContributionRule:
    name: str
    label: str
    kind: ContributionKind
    lines: tuple[str, ...]
    rows: tuple[RateRow, ...]


def _find(key: str, rows: tuple[RateRow, ...], due: date) -> DatedValue:
    for row in rows:
        if row.covers(due):
            return DatedValue(key, row.value, row.reference)
    first = rows[0].start if rows else None
    raise ReferenceDataMissing(
        f"missing table: no row of {key} covers premiums due on {due.isoformat()}"
        + (f" (the table starts on {first.isoformat()})" if first else ""),
        field="due_date",
    )


@dataclass(frozen=True, slots=True)
class TaxTable:
    """The dated table of taxes, surcharges and contributions."""

    version: str
    lines: Mapping[str, LineRule]
    surcharges: Mapping[str, SurchargeRule]
    contributions: Mapping[str, ContributionRule]
    cat_nat_taxed: bool
    cat_nat_taxed_reference: str

    def line(self, name: str, *, field: str = "line") -> LineRule:
        """The rule of a line of business; an unknown line is refused, listing the known ones."""
        try:
            return self.lines[name]
        except KeyError:
            known = ", ".join(sorted(self.lines))
            raise InvalidInput(
                f"unknown line {name!r}; known lines: {known}", field=field
            ) from None

    def tax(self, line: str, due: date, *, field: str = "line") -> DatedValue:
        """The tax rate of ``line`` for premiums due on ``due``."""
        return _find(f"tax.{line}", self.line(line, field=field).rows, due)

    def surcharge(self, key: str, due: date) -> DatedValue:
        return _find(f"surcharge.{key}", self.surcharges[key].rows, due)

    def contribution(self, name: str, due: date, *, field: str = "contributions") -> DatedValue:
        return _find(f"contribution.{name}", self.contribution_rule(name, field=field).rows, due)

    def contribution_rule(self, name: str, *, field: str = "contributions") -> ContributionRule:
        try:
            return self.contributions[name]
        except KeyError:
            known = ", ".join(sorted(self.contributions))
            raise InvalidInput(
                f"unknown contribution {name!r}; known contributions: {known}", field=field
            ) from None

    def override_keys(self) -> list[str]:
        return sorted(
            [f"tax.{k}" for k in self.lines]
            + [f"surcharge.{k}" for k in self.surcharges]
            + [f"contribution.{k}" for k in self.contributions]
            + ["cat_nat_taxed"]
        )

    def with_overrides(
        self, overrides: Mapping[str, Decimal | bool], *, field: str = "tax_overrides"
    ) -> TaxTable:
        """A copy where each overridden key has one row valid at every date."""
        table = self
        for key, value in overrides.items():
            table = table._override(key, value, f"{field}.{key}")
        return table

    def _override(self, key: str, value: Decimal | bool, field: str) -> TaxTable:
        if key == "cat_nat_taxed":
            if not isinstance(value, bool):
                raise InvalidInput("expected true or false", field=field)
            return replace(
                self, cat_nat_taxed=value, cat_nat_taxed_reference="override given by the caller"
            )
        kind, _, name = key.partition(".")
        if isinstance(value, bool) or key not in self.override_keys():
            allowed = ", ".join(self.override_keys())
            raise InvalidInput(f"unknown override key {key!r}; allowed: {allowed}", field=field)
        if value < 0 or (kind != "contribution" and value >= 1):
            raise InvalidInput(f"out of range: {value}", field=field)
        row = (RateRow(date.min, None, value, f"override given by the caller ({key} = {value})"),)
        if kind == "tax":
            lines = {**self.lines, name: replace(self.lines[name], rows=row)}
            return replace(self, lines=lines)
        if kind == "surcharge":
            surcharges = {**self.surcharges, name: replace(self.surcharges[name], rows=row)}
            return replace(self, surcharges=surcharges)
        contributions = {**self.contributions, name: replace(self.contributions[name], rows=row)}
        return replace(self, contributions=contributions)


# ------------------------------------------------------------------------------------ parsing


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TaxTableError(f"{where}.{key}: a non-empty string is required")
    return value


def _day(value: object, where: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise TaxTableError(f"{where}: expected a date (YYYY-MM-DD), got {value!r}")


def _decimal(value: object, where: str) -> Decimal:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TaxTableError(f"{where}: write decimals as strings, got {value!r}")
    try:
        return to_decimal(value)
    except InvalidInput as e:
        raise TaxTableError(f"{where}: {e.message}") from e


def _rows(data: Mapping[str, Any], where: str, value_key: str) -> tuple[RateRow, ...]:
    raw = data.get("rates")
    if not isinstance(raw, list) or not raw:
        raise TaxTableError(f"{where}.rates: at least one dated row is required")
    parsed: list[tuple[date, date | None, Decimal, str]] = []
    for i, item in enumerate(raw):
        at = f"{where}.rates[{i}]"
        if not isinstance(item, dict):
            raise TaxTableError(f"{at}: expected a table")
        unknown = set(item) - {"from", "until", value_key, "reference"}
        if unknown:
            raise TaxTableError(f"{at}: unknown keys {sorted(unknown)}")
        value = _decimal(item.get(value_key), f"{at}.{value_key}")
        if value < 0 or (value_key == "rate" and value >= 1):
            raise TaxTableError(f"{at}.{value_key}: out of range ({value})")
        until = _day(item["until"], f"{at}.until") if "until" in item else None
        parsed.append(
            (_day(item.get("from"), f"{at}.from"), until, value, _text(item, "reference", at))
        )
    rows = []
    for i, (start, until, value, reference) in enumerate(parsed):
        following = parsed[i + 1][0] if i + 1 < len(parsed) else None
        if following is not None and (following <= start or until is not None):
            raise TaxTableError(f"{where}.rates: rows must be in increasing date order, no gaps")
        end = following if following is not None else until
        if end is not None and end <= start:
            raise TaxTableError(f"{where}.rates[{i}]: until must be after from")
        rows.append(RateRow(start, end, value, reference))
    return tuple(rows)


def _choice(enum: type[StrEnum], value: object, where: str) -> Any:
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise TaxTableError(f"{where}: expected one of {allowed}, got {value!r}") from None


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    section = data.get(key)
    if not isinstance(section, dict) or not section:
        raise TaxTableError(f"{key}: a non-empty table is required")
    return section


def _line(name: str, item: Mapping[str, Any]) -> LineRule:
    where = f"lines.{name}"
    names = item.get("contributions", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TaxTableError(f"{where}.contributions: a list of names is required")
    return LineRule(
        name,
        _text(item, "label", where),
        _text(item, "tax", where),
        _choice(CatNatClass, item.get("cat_nat"), f"{where}.cat_nat"),
        tuple(names),
        _rows(item, where, "rate"),
    )


def _contribution(name: str, item: Mapping[str, Any]) -> ContributionRule:
    where = f"contributions.{name}"
    kind = _choice(ContributionKind, item.get("kind"), f"{where}.kind")
    lines = item.get("lines", [])
    if kind is ContributionKind.RATE and not lines:
        raise TaxTableError(f"{where}.lines: a rate contribution names the lines it is based on")
    value_key = "amount" if kind is ContributionKind.FIXED else "rate"
    return ContributionRule(
        name, _text(item, "label", where), kind, tuple(lines), _rows(item, where, value_key)
    )


def parse_tax_table(data: Mapping[str, Any]) -> TaxTable:
    """Validate a parsed TOML table; refuse anything malformed or incoherent (TaxTableError)."""
    lines = {name: _line(name, item) for name, item in _section(data, "lines").items()}
    surcharges = {
        key: SurchargeRule(
            key, _text(item, "label", f"surcharges.{key}"), _rows(item, f"surcharges.{key}", "rate")
        )
        for key, item in _section(data, "surcharges").items()
    }
    missing = {"property", "motor_theft_fire", "motor_damage"} - set(surcharges)
    if missing:
        raise TaxTableError(f"surcharges: missing {sorted(missing)}")
    contributions = {
        name: _contribution(name, item) for name, item in _section(data, "contributions").items()
    }
    for rule in lines.values():
        for name in rule.contributions:
            if name not in contributions:
                raise TaxTableError(f"lines.{rule.line}.contributions: unknown {name!r}")
    for contribution in contributions.values():
        for line in contribution.lines:
            if line not in lines:
                raise TaxTableError(
                    f"contributions.{contribution.name}.lines: unknown line {line!r}"
                )
    taxed = data.get("cat_nat_taxed")
    if not isinstance(taxed, dict) or not isinstance(taxed.get("value"), bool):
        raise TaxTableError("cat_nat_taxed: a table with value = true|false is required")
    return TaxTable(
        _text(data, "version", "table"),
        lines,
        surcharges,
        contributions,
        taxed["value"],
        _text(taxed, "reference", "cat_nat_taxed"),
    )


@cache
def _packaged() -> TaxTable:
    text = resources.files("polis.rating").joinpath("data/taxes.toml").read_text("utf-8")
    return parse_tax_table(tomllib.loads(text))


def load_tax_table(path: Path | None = None) -> TaxTable:
    """The packaged table (cached), or the TOML file at ``path`` given by the caller."""
    if path is None:
        return _packaged()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InvalidInput(f"no such tax table file: {path}", field="tax_table") from e
    except tomllib.TOMLDecodeError as e:
        raise InvalidInput(f"not valid TOML: {e}", field="tax_table") from e
    try:
        return parse_tax_table(data)
    except TaxTableError as e:
        raise InvalidInput(f"invalid tax table: {e.message}", field="tax_table") from e
