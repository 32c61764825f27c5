"""``life`` calculator (contracts.md): pure premiums of life covers on the French regulatory tables.

The tables are read from ``data_dir`` or, when it is not given, from ``Settings().data_dir``
(``POLIS_DATA_DIR``) resolved at call time. The engine is :mod:`polis.actuarial.life`; this module
validates, picks the table (and the age shifts), checks the rate against A. 132-1 when a TME is given,
and serialises: money as strings with 2 decimals (half-up, once), factors and probabilities as
strings with 10 decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer
from pydantic_core import PydanticCustomError

from polis.actuarial.life import (
    Cover,
    LifeContract,
    LifePrice,
    PremiumMode,
    Timing,
    check_technical_rate,
    life_expectancy,
    price_life,
    q_x,
    survival,
)
from polis.actuarial.life_tables import (
    REFERENCE_SHA256,
    LifeTable,
    LifeTableName,
    load_age_shifts,
    load_life_table,
    shift_table,
)
from polis.calc._base import CalcModel, ExplanationLine, parse_request
from polis.config import Settings
from polis.kernel.errors import InvalidInput, ReferenceDataMissing
from polis.kernel.explain import Explanation
from polis.kernel.money import to_decimal

__all__ = [
    "AgeShiftMode",
    "LifeProbabilities",
    "LifeRateCheck",
    "LifeRequest",
    "LifeResponse",
    "LifeTableUsed",
    "RateCapAction",
    "life",
]

FACTOR = Decimal("1E-10")
MONEY_STEPS = frozenset({"single premium", "annual premium"})
#: the table giving the most prudent tariff for a cover, when one table serves both sexes
PRUDENT_TABLE = {
    Cover.TERM: LifeTableName.TH00_02,
    Cover.WHOLE_LIFE: LifeTableName.TH00_02,
    Cover.PURE_ENDOWMENT: LifeTableName.TF00_02,
    Cover.ANNUITY_DUE: LifeTableName.TGF05,
}


class AgeShiftMode(StrEnum):
    """``auto``: the regulatory décalages d'âge for a pure endowment on TH/TF 00-02, else none."""

    AUTO = "auto"
    REGULATORY = "regulatory"
    NONE = "none"


class RateCapAction(StrEnum):
    """What a rate above the A. 132-1 cap does: refuse the request, or answer with a warning."""

    ERROR = "error"
    WARNING = "warning"


def _decimal_in(value: object) -> Decimal:
    try:
        return to_decimal(value)
    except InvalidInput as e:
        raise PydanticCustomError("decimal", "{reason}", {"reason": e.message}) from e


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _factor(value: Decimal) -> str:
    return str(value.quantize(FACTOR, rounding=ROUND_HALF_UP))


DecimalIn = Annotated[Decimal, BeforeValidator(_decimal_in)]
Money = Annotated[Decimal, PlainSerializer(_money, return_type=str, when_used="json")]
Factor = Annotated[Decimal, PlainSerializer(_factor, return_type=str, when_used="json")]
Rate = Annotated[Decimal, PlainSerializer(str, return_type=str, when_used="json")]


class LifeRequest(CalcModel):
    """contracts.md ``life``; ``sum_assured`` is the yearly payment of an ``annuity_due``."""

    table: LifeTableName
    age: int = Field(ge=0, le=130)
    sum_assured: Annotated[DecimalIn, Field(gt=0)]
    interest_rate: Annotated[DecimalIn, Field(ge=0, lt=1)]
    cover: Cover
    term_years: int | None = Field(default=None, ge=1, le=130)
    premium: PremiumMode = PremiumMode.SINGLE
    timing: Timing = Timing.END_OF_YEAR
    birth_year: int | None = Field(default=None, description="required for TGH05/TGF05 only")
    payment_years: int | None = Field(default=None, ge=1, le=130)
    age_shift: AgeShiftMode = AgeShiftMode.AUTO
    tme: Annotated[DecimalIn, Field(ge=0, lt=1)] | None = None
    on_rate_above_cap: RateCapAction = RateCapAction.ERROR


class LifeTableUsed(CalcModel):
    name: LifeTableName
    birth_year: int | None
    first_age: int
    last_age: int
    age_shift: bool
    age_shift_at_issue: int
    sha256: str


class LifeProbabilities(CalcModel):
    q_x: Factor
    survival_to_term: Factor | None
    life_expectancy: Factor


class LifeRateCheck(CalcModel):
    interest_rate: Rate
    tme: Rate
    cap: Factor
    complies: bool
    rule: str
    on_rate_above_cap: RateCapAction


class LifeResponse(CalcModel):
    cover: Cover
    single_premium: Money
    annual_premium: Money | None
    annuity_factor: Factor
    benefit_factor: Factor
    payment_years: int | None
    table_used: LifeTableUsed
    probabilities: LifeProbabilities
    rate_check: LifeRateCheck | None
    warnings: list[str]
    explanation: list[ExplanationLine]


def life(request: LifeRequest | dict[str, Any], *, data_dir: Path | None = None) -> LifeResponse:
    """Single premium ``S × factor`` and level annual premium ``single / ä_{x:m}`` of one cover.

    Raises ``InvalidInput`` naming the field, ``ReferenceDataMissing`` (``data.missing``) when the
    table file or the data folder is absent.
    """
    req = parse_request(LifeRequest, request)
    table, shift_at_issue = _table(_data_dir(data_dir, req.table), req)
    price = price_life(table, _contract(req))
    warnings = _table_warnings(req)
    rate_check = _rate_check(req, price, warnings)
    lines = [_table_line(req, table, shift_at_issue), *price.explanation, *_notes(rate_check)]
    return LifeResponse(
        cover=req.cover,
        single_premium=price.single_premium,
        annual_premium=price.annual_premium,
        annuity_factor=price.annuity_factor,
        benefit_factor=price.benefit_factor,
        payment_years=price.payment_years,
        table_used=LifeTableUsed(
            name=req.table,
            birth_year=table.birth_year,
            first_age=table.first_age,
            last_age=table.last_age,
            age_shift=table.shifted,
            age_shift_at_issue=shift_at_issue,
            sha256=REFERENCE_SHA256[req.table.file_name],
        ),
        probabilities=_probabilities(table, req),
        rate_check=rate_check,
        warnings=warnings,
        explanation=[_line(e) for e in lines],
    )


def _contract(req: LifeRequest) -> LifeContract:
    return LifeContract(
        cover=req.cover,
        age=req.age,
        sum_assured=req.sum_assured,
        interest_rate=req.interest_rate,
        term_years=req.term_years,
        premium=req.premium,
        payment_years=req.payment_years,
        timing=req.timing,
    )


def _data_dir(explicit: Path | None, table: LifeTableName) -> Path:
    if explicit is not None:
        return explicit
    configured = Settings().data_dir
    if configured is None:
        raise ReferenceDataMissing(
            f"the mortality table file {table.file_name} is needed and no data folder is set: "
            "set POLIS_DATA_DIR to the reference data folder (e.g. ../shared/data)",
            field="table",
        )
    return configured


def _table(folder: Path, req: LifeRequest) -> tuple[LifeTable, int]:
    """The table used, and the age shift s(age) at issue (0 when no shift is applied)."""
    table = load_life_table(folder, req.table, req.birth_year)
    if req.table.generational:
        if req.age_shift is AgeShiftMode.REGULATORY:
            raise InvalidInput(
                "age shifts apply to TH00-02 and TF00-02 only (TGH05/TGF05 are generational)",
                field="age_shift",
            )
        return table, 0
    wanted = req.age_shift is AgeShiftMode.REGULATORY or (
        req.age_shift is AgeShiftMode.AUTO and req.cover is Cover.PURE_ENDOWMENT
    )
    if not wanted:
        return table, 0
    shifts = load_age_shifts(folder)
    return shift_table(table, shifts.bands(req.table)), shifts.shift(req.table, req.age)


def _table_warnings(req: LifeRequest) -> list[str]:
    annuity = req.cover is Cover.ANNUITY_DUE
    if annuity and not req.table.generational:
        return [
            f"{req.table} is for contracts other than life annuities (A. 132-18): "
            "life annuities are priced on TGH05/TGF05"
        ]
    if not annuity and req.table.generational:
        return [
            f"{req.table} is a life-annuity table; other contracts use TH00-02/TF00-02 (A. 132-18)"
        ]
    prudent = PRUDENT_TABLE.get(req.cover)
    if prudent is not None and prudent is not req.table:
        return [
            f"unisex pricing (L. 111-7): a tariff that serves both sexes must use the table "
            f"giving the most prudent tariff (A. 132-18): {prudent} for cover {req.cover}"
        ]
    return []


def _rate_check(req: LifeRequest, price: LifePrice, warnings: list[str]) -> LifeRateCheck | None:
    if req.tme is None:
        return None
    m = price.payment_years  # None for a single premium, or premiums for the whole of life
    periodic = req.premium is PremiumMode.LEVEL_ANNUAL and (m is None or m > 1)
    check = check_technical_rate(  # no term_years: whole life, i.e. over 8 years
        req.interest_rate, req.tme, duration_years=req.term_years, periodic_premiums=periodic
    )
    if not check.complies:
        message = (
            f"the technical rate {req.interest_rate} exceeds the cap {check.cap} ({check.rule})"
        )
        if req.on_rate_above_cap is RateCapAction.ERROR:
            raise InvalidInput(message, field="interest_rate")
        warnings.append(message)
    return LifeRateCheck(
        interest_rate=req.interest_rate,
        tme=req.tme,
        cap=check.cap,
        complies=check.complies,
        rule=check.rule,
        on_rate_above_cap=req.on_rate_above_cap,
    )


def _probabilities(table: LifeTable, req: LifeRequest) -> LifeProbabilities:
    n = req.term_years
    return LifeProbabilities(
        q_x=q_x(table, req.age),
        survival_to_term=None if n is None else survival(table, req.age, n),
        life_expectancy=life_expectancy(table, req.age),
    )


def _table_line(req: LifeRequest, table: LifeTable, shift: int) -> Explanation:
    cohort = f", birth year {table.birth_year}" if table.birth_year is not None else ""
    text = (
        f"{req.table}{cohort}: l_x for ages {table.first_age}–{table.last_age} "
        f"(SHA-256 verified); q_{req.age} = (l_{req.age} − l_{req.age + 1}) / l_{req.age}"
    )
    if table.shifted:
        text += (
            f"; age shifts (A. 132-18 annex) applied to q: q*_y = q_(y+s(y)), "
            f"s({req.age}) = {shift}"
        )
    return Explanation("table", text, q_x(table, req.age))


def _notes(check: LifeRateCheck | None) -> list[Explanation]:
    if check is None:
        return [Explanation("technical rate", "no TME given: the A. 132-1 cap was not checked")]
    verdict = "complies" if check.complies else "exceeds the cap"
    return [
        Explanation(
            "technical rate", f"{check.rule}; i = {check.interest_rate}: {verdict}", check.cap
        )
    ]


def _line(e: Explanation) -> ExplanationLine:
    if e.amount is None:
        amount = None
    elif e.step in MONEY_STEPS:
        amount = _money(e.amount)
    else:
        amount = _factor(e.amount)
    return ExplanationLine(step=e.step, formula=e.formula, amount=amount)
