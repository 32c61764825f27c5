"""The life engine on the real regulatory tables of ``POLIS_DATA_DIR`` (skipped without them,
except in CI where missing data fails the run)."""

from __future__ import annotations

import csv
import os
import shutil
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.actuarial import (
    Commutation,
    Cover,
    LifeContract,
    LifeTableName,
    PremiumMode,
    ReferenceDataInvalid,
    annuity_due,
    endowment_assurance,
    load_age_shifts,
    load_life_table,
    price_life,
    pure_endowment,
    q_x,
    term_assurance,
    whole_life_assurance,
)
from polis.calc import life
from polis.kernel.errors import InvalidInput

pytestmark = pytest.mark.data


def _data_dir() -> Path:
    configured = os.environ.get("POLIS_DATA_DIR")
    folder = Path(configured) if configured else None
    if folder is None or not (folder / "TH00-02.csv").is_file():
        reason = (
            "reference data not found: set POLIS_DATA_DIR to the folder holding TH00-02.csv "
            f"and the other mortality tables (e.g. ../shared/data); got {configured!r}"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the data tests: {reason}")
        pytest.skip(reason)
    return folder


@pytest.fixture(scope="module")
def data_dir() -> Path:
    return _data_dir()


def rows(path: Path) -> dict[int, Fraction]:
    """Survivors by age, read straight from the CSV (independently of the loader)."""
    with path.open(newline="") as f:
        return {int(float(r["x"])): Fraction(r["lx"]) for r in csv.DictReader(f)}


def cents(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


REQUEST: dict[str, object] = {
    "table": "TH00-02",
    "age": 40,
    "sum_assured": "100000",
    "interest_rate": "0.02",
    "cover": "term",
    "term_years": 10,
    "premium": "level_annual",
    "timing": "end_of_year",
}


def test_th0002_starts_at_the_radix_and_matches_the_published_l40(data_dir: Path) -> None:
    table = load_life_table(data_dir, LifeTableName.TH00_02)
    assert table.l(0) == 100000
    assert table.l(40) == 96369  # annex of the arrêté of 20 December 2005: l_40 = 96 369
    assert table.last_age == 111
    assert table.l(111) == 0


def test_q40_is_the_share_of_the_survivors_at_40_who_die_before_41(data_dir: Path) -> None:
    lx = rows(data_dir / "TH00-02.csv")
    expected = (lx[40] - lx[41]) / lx[40]
    found = q_x(load_life_table(data_dir, LifeTableName.TH00_02), 40)
    assert abs(Fraction(found) - expected) < Fraction(1, 10**30)


def test_ten_year_term_of_100000_at_40_at_2_percent_matches_a_direct_sum_to_the_cent(
    data_dir: Path,
) -> None:
    # A¹_{40:10} = Σ_{k<10} v^{k+1} (l_{40+k} − l_{41+k}) / l_40 and ä_{40:10} = Σ_{k<10} v^k l_{40+k}
    # / l_40, exact in fractions with v = 50/51 (measured: 3,338.20 € single, 369.39 € a year).
    lx, v = rows(data_dir / "TH00-02.csv"), Fraction(50, 51)
    benefit = sum(
        (v ** (k + 1) * (lx[40 + k] - lx[41 + k]) / lx[40] for k in range(10)), Fraction(0)
    )
    annuity = sum((v**k * lx[40 + k] / lx[40] for k in range(10)), Fraction(0))
    response = life(REQUEST, data_dir=data_dir)
    assert response.single_premium == cents(100000 * benefit)
    assert response.annual_premium == cents(100000 * benefit / annuity)


def test_term_premium_increases_with_age_from_30_to_70(data_dir: Path) -> None:
    table = load_life_table(data_dir, LifeTableName.TH00_02)

    def premium(age: int) -> Decimal:
        contract = LifeContract(
            Cover.TERM, age, Decimal(100000), Decimal("0.02"), 10, PremiumMode.LEVEL_ANNUAL
        )
        annual = price_life(table, contract).annual_premium
        assert annual is not None
        return annual

    premiums = [premium(age) for age in range(30, 71)]
    assert all(a < b for a, b in pairwise(premiums))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([LifeTableName.TH00_02, LifeTableName.TF00_02]),
    st.integers(0, 100),
    st.integers(1, 10),
    st.decimals(min_value=0, max_value="0.06", places=4),
)
def test_identities_hold_on_the_real_period_tables(
    name: LifeTableName, x: int, n: int, rate: Decimal
) -> None:
    table = load_life_table(_data_dir(), name)
    c = Commutation.build(table, rate)
    tolerance = Decimal("1E-25")
    d = c.discount_rate
    assert abs(whole_life_assurance(c, x) - (1 - d * annuity_due(c, x))) < tolerance
    assert abs(endowment_assurance(c, x, n) - (1 - d * annuity_due(c, x, n))) < tolerance
    split = term_assurance(c, x, n) + pure_endowment(c, x, n)
    assert abs(endowment_assurance(c, x, n) - split) < tolerance


def test_a_later_cohort_of_tgh05_dies_less_at_the_same_age(data_dir: Path) -> None:
    born_1960 = load_life_table(data_dir, LifeTableName.TGH05, 1960)
    born_1980 = load_life_table(data_dir, LifeTableName.TGH05, 1980)
    assert (born_1960.first_age, born_1980.first_age) == (36, 16)
    assert all(q_x(born_1980, age) < q_x(born_1960, age) for age in range(40, 100))


def test_a_life_annuity_on_tgf05_matches_a_direct_sum(data_dir: Path) -> None:
    # ä_65 = Σ_k v^k l_{65+k} / l_65 on the 1960 column, 1.5 %; 12,000 € a year
    with (data_dir / "TGF05.csv").open(newline="") as f:
        lx = {int(r["x"]): Fraction(r["lx1960"]) for r in csv.DictReader(f)}
    v = Fraction(1) / Fraction("1.015")
    factor = sum((v**k * lx[65 + k] / lx[65] for k in range(121 - 65)), Fraction(0))
    request = {
        "table": "TGF05",
        "birth_year": 1960,
        "age": 65,
        "sum_assured": "12000",
        "interest_rate": "0.015",
        "cover": "annuity_due",
    }
    response = life(request, data_dir=data_dir)
    assert response.single_premium == cents(12000 * factor)
    assert response.warnings == []


def test_the_regulatory_age_shifts_follow_the_shifts_file_for_a_pure_endowment(
    data_dir: Path,
) -> None:
    # woman 40, 20 years: ages 40–50 take q of age y − 6, ages 51–59 of age y − 5 (ShiftF bands)
    lx = rows(data_dir / "TF00-02.csv")
    with (data_dir / "TH-TF00-02_age_shifts.csv").open(newline="") as f:
        bands = [r for r in csv.DictReader(f) if r["LowerAgeF"]]

    def shift(age: int) -> int:
        return next(
            int(b["ShiftF"]) for b in bands if int(b["LowerAgeF"]) <= age <= int(b["UpperAgeF"])
        )

    survival = Fraction(1)
    for y in range(40, 60):
        s = y + shift(y)
        survival *= lx[s + 1] / lx[s]
    expected = cents(100000 * survival / Fraction("1.015") ** 20)
    request = {**REQUEST, "table": "TF00-02", "cover": "pure_endowment", "term_years": 20}
    request |= {"interest_rate": "0.015", "premium": "single"}
    shifted = life(request, data_dir=data_dir)
    plain = life({**request, "age_shift": "none"}, data_dir=data_dir)
    assert shifted.single_premium == expected
    assert shifted.table_used.age_shift_at_issue == -6
    assert shifted.single_premium > plain.single_premium  # younger on the table: dearer survival


def test_a_male_age_shift_uses_the_shifth_bands(data_dir: Path) -> None:
    shifts = load_age_shifts(data_dir)
    assert shifts.shift(LifeTableName.TH00_02, 40) == -7
    assert shifts.shift(LifeTableName.TF00_02, 40) == -6


def test_loaded_tables_are_cached(data_dir: Path) -> None:
    first = load_life_table(data_dir, LifeTableName.TF00_02)
    assert load_life_table(data_dir, LifeTableName.TF00_02) is first


def test_a_modified_copy_of_a_table_is_refused_by_its_hash(data_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "TH00-02.csv"
    shutil.copy(data_dir / "TH00-02.csv", copy)
    copy.write_text(copy.read_text().replace("96369.0", "96370.0"))
    with pytest.raises(ReferenceDataInvalid) as raised:
        load_life_table(tmp_path, LifeTableName.TH00_02)
    assert raised.value.code == "data.invalid"
    assert "SHA-256" in raised.value.message


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"age": 111}, "age", "ages 0–110"),
        ({"table": "TGH05", "birth_year": 1960, "age": 30}, "age", "birth year 1960"),
        ({"table": "TGH05", "birth_year": 1899}, "birth_year", "1900–2005"),
        ({"age": 105, "term_years": 7}, "term_years", "ends at age 111"),
        ({"tme": "0.03"}, "interest_rate", "min(3.5%, 60% × TME)"),
    ],
)
def test_a_request_the_table_cannot_price_names_the_field(
    data_dir: Path, change: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        life({**REQUEST, **change}, data_dir=data_dir)
    assert raised.value.field == field
    assert words in raised.value.message


def test_a_rate_above_the_cap_can_be_answered_with_a_warning(data_dir: Path) -> None:
    # 10 years of level premiums at 2 % with a TME of 3 %: cap min(3.5 %, 1.8 %) = 1.8 %
    response = life({**REQUEST, "tme": "0.03", "on_rate_above_cap": "warning"}, data_dir=data_dir)
    assert response.rate_check is not None
    assert response.rate_check.cap == Decimal("0.018")
    assert not response.rate_check.complies
    assert any("exceeds the cap" in w for w in response.warnings)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"table": "TF00-02"}, "most prudent tariff (A. 132-18): TH00-02"),
        ({"cover": "annuity_due", "premium": "single"}, "TGH05/TGF05"),
        ({"table": "TGH05", "birth_year": 1970}, "life-annuity table"),
    ],
)
def test_a_table_that_does_not_fit_the_cover_gives_a_warning(
    data_dir: Path, change: dict[str, object], words: str
) -> None:
    response = life({**REQUEST, **change}, data_dir=data_dir)
    assert any(words in w for w in response.warnings), response.warnings


def test_the_regulatory_table_for_the_cover_gives_no_warning(data_dir: Path) -> None:
    assert life(REQUEST, data_dir=data_dir).warnings == []
