"""Life contingencies on small synthetic tables built here (no reference data needed)."""

from __future__ import annotations

import hashlib
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.actuarial import (
    AgeShiftBand,
    Commutation,
    Cover,
    LifeContract,
    LifeTable,
    LifeTableName,
    PremiumMode,
    ReferenceDataInvalid,
    Timing,
    annuity_due,
    check_technical_rate,
    endowment_assurance,
    life_expectancy,
    load_life_table,
    parse_age_shifts,
    parse_generational_table,
    parse_period_table,
    price_life,
    pure_endowment,
    q_x,
    shift_table,
    survival,
    technical_rate_cap,
    term_assurance,
    whole_life_assurance,
)
from polis.calc import life
from polis.kernel.errors import InvalidInput, ReferenceDataMissing

TOLERANCE = Decimal("1E-25")  # the engine works at 40 digits, the test side at the default 28
ONE = Decimal(1)

# The worked example: l_0..l_4 = 1000, 900, 720, 360, 0 (q = 0.1, 0.2, 0.5, 1), i = 10 %.
TINY = LifeTable("tiny", 0, tuple(Decimal(v) for v in (1000, 900, 720, 360, 0)))
TEN_PERCENT = Decimal("0.10")


def table_from_q(qs: list[Decimal], first_age: int = 0) -> LifeTable:
    """l_first = 100000, l_{x+1} = l_x (1 − q_x), closed by q = 1 at the last age."""
    lx = [Decimal(100000)]
    with localcontext() as ctx:
        ctx.prec = 40
        for q in [*qs, ONE]:
            lx.append(lx[-1] * (1 - q))
    return LifeTable("synthetic", first_age, tuple(lx))


@st.composite
def cases(draw: st.DrawFn) -> tuple[LifeTable, Decimal, int, int]:
    """(table, rate, age x, term n) with x + n within the table."""
    qs = draw(
        st.lists(st.decimals(min_value=0, max_value="0.6", places=4), min_size=2, max_size=25)
    )
    table = table_from_q(qs, first_age=draw(st.integers(0, 60)))
    rate = draw(st.decimals(min_value=0, max_value="0.15", places=4))
    x = draw(st.integers(table.first_age, table.omega))
    n = draw(st.integers(1, table.last_age - x))
    return table, rate, x, n


def direct_pure_endowment(table: LifeTable, rate: Decimal, x: int, k: int) -> Decimal:
    """ₖE_x = v^k l_{x+k} / l_x, summed without commutation columns."""
    with localcontext() as ctx:
        ctx.prec = 40
        return table.l(x + k) / table.l(x) / (1 + rate) ** k


def close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= TOLERANCE * max(ONE, abs(a), abs(b))


# ---- identities (property tests) ----------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(cases())
def test_whole_life_assurance_is_one_minus_d_times_the_whole_life_annuity(
    case: tuple[LifeTable, Decimal, int, int],
) -> None:
    table, rate, x, _ = case
    c = Commutation.build(table, rate)
    assert close(whole_life_assurance(c, x), 1 - c.discount_rate * annuity_due(c, x))


@settings(max_examples=150, deadline=None)
@given(cases())
def test_endowment_is_term_assurance_plus_pure_endowment(
    case: tuple[LifeTable, Decimal, int, int],
) -> None:
    table, rate, x, n = case
    c = Commutation.build(table, rate)
    assert close(endowment_assurance(c, x, n), term_assurance(c, x, n) + pure_endowment(c, x, n))


@settings(max_examples=150, deadline=None)
@given(cases())
def test_temporary_annuity_is_the_sum_of_the_pure_endowments(
    case: tuple[LifeTable, Decimal, int, int],
) -> None:
    table, rate, x, n = case
    c = Commutation.build(table, rate)
    direct = sum((direct_pure_endowment(table, rate, x, k) for k in range(n)), Decimal(0))
    assert close(annuity_due(c, x, n), direct)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_endowment_is_one_minus_d_times_the_temporary_annuity(
    case: tuple[LifeTable, Decimal, int, int],
) -> None:
    table, rate, x, n = case
    c = Commutation.build(table, rate)
    assert close(endowment_assurance(c, x, n), 1 - c.discount_rate * annuity_due(c, x, n))


@settings(max_examples=150, deadline=None)
@given(cases())
def test_term_assurance_equals_the_direct_sum_of_discounted_deaths(
    case: tuple[LifeTable, Decimal, int, int],
) -> None:
    table, rate, x, n = case
    with localcontext() as ctx:
        ctx.prec = 40
        direct = sum(
            (
                (table.l(x + k) - table.l(x + k + 1)) / table.l(x) / (1 + rate) ** (k + 1)
                for k in range(n)
            ),
            Decimal(0),
        )
    assert close(term_assurance(Commutation.build(table, rate), x, n), direct)


@settings(max_examples=100, deadline=None)
@given(cases(), st.sampled_from([Cover.TERM, Cover.ENDOWMENT, Cover.PURE_ENDOWMENT]))
def test_level_premium_times_the_premium_annuity_gives_back_the_single_premium(
    case: tuple[LifeTable, Decimal, int, int], cover: Cover
) -> None:
    table, rate, x, n = case
    contract = LifeContract(cover, x, Decimal(100000), rate, n, PremiumMode.LEVEL_ANNUAL)
    price = price_life(table, contract)
    assert price.annual_premium_exact is not None
    c = Commutation.build(table, rate)
    assert close(price.annual_premium_exact * annuity_due(c, x, n), price.single_premium_exact)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_at_zero_interest_the_pure_endowment_is_the_survival_probability(
    case: tuple[LifeTable, Decimal, int, int],
) -> None:
    table, _, x, n = case
    c = Commutation.build(table, Decimal(0))
    assert close(pure_endowment(c, x, n), survival(table, x, n))


@settings(max_examples=100, deadline=None)
@given(cases())
def test_at_zero_interest_term_assurance_is_the_probability_of_dying_within_the_term(
    case: tuple[LifeTable, Decimal, int, int],
) -> None:
    table, _, x, n = case
    c = Commutation.build(table, Decimal(0))
    assert close(term_assurance(c, x, n), 1 - survival(table, x, n))


# ---- worked example by hand ---------------------------------------------------------------------


def test_worked_example_two_year_term_cover_by_hand() -> None:
    # v = 1/1.1. Deaths: d_0 = 100, d_1 = 180 out of l_0 = 1000.
    # A¹_{0:2} = 0.1 v + 0.18 v² = 11/121 + 18/121 = 29/121 = 0.2396694215…
    # ä_{0:2} = 1 + 0.9 v = 1 + 9/11 = 20/11
    # single premium for 1,000 € = 29000/121 = 239.669… → 239.67
    # annual premium = (29000/121) / (20/11) = 319000/2420 = 131.818… → 131.82
    contract = LifeContract(Cover.TERM, 0, Decimal(1000), TEN_PERCENT, 2, PremiumMode.LEVEL_ANNUAL)
    price = price_life(TINY, contract)
    assert Fraction(price.benefit_factor).limit_denominator(10**6) == Fraction(29, 121)
    assert Fraction(price.annuity_factor).limit_denominator(10**6) == Fraction(20, 11)
    assert price.single_premium == Decimal("239.67")
    assert price.annual_premium == Decimal("131.82")
    assert price.payment_years == 2


def test_worked_example_probabilities_and_whole_life_by_hand() -> None:
    # q_1 = 180/900 = 0.2; ₂p_0 = 720/1000; curtate e_0 = (900 + 720 + 360)/1000 = 1.98
    # ä_0 = 1 + 0.9 v + 0.72 v² + 0.36 v³ = 1 + 9/11 + 72/121 + 360/1331 = (1331 + 1089 + 792 + 360)/1331 = 3572/1331
    # A_0 = 0.1 v + 0.18 v² + 0.36 v³ + 0.36 v⁴ = (1331 + 2178 + 3960 + 3600)/14641 = 11069/14641
    # (= 1 − d ä_0 with d = 1/11: 1 − 3572/14641)
    assert q_x(TINY, 1) == Decimal("0.2")
    assert survival(TINY, 0, 2) == Decimal("0.72")
    assert life_expectancy(TINY, 0) == Decimal("1.98")
    c = Commutation.build(TINY, TEN_PERCENT)
    assert Fraction(annuity_due(c, 0)).limit_denominator(10**6) == Fraction(3572, 1331)
    assert Fraction(whole_life_assurance(c, 0)).limit_denominator(10**6) == Fraction(11069, 14641)


def test_immediate_payment_of_death_benefits_uses_the_mid_year_approximation() -> None:
    # Ā¹_{0:2} ≈ (1.1)^½ × 29/121 = 1.0488088482 × 0.2396694215 = 0.25136…; × 1000 → 251.37
    contract = LifeContract(Cover.TERM, 0, Decimal(1000), TEN_PERCENT, 2, timing=Timing.IMMEDIATE)
    assert price_life(TINY, contract).single_premium == Decimal("251.37")


def test_endowment_adds_the_pure_endowment_to_the_term_cover() -> None:
    # ₂E_0 = 0.72 v² = 72/121; A_{0:2} = 29/121 + 72/121 = 101/121 → 1000 × 0.834710… = 834.71
    contract = LifeContract(Cover.ENDOWMENT, 0, Decimal(1000), TEN_PERCENT, 2)
    assert price_life(TINY, contract).single_premium == Decimal("834.71")


def test_annuity_due_pays_the_sum_assured_each_year_while_alive() -> None:
    # ä_{1:2} = 1 + v × 720/900 = 1 + 0.8/1.1 = 19/11 → 500 × 19/11 = 863.636… → 863.64
    contract = LifeContract(Cover.ANNUITY_DUE, 1, Decimal(500), TEN_PERCENT, 2)
    price = price_life(TINY, contract)
    assert price.single_premium == Decimal("863.64")
    assert price.annuity_factor == price.benefit_factor


def test_level_premiums_over_a_shorter_payment_period_cost_more_each_year() -> None:
    whole = LifeContract(
        Cover.WHOLE_LIFE, 0, Decimal(1000), TEN_PERCENT, None, PremiumMode.LEVEL_ANNUAL
    )
    short = LifeContract(
        Cover.WHOLE_LIFE, 0, Decimal(1000), TEN_PERCENT, None, PremiumMode.LEVEL_ANNUAL, 2
    )
    over_life, over_two = price_life(TINY, whole), price_life(TINY, short)
    assert over_life.single_premium == over_two.single_premium
    assert over_two.annual_premium is not None
    assert over_life.annual_premium is not None
    assert over_two.annual_premium > over_life.annual_premium


# ---- the A. 132-1 cap ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tme", "years", "periodic", "cap"),
    [
        ("0.04", 8, False, "0.03"),  # 75 % × 4 %
        ("0.04", 9, False, "0.024"),  # over 8 years: min(3.5 %, 60 % × 4 % = 2.4 %)
        ("0.04", 5, True, "0.024"),  # periodic premiums, whatever the duration
        ("0.07", None, False, "0.035"),  # whole life: min(3.5 %, 4.2 %)
        ("0.07", 3, False, "0.0525"),  # short single premium: 75 % × 7 %
    ],
)
def test_the_a132_1_cap_depends_on_duration_and_premium_mode(
    tme: str, years: int | None, periodic: bool, cap: str
) -> None:
    found, _ = technical_rate_cap(Decimal(tme), duration_years=years, periodic_premiums=periodic)
    assert found == Decimal(cap)


def test_a_rate_at_the_cap_complies_and_a_rate_above_it_does_not() -> None:
    at = check_technical_rate(
        Decimal("0.03"), Decimal("0.04"), duration_years=8, periodic_premiums=False
    )
    above = check_technical_rate(
        Decimal("0.0301"), Decimal("0.04"), duration_years=8, periodic_premiums=False
    )
    assert at.complies
    assert not above.complies
    assert above.cap == Decimal("0.03")


# ---- contract validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contract", "field"),
    [
        (LifeContract(Cover.TERM, 4, Decimal(1000), TEN_PERCENT, 1), "age"),
        (LifeContract(Cover.TERM, 1, Decimal(1000), TEN_PERCENT, 4), "term_years"),
        (LifeContract(Cover.TERM, 1, Decimal(1000), TEN_PERCENT), "term_years"),
        (LifeContract(Cover.WHOLE_LIFE, 1, Decimal(1000), TEN_PERCENT, 2), "term_years"),
        (LifeContract(Cover.TERM, 0, Decimal(-5), TEN_PERCENT, 2), "sum_assured"),
        (LifeContract(Cover.TERM, 0, Decimal(1000), Decimal(1), 2), "interest_rate"),
        (LifeContract(Cover.TERM, 0, Decimal(1000), Decimal("-0.01"), 2), "interest_rate"),
        (
            LifeContract(Cover.TERM, 0, Decimal(1000), TEN_PERCENT, 2, PremiumMode.SINGLE, 1),
            "payment_years",
        ),
        (
            LifeContract(Cover.TERM, 0, Decimal(1000), TEN_PERCENT, 2, PremiumMode.LEVEL_ANNUAL, 3),
            "payment_years",
        ),
        (
            LifeContract(
                Cover.PURE_ENDOWMENT, 0, Decimal(1000), TEN_PERCENT, 2, timing=Timing.IMMEDIATE
            ),
            "timing",
        ),
        (
            LifeContract(
                Cover.ANNUITY_DUE, 0, Decimal(1000), TEN_PERCENT, 2, PremiumMode.LEVEL_ANNUAL
            ),
            "premium",
        ),
    ],
)
def test_an_impossible_contract_is_refused_naming_the_field(
    contract: LifeContract, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        price_life(TINY, contract)
    assert raised.value.field == field


def test_a_cover_may_run_to_the_last_age_of_the_table() -> None:
    # l_4 = 0 is the last row: a 3-year pure endowment from age 1 pays nothing (₃p_1 = 0)
    contract = LifeContract(Cover.PURE_ENDOWMENT, 1, Decimal(1000), TEN_PERCENT, 3)
    assert price_life(TINY, contract).single_premium == Decimal("0.00")


# ---- reading and validating tables --------------------------------------------------------------


def test_a_period_table_is_parsed_from_its_csv() -> None:
    table = parse_period_table("x,lx\n0.0,100000.0\n1.0,99000.0\n2.0,0.0\n", "T")
    assert (table.first_age, table.last_age, table.omega) == (0, 2, 1)
    assert q_x(table, 0) == Decimal("0.01")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("x,lx\n0,100000\n1,99000\n2,99500\n", "non-increasing"),
        ("x,lx\n0,100000\n2,99000\n", "contiguous"),
        ("x,lx\n0,90000\n1,80000\n", "radix"),
        ("x,lx\n0,100000\n1,-1\n", "non-negative"),
        ("age,l\n0,100000\n", "expected the columns"),
        ("x,lx\n0,100000\n1,abc\n", "not a number"),
    ],
)
def test_a_malformed_table_is_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(ReferenceDataInvalid, match=problem) as raised:
        parse_period_table(text, "T")
    assert raised.value.code == "data.invalid"


def test_a_generational_column_starts_at_the_radix_at_the_cohorts_first_age() -> None:
    text = "x,lx1990,lx1991\n0,0,100000\n1,100000,99000\n2,50000,40000\n"
    tables = parse_generational_table(text, "TG")
    cohort = tables.for_birth_year(1990)
    assert (cohort.first_age, cohort.l(1), cohort.birth_year) == (1, Decimal(100000), 1990)
    with pytest.raises(InvalidInput) as raised:
        tables.for_birth_year(1989)
    assert raised.value.field == "birth_year"


def test_age_shifts_are_read_by_sex_band() -> None:
    text = "LowerAgeF,UpperAgeF,ShiftF,LowerAgeH,UpperAgeH,ShiftH\n1,2,-1,1,150,-2\n3,150,0,,,\n"
    shifts = parse_age_shifts(text)
    assert shifts.shift(LifeTableName.TF00_02, 2) == -1
    assert shifts.shift(LifeTableName.TF00_02, 3) == 0
    assert shifts.shift(LifeTableName.TH00_02, 40) == -2
    assert shifts.shift(LifeTableName.TH00_02, 0) == 0
    assert shifts.bands(LifeTableName.TGH05) == ()


def test_age_shifts_move_each_q_to_the_shifted_age() -> None:
    # bands: ages 2–10 take q of age y − 1. q_0..q_3 = 0.1, 0.2, 0.3, 0.4 then 1.
    table = table_from_q([Decimal("0.1"), Decimal("0.2"), Decimal("0.3"), Decimal("0.4")])
    shifted = shift_table(table, [AgeShiftBand(2, 10, -1)])
    # q*_0 = q_0, q*_1 = q_1, q*_2 = q_1 = 0.2, q*_3 = q_2 = 0.3, q*_4 = q_3 = 0.4, q*_5 = q_4 = 1
    expected = ["0.1", "0.2", "0.2", "0.3", "0.4", "1"]
    assert [q_x(shifted, y) for y in range(6)] == [Decimal(q) for q in expected]
    assert shifted.shifted
    assert shifted.last_age == table.last_age + 1


def test_a_missing_data_folder_names_the_file_and_polis_data_dir(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataMissing) as raised:
        load_life_table(tmp_path / "absent", LifeTableName.TH00_02)
    assert raised.value.code == "data.missing"
    assert "TH00-02.csv" in raised.value.message
    assert "POLIS_DATA_DIR" in raised.value.message


def test_a_file_that_is_not_the_published_table_is_refused_by_its_hash(tmp_path: Path) -> None:
    content = "x,lx\n0.0,100000.0\n1.0,0.0\n"
    (tmp_path / "TF00-02.csv").write_text(content)
    with pytest.raises(ReferenceDataInvalid) as raised:
        load_life_table(tmp_path, LifeTableName.TF00_02)
    assert hashlib.sha256(content.encode()).hexdigest() in raised.value.message


def test_birth_year_is_required_for_generational_and_refused_for_period_tables(
    tmp_path: Path,
) -> None:
    with pytest.raises(InvalidInput) as generational:
        load_life_table(tmp_path, LifeTableName.TGF05)
    with pytest.raises(InvalidInput) as period:
        load_life_table(tmp_path, LifeTableName.TH00_02, 1970)
    assert generational.value.field == period.value.field == "birth_year"


# ---- the calculator's request checks (before any data is read) ----------------------------------

REQUEST = {
    "table": "TH00-02",
    "age": 40,
    "sum_assured": "100000",
    "interest_rate": "0.02",
    "cover": "term",
    "term_years": 10,
    "premium": "level_annual",
    "timing": "end_of_year",
}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"table": "TH88-90"}, "table", "'TH00-02', 'TF00-02', 'TGH05' or 'TGF05'"),
        ({"cover": "funeral"}, "cover", "'term'"),
        ({"sum_assured": "-100"}, "sum_assured", "greater than 0"),
        ({"interest_rate": "1"}, "interest_rate", "less than 1"),
        ({"interest_rate": "-0.01"}, "interest_rate", "greater than or equal to 0"),
        ({"age": -1}, "age", "greater than or equal to 0"),
        ({"table": "TGH05"}, "birth_year", "birth_year"),
        ({"birth_year": 1980}, "birth_year", "generational"),
        ({"data_dir": "/tmp"}, "data_dir", "unknown field"),
    ],
)
def test_a_bad_life_request_names_the_field(
    change: dict[str, object], field: str, words: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput) as raised:
        life({**REQUEST, **change}, data_dir=tmp_path)
    assert raised.value.field == field
    assert words in raised.value.message


def test_without_a_data_folder_the_calculator_says_which_file_and_how_to_set_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("POLIS_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env file either
    with pytest.raises(ReferenceDataMissing) as raised:
        life(REQUEST)
    assert raised.value.code == "data.missing"
    assert "TH00-02.csv" in raised.value.message
    assert "POLIS_DATA_DIR" in raised.value.message
