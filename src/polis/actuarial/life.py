"""Life contingencies on a :class:`~polis.actuarial.life_tables.LifeTable`: probabilities,
commutation functions, assurances, annuities, pure premiums and the A. 132-1 rate cap.

Notation (annual steps, integer ages, i the technical rate):
``v = 1/(1+i)``, ``d = i/(1+i)``, ``d_x = l_x − l_{x+1}``,
``D_x = v^x l_x``, ``N_x = Σ_{y≥x} D_y``, ``C_x = v^{x+1} d_x``, ``M_x = Σ_{y≥x} C_y``.

Arithmetic policy: exact ``Decimal`` with 40 significant digits throughout (no float); money is
rounded half-up to the cent once, on the final single and annual premiums (kernel ``round_money``);
the annual premium is computed from the unrounded single premium.

Timing of death benefits: ``end_of_year`` (A as above) or ``immediate``, paid at the moment of
death, approximated by deaths at mid-year on average: ``Ā ≈ (1+i)^{1/2} × A`` (applied to the death
part only; survival benefits and annuities are paid at year ends/starts).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum
from itertools import accumulate

from polis.actuarial.life_tables import DECIMAL_PRECISION, LifeTable
from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money

__all__ = [
    "Commutation",
    "Cover",
    "LifeContract",
    "LifePrice",
    "PremiumMode",
    "RateCheck",
    "Timing",
    "annuity_due",
    "check_technical_rate",
    "death_timing_factor",
    "endowment_assurance",
    "life_expectancy",
    "p_x",
    "price_life",
    "pure_endowment",
    "q_x",
    "survival",
    "technical_rate_cap",
    "term_assurance",
    "whole_life_assurance",
]

ONE = Decimal(1)


@contextmanager
def _exact() -> Iterator[None]:
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        yield


class Timing(StrEnum):
    """When a death benefit is paid."""

    END_OF_YEAR = "end_of_year"
    IMMEDIATE = "immediate"


class Cover(StrEnum):
    """What is paid: on death within n years, on death, on survival to n, either, or yearly."""

    TERM = "term"
    WHOLE_LIFE = "whole_life"
    PURE_ENDOWMENT = "pure_endowment"
    ENDOWMENT = "endowment"
    ANNUITY_DUE = "annuity_due"

    @property
    def has_death_benefit(self) -> bool:
        return self in (Cover.TERM, Cover.WHOLE_LIFE, Cover.ENDOWMENT)


class PremiumMode(StrEnum):
    SINGLE = "single"
    LEVEL_ANNUAL = "level_annual"


def q_x(table: LifeTable, x: int) -> Decimal:
    """``q_x = d_x / l_x = (l_x − l_{x+1}) / l_x``: probability of dying within the year."""
    with _exact():
        return (table.l(x) - table.l(x + 1)) / table.l(x)


def p_x(table: LifeTable, x: int) -> Decimal:
    """``p_x = l_{x+1} / l_x = 1 − q_x``."""
    with _exact():
        return table.l(x + 1) / table.l(x)


def survival(table: LifeTable, x: int, n: int) -> Decimal:
    """``ₙp_x = l_{x+n} / l_x``: probability that (x) is alive n years later."""
    with _exact():
        return table.l(x + n) / table.l(x)


def life_expectancy(table: LifeTable, x: int) -> Decimal:
    """Curtate expectation ``e_x = Σ_{k≥1} l_{x+k} / l_x`` (complete ≈ e_x + ½)."""
    with _exact():
        return sum((table.l(y) for y in range(x + 1, table.omega + 1)), Decimal(0)) / table.l(x)


@dataclass(frozen=True, slots=True)
class Commutation:
    """Commutation columns ``D, N, C, M`` of a table at rate i, for ages ``first_age … ω + 1``."""

    table: LifeTable
    interest_rate: Decimal
    columns: tuple[tuple[Decimal, ...], ...]  # D, N, C, M

    @classmethod
    def build(cls, table: LifeTable, interest_rate: Decimal) -> Commutation:
        """``D_x = v^x l_x``, ``C_x = v^{x+1} (l_x − l_{x+1})``, N and M as tail sums."""
        if not Decimal(0) <= interest_rate < ONE:
            raise ValueError(f"the interest rate must be in [0, 1), not {interest_rate}")
        with _exact():
            v = ONE / (ONE + interest_rate)
            ages = range(table.first_age, table.omega + 2)
            d = [v**x * table.l(x) for x in ages]
            c = [v ** (x + 1) * (table.l(x) - table.l(x + 1)) for x in ages]
            n, m = _tail_sums(d), _tail_sums(c)
        return cls(table, interest_rate, (tuple(d), tuple(n), tuple(c), tuple(m)))

    def _at(self, column: int, x: int) -> Decimal:
        if x < self.table.first_age:
            raise ValueError(f"age {x} is before the table ({self.table.first_age})")
        values = self.columns[column]
        k = x - self.table.first_age
        return values[k] if k < len(values) else Decimal(0)

    def D(self, x: int) -> Decimal:  # noqa: N802 - actuarial notation
        """``D_x = v^x l_x``."""
        return self._at(0, x)

    def N(self, x: int) -> Decimal:  # noqa: N802
        """``N_x = Σ_{y≥x} D_y``."""
        return self._at(1, x)

    def C(self, x: int) -> Decimal:  # noqa: N802
        """``C_x = v^{x+1} d_x``."""
        return self._at(2, x)

    def M(self, x: int) -> Decimal:  # noqa: N802
        """``M_x = Σ_{y≥x} C_y``."""
        return self._at(3, x)

    @property
    def discount_rate(self) -> Decimal:
        """``d = i / (1+i)``."""
        with _exact():
            return self.interest_rate / (ONE + self.interest_rate)


def _tail_sums(values: list[Decimal]) -> list[Decimal]:
    """``out[k] = Σ_{j≥k} values[j]`` (in the caller's decimal context)."""
    return list(accumulate(reversed(values)))[::-1]


def annuity_due(c: Commutation, x: int, n: int | None = None) -> Decimal:
    """``ä_x = N_x / D_x`` (whole life) or ``ä_{x:n} = (N_x − N_{x+n}) / D_x = Σ_{k<n} ₖE_x``."""
    with _exact():
        return (c.N(x) - (c.N(x + n) if n is not None else 0)) / c.D(x)


def whole_life_assurance(c: Commutation, x: int) -> Decimal:
    """``A_x = M_x / D_x = Σ_{k≥0} v^{k+1} ₖp_x q_{x+k}`` (= 1 − d ä_x)."""
    with _exact():
        return (c.M(x)) / c.D(x)


def term_assurance(c: Commutation, x: int, n: int) -> Decimal:
    """``A¹_{x:n} = (M_x − M_{x+n}) / D_x = Σ_{k<n} v^{k+1} (l_{x+k} − l_{x+k+1}) / l_x``."""
    with _exact():
        return (c.M(x) - c.M(x + n)) / c.D(x)


def pure_endowment(c: Commutation, x: int, n: int) -> Decimal:
    """``ₙE_x = D_{x+n} / D_x = v^n ₙp_x``."""
    with _exact():
        return (c.D(x + n)) / c.D(x)


def endowment_assurance(c: Commutation, x: int, n: int) -> Decimal:
    """``A_{x:n} = A¹_{x:n} + ₙE_x`` (= 1 − d ä_{x:n})."""
    with _exact():
        return (c.M(x) - c.M(x + n) + c.D(x + n)) / c.D(x)


def death_timing_factor(interest_rate: Decimal, timing: Timing) -> Decimal:
    """1 at the end of the year of death; ``(1+i)^{1/2}`` when paid at the moment of death
    (mid-year approximation ``Ā ≈ (1+i)^{1/2} A``)."""
    if timing is Timing.END_OF_YEAR:
        return ONE
    with _exact():
        return (ONE + interest_rate).sqrt()


@dataclass(frozen=True, slots=True)
class RateCheck:
    """The A. 132-1 check of a technical rate against the cap implied by a TME."""

    rate: Decimal
    tme: Decimal
    cap: Decimal
    complies: bool
    rule: str


def technical_rate_cap(
    tme: Decimal, *, duration_years: int | None, periodic_premiums: bool
) -> tuple[Decimal, str]:
    """Cap of art. A. 132-1 Code des assurances, given the TME (taux moyen des emprunts d'État):

    - ``75% × TME`` in general;
    - ``min(3.5%, 60% × TME)`` for a contract over 8 years (``duration_years`` None = whole life)
      or with periodic premiums, whatever its duration.

    Returns ``(cap, rule)``.
    """
    if duration_years is None or duration_years > 8 or periodic_premiums:
        why = "periodic premiums" if periodic_premiums else "duration over 8 years"
        cap = min(Decimal("0.035"), Decimal("0.60") * tme)
        return cap, f"A. 132-1, {why}: min(3.5%, 60% × TME) = min(0.035, 0.60 × {tme})"
    return Decimal(
        "0.75"
    ) * tme, f"A. 132-1, 8 years or less, single premium: 75% × TME = 0.75 × {tme}"


def check_technical_rate(
    rate: Decimal, tme: Decimal, *, duration_years: int | None, periodic_premiums: bool
) -> RateCheck:
    """``complies = rate ≤ cap`` with the cap of :func:`technical_rate_cap`."""
    cap, rule = technical_rate_cap(
        tme, duration_years=duration_years, periodic_premiums=periodic_premiums
    )
    return RateCheck(rate=rate, tme=tme, cap=cap, complies=rate <= cap, rule=rule)


@dataclass(frozen=True, slots=True)
class LifeContract:
    """One life on one table: ``sum_assured`` is the capital (the yearly payment of an annuity)."""

    cover: Cover
    age: int
    sum_assured: Decimal
    interest_rate: Decimal
    term_years: int | None = None
    premium: PremiumMode = PremiumMode.SINGLE
    payment_years: int | None = None
    timing: Timing = Timing.END_OF_YEAR


@dataclass(frozen=True, slots=True)
class LifePrice:
    """Factors exact (40 digits); ``single_premium`` / ``annual_premium`` rounded to the cent."""

    benefit_factor: Decimal
    annuity_factor: Decimal
    single_premium_exact: Decimal
    single_premium: Decimal
    annual_premium_exact: Decimal | None
    annual_premium: Decimal | None
    payment_years: int | None
    duration_years: int | None
    explanation: tuple[Explanation, ...]


def _validate(table: LifeTable, k: LifeContract) -> None:
    if k.sum_assured <= 0:
        raise InvalidInput("the sum assured must be positive", field="sum_assured")
    if not Decimal(0) <= k.interest_rate < ONE:
        raise InvalidInput("the interest rate must be ≥ 0 and < 1", field="interest_rate")
    cohort = f" for birth year {table.birth_year}" if table.birth_year is not None else ""
    if not table.first_age <= k.age <= table.omega:
        raise InvalidInput(
            f"{table.name}{cohort} gives survivors for ages {table.first_age}–{table.omega}, "
            f"not {k.age}",
            field="age",
        )
    needs_term = k.cover in (Cover.TERM, Cover.PURE_ENDOWMENT, Cover.ENDOWMENT)
    if needs_term and k.term_years is None:
        raise InvalidInput(f"a {k.cover} cover needs term_years", field="term_years")
    if k.cover is Cover.WHOLE_LIFE and k.term_years is not None:
        raise InvalidInput("whole_life runs to the end of the table: use term", field="term_years")
    if k.term_years is not None and (k.term_years < 1 or k.age + k.term_years > table.last_age):
        raise InvalidInput(
            f"the cover must end within the table: age + term_years = {k.age + (k.term_years or 0)}"
            f", but {table.name}{cohort} ends at age {table.last_age}",
            field="term_years",
        )
    if k.timing is Timing.IMMEDIATE and not k.cover.has_death_benefit:
        raise InvalidInput(
            "timing applies to death benefits (term, whole_life, endowment)", field="timing"
        )
    if k.premium is PremiumMode.SINGLE and k.payment_years is not None:
        raise InvalidInput("payment_years needs premium level_annual", field="payment_years")
    if k.premium is PremiumMode.LEVEL_ANNUAL and k.cover is Cover.ANNUITY_DUE:
        raise InvalidInput("an immediate annuity is bought by a single premium", field="premium")
    limit = k.term_years if k.term_years is not None else table.last_age - k.age
    if k.payment_years is not None and not 1 <= k.payment_years <= limit:
        raise InvalidInput(f"payment_years must be between 1 and {limit}", field="payment_years")


def _annuity_symbol(x: int, n: int | None) -> tuple[str, str]:
    if n is None:
        return f"ä_{x}", f"N_{x} / D_{x}"
    return f"ä_{{{x}:{n}}}", f"(N_{x} − N_{x + n}) / D_{x}"


def _benefit(c: Commutation, k: LifeContract, timing: Decimal) -> tuple[Decimal, str, str]:
    """(factor, symbol, formula) of the benefit per 1 € of sum assured."""
    x, n = k.age, k.term_years or 0
    half = "" if k.timing is Timing.END_OF_YEAR else "(1+i)^½ × "
    if k.cover is Cover.TERM:
        value = timing * term_assurance(c, x, n)
        return value, f"A¹_{{{x}:{n}}}", f"{half}(M_{x} − M_{x + n}) / D_{x}"
    if k.cover is Cover.WHOLE_LIFE:
        return timing * whole_life_assurance(c, x), f"A_{x}", f"{half}M_{x} / D_{x}"
    if k.cover is Cover.PURE_ENDOWMENT:
        return pure_endowment(c, x, n), f"{n}E_{x}", f"D_{x + n} / D_{x} = v^{n} l_{x + n} / l_{x}"
    if k.cover is Cover.ENDOWMENT:
        value = timing * term_assurance(c, x, n) + pure_endowment(c, x, n)
        return value, f"A_{{{x}:{n}}}", f"{half}(M_{x} − M_{x + n}) / D_{x} + D_{x + n} / D_{x}"
    return (annuity_due(c, x, k.term_years), *_annuity_symbol(x, k.term_years))


def _level(
    c: Commutation, x: int, m: int | None, single: Decimal
) -> tuple[Decimal, Decimal, list[Explanation]]:
    """(ä_{x:m}, P = single / ä_{x:m}, explanation lines)."""
    annuity = annuity_due(c, x, m)
    symbol, formula = _annuity_symbol(x, m)
    with _exact():
        annual = single / annuity
    return (
        annuity,
        annual,
        [
            Explanation("premium annuity", f"{symbol} = {formula}", annuity),
            Explanation(
                "annual premium",
                f"single premium / {symbol}, paid at the start of each year while alive",
                round_money(annual),
            ),
        ],
    )


def price_life(table: LifeTable, contract: LifeContract) -> LifePrice:
    """Pure premiums of ``contract`` on ``table``.

    ``single = S × benefit factor``; level annual premium payable in advance for m years while
    alive: ``P = single / ä_{x:m}`` (m = ``payment_years``, by default the term, or whole life).
    Raises ``InvalidInput`` naming the field (``age``, ``term_years``, ``payment_years``…).
    """
    _validate(table, contract)
    k, x = contract, contract.age
    c = Commutation.build(table, k.interest_rate)
    with _exact():
        factor, symbol, formula = _benefit(c, k, death_timing_factor(k.interest_rate, k.timing))
        single = k.sum_assured * factor
    lines = [
        Explanation("interest", f"i = {k.interest_rate}; d = i/(1+i)", c.discount_rate),
        Explanation("benefit factor", f"{symbol} = {formula}", factor),
        Explanation("single premium", f"{k.sum_assured} × {symbol}", round_money(single)),
    ]
    level = k.premium is PremiumMode.LEVEL_ANNUAL
    m = k.payment_years if k.payment_years is not None else k.term_years
    annual: Decimal | None = None
    if level:
        annuity, annual, more = _level(c, x, m, single)
        lines += more
    else:
        annuity = factor if k.cover is Cover.ANNUITY_DUE else annuity_due(c, x, k.term_years)
    return LifePrice(
        benefit_factor=factor,
        annuity_factor=annuity,
        single_premium_exact=single,
        single_premium=round_money(single),
        annual_premium_exact=annual,
        annual_premium=None if annual is None else round_money(annual),
        payment_years=m if level else None,
        duration_years=k.term_years,
        explanation=tuple(lines),
    )
