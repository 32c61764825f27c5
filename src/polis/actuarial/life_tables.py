"""French regulatory mortality tables, read from a reference data folder given as a ``Path``.

The project does not ship the tables: the caller passes the folder (``POLIS_DATA_DIR`` is resolved by
the calculator, never here). Files, as described in ``shared/data/README.md``:

- ``TH00-02.csv``, ``TF00-02.csv`` — period tables, columns ``x, lx`` (radix l_0 = 100,000);
- ``TGH05.csv``, ``TGF05.csv`` — generational tables, columns ``x, lx1900 … lx2005``: the column of a
  birth year is 0 before the cohort's first tabulated age, then starts at the radix 100,000;
- ``TH-TF00-02_age_shifts.csv`` — the *décalages d'âge* annexed to the former art. A. 335-1 (now
  A. 132-18): "pour les contrats en cas de vie autres que les contrats de rente viagère, les tables …
  sont utilisées en corrigeant l'âge de l'assuré". Column ``ShiftF`` applies to TF00-02 (women),
  ``ShiftH`` to TH00-02 (men); both are ≤ 0 (the insured is made younger: prudent for a survival
  benefit). They are applied to the q_x, as the Institut des actuaires' notice recommends:
  ``q*_y = q_{y+s(y)}``, ``l*_{y+1} = l*_y × (1 − q*_y)`` (:func:`shift_table`).

Every file is checked against its published SHA-256 (:data:`REFERENCE_SHA256`) and validated
(ages contiguous, l_x non-negative and non-increasing, radix at the first age). A table whose last l_x
is positive (TGH05/TGF05 at 120) is closed: l_{ω+1} = 0. Parsed files are cached by path, mtime and
size. Arithmetic is ``Decimal`` with :data:`DECIMAL_PRECISION` significant digits.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from polis.kernel.errors import InvalidInput, ReferenceDataMissing

__all__ = [
    "AGE_SHIFTS_FILE",
    "DECIMAL_PRECISION",
    "RADIX",
    "REFERENCE_SHA256",
    "AgeShiftBand",
    "AgeShifts",
    "GenerationalTable",
    "LifeTable",
    "LifeTableName",
    "ReferenceDataInvalid",
    "load_age_shifts",
    "load_life_table",
    "parse_age_shifts",
    "parse_generational_table",
    "parse_period_table",
    "shift_table",
]

DECIMAL_PRECISION = 40
RADIX = Decimal(100000)
AGE_SHIFTS_FILE = "TH-TF00-02_age_shifts.csv"
SET_DATA_DIR = "set POLIS_DATA_DIR to the reference data folder (e.g. ../shared/data)"

#: SHA-256 of the published files (shared/data/README.md)
REFERENCE_SHA256: Mapping[str, str] = MappingProxyType(
    {
        "TH00-02.csv": "fe70ac5815c5631659cc848ea689b4c2ac89df8d0993fa77b11824bb1fafb674",
        "TF00-02.csv": "11043ddaf34fb6d12c7f17fc57472bb771792d800b0493f9bb7c9dfaa1ee4463",
        "TGH05.csv": "101be63e0e38ab94aa123088a0d26e36585c1f854648d88a9bed3714050c31b1",
        "TGF05.csv": "ec30068fa74957f5a758eece70021b8da6e59ff7d4f93696dce31b7b2e66c24c",
        AGE_SHIFTS_FILE: "f1a0f753adcb22ee15370b985b4f3835e3fcaac66d891a587be16db28df990e1",
    }
)


class ReferenceDataInvalid(InvalidInput):
    """A reference file is present but is not the published one (hash) or is malformed."""

    code: ClassVar[str] = "data.invalid"


class LifeTableName(StrEnum):
    """The regulatory tables: period TH/TF 00-02 (A. 132-18 a) and generational TGH/TGF 05."""

    TH00_02 = "TH00-02"
    TF00_02 = "TF00-02"
    TGH05 = "TGH05"
    TGF05 = "TGF05"

    @property
    def file_name(self) -> str:
        return f"{self.value}.csv"

    @property
    def generational(self) -> bool:
        return self in (LifeTableName.TGH05, LifeTableName.TGF05)

    @property
    def male(self) -> bool:
        return self in (LifeTableName.TH00_02, LifeTableName.TGH05)


@dataclass(frozen=True, slots=True)
class LifeTable:
    """Survivors ``l_x`` for the ages ``first_age … last_age``; ``l_x = 0`` beyond ``last_age``."""

    name: str
    first_age: int
    lx: tuple[Decimal, ...]
    birth_year: int | None = None
    shifted: bool = False

    def __post_init__(self) -> None:
        _check_lx(self.name, self.first_age, self.lx, radix=None)

    @property
    def last_age(self) -> int:
        """The last age of the file (l may still be positive there: the table is then closed)."""
        return self.first_age + len(self.lx) - 1

    @property
    def omega(self) -> int:
        """ω, the last age with l_ω > 0."""
        return max(self.first_age + k for k, v in enumerate(self.lx) if v > 0)

    def l(self, x: int) -> Decimal:  # noqa: E743 - l_x is the actuarial name
        """``l_x``: survivors at age x (0 after the end of the table)."""
        if x < self.first_age:
            raise ValueError(f"age {x} is before the first age {self.first_age} of {self.name}")
        return self.lx[x - self.first_age] if x <= self.last_age else Decimal(0)


@dataclass(frozen=True, slots=True)
class GenerationalTable:
    """TGH05/TGF05: one column of ``l_x`` (ages 0 … 120) per birth year."""

    name: str
    columns: Mapping[int, tuple[Decimal, ...]]

    @property
    def birth_years(self) -> tuple[int, int]:
        return min(self.columns), max(self.columns)

    def for_birth_year(self, birth_year: int) -> LifeTable:
        """The cohort table from its first tabulated age (where it holds the radix)."""
        if birth_year not in self.columns:
            low, high = self.birth_years
            raise InvalidInput(
                f"{self.name} covers birth years {low}–{high}, not {birth_year}",
                field="birth_year",
            )
        column = self.columns[birth_year]
        first = next(k for k, v in enumerate(column) if v > 0)
        return LifeTable(self.name, first, column[first:], birth_year=birth_year)


@dataclass(frozen=True, slots=True)
class AgeShiftBand:
    """Ages ``lower … upper`` (inclusive) are corrected by ``shift`` years."""

    lower: int
    upper: int
    shift: int


@dataclass(frozen=True, slots=True)
class AgeShifts:
    """The décalages d'âge: ``female`` bands for TF00-02, ``male`` bands for TH00-02."""

    female: tuple[AgeShiftBand, ...]
    male: tuple[AgeShiftBand, ...]

    def bands(self, table: LifeTableName) -> tuple[AgeShiftBand, ...]:
        """ShiftH bands for TH00-02, ShiftF bands for TF00-02 (none for the TG tables)."""
        if table.generational:
            return ()
        return self.male if table.male else self.female

    def shift(self, table: LifeTableName, age: int) -> int:
        """``s(age)``: the shift of the band holding ``age`` (0 outside every band)."""
        return _shift_of(self.bands(table), age)


def _shift_of(bands: Sequence[AgeShiftBand], age: int) -> int:
    return next((b.shift for b in bands if b.lower <= age <= b.upper), 0)


def _check_lx(name: str, first_age: int, lx: Sequence[Decimal], *, radix: Decimal | None) -> None:
    if first_age < 0 or not lx:
        raise ReferenceDataInvalid(f"{name}: no ages, or a negative first age", field="table")
    if lx[0] <= 0 or (radix is not None and lx[0] != radix):
        expected = f"the radix {radix}" if radix is not None else "a positive number"
        raise ReferenceDataInvalid(
            f"{name}: l at age {first_age} is {lx[0]}, expected {expected}", field="table"
        )
    for k in range(1, len(lx)):
        if lx[k] < 0 or lx[k] > lx[k - 1]:
            raise ReferenceDataInvalid(
                f"{name}: l_x must be non-negative and non-increasing, but l at age "
                f"{first_age + k} is {lx[k]} after {lx[k - 1]}",
                field="table",
            )


def _number(text: str, name: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation as e:
        raise ReferenceDataInvalid(
            f"{name}: {where} is not a number: {text!r}", field="table"
        ) from e
    if not value.is_finite():
        raise ReferenceDataInvalid(f"{name}: {where} is not finite: {text!r}", field="table")
    return value


def _age(text: str, name: str, row: int) -> int:
    value = _number(text, name, f"row {row} age")
    if value != value.to_integral_value():
        raise ReferenceDataInvalid(f"{name}: row {row} age {text!r} is not whole", field="table")
    return int(value)


def _rows(text: str, name: str, header: Sequence[str] | None) -> tuple[list[str], list[list[str]]]:
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if not rows:
        raise ReferenceDataInvalid(f"{name}: the file is empty", field="table")
    found = [c.strip() for c in rows[0]]
    if header is not None and found != list(header):
        raise ReferenceDataInvalid(
            f"{name}: expected the columns {', '.join(header)}, found {', '.join(found)}",
            field="table",
        )
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != len(found):
            raise ReferenceDataInvalid(f"{name}: row {i} has {len(row)} cells", field="table")
    return found, rows[1:]


def _ages(rows: Sequence[Sequence[str]], name: str) -> int:
    """The first age; raises unless the ages go up by one from row to row."""
    ages = [_age(r[0], name, i + 1) for i, r in enumerate(rows)]
    for k in range(1, len(ages)):
        if ages[k] != ages[k - 1] + 1:
            raise ReferenceDataInvalid(
                f"{name}: ages must be contiguous, but {ages[k]} follows {ages[k - 1]}",
                field="table",
            )
    return ages[0]


def parse_period_table(text: str, name: str, *, radix: Decimal | None = RADIX) -> LifeTable:
    """A period table from CSV text with the columns ``x, lx``, validated."""
    _, rows = _rows(text, name, ("x", "lx"))
    if not rows:
        raise ReferenceDataInvalid(f"{name}: no ages", field="table")
    first = _ages(rows, name)
    lx = tuple(_number(r[1], name, f"l at age {first + k}") for k, r in enumerate(rows))
    _check_lx(name, first, lx, radix=radix)
    return LifeTable(name, first, lx)


def parse_generational_table(
    text: str, name: str, *, radix: Decimal | None = RADIX
) -> GenerationalTable:
    """TGH05/TGF05 from CSV text (``x, lx1900 …``): each column is 0 before its first age, then
    starts at the radix and never increases."""
    header, rows = _rows(text, name, None)
    if header[0] != "x" or len(header) < 2 or not rows:
        raise ReferenceDataInvalid(f"{name}: expected columns x, lx<birth year>…", field="table")
    first = _ages(rows, name)
    columns: dict[int, tuple[Decimal, ...]] = {}
    for c, title in enumerate(header[1:], start=1):
        if not (title.startswith("lx") and title[2:].isdigit()):
            raise ReferenceDataInvalid(f"{name}: column {title!r} is not lx<year>", field="table")
        values = tuple(
            _number(r[c], name, f"{title} at age {first + k}") for k, r in enumerate(rows)
        )
        start = next((k for k, v in enumerate(values) if v != 0), None)
        if start is None:
            raise ReferenceDataInvalid(f"{name}: column {title} holds no survivor", field="table")
        _check_lx(f"{name} {title}", first + start, values[start:], radix=radix)
        columns[int(title[2:])] = values
    return GenerationalTable(name, MappingProxyType(columns))


def parse_age_shifts(text: str) -> AgeShifts:
    """The age-shift bands (``LowerAgeF, UpperAgeF, ShiftF, LowerAgeH, UpperAgeH, ShiftH``)."""
    name = AGE_SHIFTS_FILE
    columns = ("LowerAgeF", "UpperAgeF", "ShiftF", "LowerAgeH", "UpperAgeH", "ShiftH")
    _, rows = _rows(text, name, columns)

    def bands(offset: int) -> tuple[AgeShiftBand, ...]:
        found = tuple(
            AgeShiftBand(*(_age(r[offset + j], name, i + 1) for j in range(3)))
            for i, r in enumerate(rows)
            if r[offset].strip()
        )
        for k, band in enumerate(found):
            if band.lower > band.upper or (k and band.lower != found[k - 1].upper + 1):
                raise ReferenceDataInvalid(
                    f"{name}: the bands must be contiguous and ordered ({band})", field="table"
                )
        return found

    return AgeShifts(female=bands(0), male=bands(3))


def shift_table(table: LifeTable, bands: Sequence[AgeShiftBand]) -> LifeTable:
    """The table with the age shifts applied to the q_x (Institut des actuaires' method):

    ``q*_y = q_{y+s(y)}`` (``q = 1`` from ω on), ``l*_{first} = l_{first}``,
    ``l*_{y+1} = l*_y × (1 − q*_y)``, until ``l* = 0``.
    """
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        lx = [table.l(table.first_age)]
        y = table.first_age
        while lx[-1] > 0:
            source = y + _shift_of(bands, y)
            if source < table.first_age:
                raise ReferenceDataInvalid(
                    f"{table.name}: age {y} shifted to {source}, before the table", field="table"
                )
            l_source = table.l(source)
            q = Decimal(1) if l_source == 0 else 1 - table.l(source + 1) / l_source
            lx.append(lx[-1] * (1 - q))
            y += 1
    return LifeTable(
        table.name, table.first_age, tuple(lx), birth_year=table.birth_year, shifted=True
    )


def _read_verified(path: Path) -> str:
    """The text of a reference file whose SHA-256 matches the published one."""
    if not path.is_file():
        where = (
            f"the folder {path.parent} has no file {path.name}"
            if path.parent.is_dir()
            else f"the data folder {path.parent} does not exist"
        )
        raise ReferenceDataMissing(f"{path.name} is needed: {where}; {SET_DATA_DIR}", field="table")
    content = path.read_bytes()
    expected = REFERENCE_SHA256.get(path.name)
    actual = hashlib.sha256(content).hexdigest()
    if expected is not None and actual != expected:
        raise ReferenceDataInvalid(
            f"{path} is not the published {path.name}: SHA-256 {actual}, expected {expected} "
            "(shared/data/README.md); restore the original file",
            field="table",
        )
    return content.decode("utf-8")


def _stamp(path: Path) -> tuple[str, int, int]:
    """Cache key: resolved path, mtime (ns) and size (-1 when absent: the loader then raises)."""
    stat = path.stat() if path.is_file() else None
    return str(path.resolve()), stat.st_mtime_ns if stat else -1, stat.st_size if stat else -1


@lru_cache(maxsize=16)
def _period_cached(path: str, mtime_ns: int, size: int, name: str) -> LifeTable:
    return parse_period_table(_read_verified(Path(path)), name)


@lru_cache(maxsize=8)
def _generational_cached(path: str, mtime_ns: int, size: int, name: str) -> GenerationalTable:
    return parse_generational_table(_read_verified(Path(path)), name)


@lru_cache(maxsize=4)
def _shifts_cached(path: str, mtime_ns: int, size: int) -> AgeShifts:
    return parse_age_shifts(_read_verified(Path(path)))


def load_life_table(
    data_dir: Path, name: LifeTableName, birth_year: int | None = None
) -> LifeTable:
    """The table ``name`` from ``data_dir`` (for TGH05/TGF05, the column of ``birth_year``).

    Raises ``ReferenceDataMissing`` (the file is absent) or ``ReferenceDataInvalid`` (hash or
    content), and ``InvalidInput`` on ``birth_year`` (required for, and only for, TGH05/TGF05).
    """
    path = data_dir / name.file_name
    if not name.generational:
        if birth_year is not None:
            raise InvalidInput(
                f"birth_year applies only to the generational tables TGH05 and TGF05, not {name}",
                field="birth_year",
            )
        return _period_cached(*_stamp(path), name.value)
    if birth_year is None:
        raise InvalidInput(
            f"{name} is generational: give the insured's birth_year (1900–2005)",
            field="birth_year",
        )
    return _generational_cached(*_stamp(path), name.value).for_birth_year(birth_year)


def load_age_shifts(data_dir: Path) -> AgeShifts:
    """The décalages d'âge of TH/TF 00-02 from ``data_dir``."""
    return _shifts_cached(*_stamp(data_dir / AGE_SHIFTS_FILE))
