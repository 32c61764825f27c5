"""Batch rating: the columnar twin of the single quote gives the same cents on every row.

Every comparison is against :func:`polis.policies.quote_risk` (the single path), line by line:
each cover's pure premium, loadings, net premium, surcharge and tax, the fees, the tax on fees, the
contributions, the totals and the regularisation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polis.kernel.errors import InvalidInput, ReferenceDataMissing
from polis.policies import Product, Quote, default_catalogue, parse_product, quote_risk
from polis.rating.batch import FLAG, TOTALS, BatchRater, compile_product
from polis.rating.batch_inputs import normalise
from polis.rating.batch_plan import BandsFactor
from polis.rating.batch_reference import decimal_view
from polis.rating.batch_sample import sample_portfolio

D = Decimal
DAY = date(2025, 9, 1)
CATALOGUE = default_catalogue()
BATCH_PRODUCTS = [
    "equipment-micro",
    "home",
    "motor-private",
    "professional-liability",
    "stock-floating",
]

SYNTHETIC = """
id = "synthetic"
version = "1.0"
name = { fr = "Synthétique", en = "Synthetic" }
insurer = "company"
lines = ["fire_private", "other_damage", "liability", "motor_optional", "legal_protection"]
tax_line = "liability"
units = ["year", "day", "hour"]
valid_from = 2024-01-01
term_months = 6
prorate_contributions = true

[risk.kind]
type = "enum"
values = ["a", "b", "c"]
required = false
default = "b"

[risk.value]
type = "decimal"
min = "0"
max = "2000000"

[risk.valuation]
type = "enum"
values = ["replacement_new", "use_value", "market", "agreed"]

[risk.wear]
type = "decimal"
min = "0"
max = "1"
required = false
default = "0.15"

[risk.count]
type = "integer"
min = "0"
max = "40"

[risk.flag]
type = "boolean"
required = false
default = true

[risk.opt_first]
type = "boolean"
required = false
default = false

[risk.opt_motor]
type = "boolean"
required = false
default = false

[risk.unit]
type = "enum"
values = ["year", "day", "hour"]

[risk.declared]
type = "decimal_list"
min = "0"
max = "5000000"
min_items = 1
max_items = 12

[[loadings]]
name = "fixed_costs"
amount = "7.255"

[[loadings]]
name = "management"
rate = "0.135"
of = "pure"

[[loadings]]
name = "acquisition"
rate = "0.11"
of = "net"

[[loadings]]
name = "brokerage"
rate = "0.07"
of = "net"

[[loadings]]
name = "profit"
rate = "0.03"
of = "net"

[[fees]]
name = "policy_fee"
amount = "9.995"

[[fees]]
name = "stamp"
amount = "1.20"
taxable = false

[[covers]]
id = "first"
name = { fr = "Premier", en = "First" }
line = "fire_private"
included_when = "opt_first"
[covers.basis]
kind = "insured_value"
amount_from = "value"
valuation_from = "valuation"
depreciation_rate_from = "wear"
[covers.tariff]
kind = "rate"
rate = "0.00073"
minimum = "25.005"
[[covers.tariff.factors]]
name = "kind"
field = "kind"
kind = "table"
table = { a = "0.875", b = "1", c = "1.3333" }
[[covers.tariff.factors]]
name = "count"
field = "count"
kind = "table"
table = { "0" = "0.9", "1" = "1.05", "7" = "1.7" }
default = "1.125"

[[covers]]
id = "freq"
name = { fr = "Fréquence", en = "Frequency" }
line = "other_damage"
cat_nat = true
[covers.tariff]
kind = "frequency_severity"
frequency = "0.0123"
mean_cost = "1875.5"
exposure_from = "count"
[[covers.tariff.factors]]
name = "flag"
field = "flag"
kind = "table"
table = { "true" = "1.15", "false" = "0.95" }

[[covers]]
id = "units"
name = { fr = "Unités", en = "Units" }
line = "liability"
cat_nat = true
loadings = [{ name = "handling", amount = "3.333" }, { name = "margin", rate = "0.0725", of = "net" }]
[covers.tariff]
kind = "per_unit"
per_unit = { year = "120.5", day = "1.37", hour = "0.125" }
unit_from = "unit"
quantity_from = "count"
minimum = "0.5"

[[covers]]
id = "stock_max"
name = { fr = "Stock max", en = "Stock max" }
line = "legal_protection"
[covers.basis]
kind = "declarations"
values_from = "declared"
statistic = "max"
[covers.tariff]
kind = "rate"
rate = "0.00017"
[[covers.tariff.factors]]
name = "count"
field = "count"
kind = "bands"
bands = [{ up_to = "3", factor = "1.1" }, { up_to = "10", factor = "0.95" }]
default = "0.77"

[[covers]]
id = "stock_mean"
name = { fr = "Stock moyen", en = "Stock mean" }
line = "fire_private"
[covers.basis]
kind = "declarations"
values_from = "declared"
statistic = "mean"
[covers.tariff]
kind = "rate"
rate = "0.0004"

[[covers]]
id = "motor_damage"
name = { fr = "Dommages auto", en = "Motor damage" }
line = "motor_optional"
included_when = "opt_motor"
[covers.tariff]
kind = "amount"
amount = "55.55"
"""


def product(product_id: str) -> Product:
    if product_id == "synthetic":
        return parse_product(SYNTHETIC, "synthetic.toml").product
    return CATALOGUE.get(product_id).product


# ------------------------------------------------------------------------------------- helpers


def _scale(values: Sequence[Decimal]) -> int:
    exponents = [v.as_tuple().exponent for v in values]
    return max([2, *(-e for e in exponents if isinstance(e, int) and e < 0)])


def frame_of(prod: Product, risks: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A portfolio frame with the column types a parquet file would carry."""
    columns = {}
    for name, spec in prod.risk.items():
        values = [r.get(name) for r in risks]
        if all(v is None for v in values) and not spec.required:
            continue
        if spec.type == "decimal":
            numbers = [None if v is None else D(str(v)) for v in values]
            dtype: pl.DataType = pl.Decimal(28, _scale([n for n in numbers if n is not None]))
            columns[name] = pl.Series(name, numbers, dtype=dtype)
        elif spec.type == "decimal_list":
            items = [[D(str(x)) for x in v] for v in values if v is not None]
            scale = _scale([x for item in items for x in item])
            lists = [None if v is None else [D(str(x)) for x in v] for v in values]
            columns[name] = pl.Series(name, lists, dtype=pl.List(pl.Decimal(28, scale)))
        elif spec.type == "integer":
            columns[name] = pl.Series(name, values, dtype=pl.Int64)
        elif spec.type == "boolean":
            columns[name] = pl.Series(name, values, dtype=pl.Boolean)
        else:
            columns[name] = pl.Series(name, values, dtype=pl.String)
    return pl.DataFrame(columns)


def expected_lines(quote: Quote) -> dict[str, Decimal]:
    """The single quote's lines under the batch's column names (absent lines are left out)."""
    priced = quote.priced
    lines: dict[str, Decimal] = {}
    for cover in priced.covers:
        lines[f"{cover.id}.pure"] = cover.pure
        lines |= {f"{cover.id}.loading.{lo.name}": lo.amount for lo in cover.loadings}
        lines[f"{cover.id}.net"] = cover.net
        lines |= {f"{cover.id}.cat_nat": s.amount for s in cover.surcharges}
        lines |= {f"{cover.id}.tax": t.amount for t in cover.taxes}
    lines |= {f"fee.{f.name}": f.amount for f in priced.fees}
    for tax in priced.fee_taxes:
        lines["fees.tax"] = tax.amount
    lines |= {f"contribution.{c.name}": c.amount for c in priced.contributions}
    lines["pure_premium"] = priced.pure_premium
    lines["net_premium"] = priced.net_premium
    lines["total_surcharges"] = sum((s.amount for s in priced.surcharges), D("0.00"))
    lines["total_taxes"] = sum((t.amount for t in priced.taxes), D("0.00"))
    lines["total_contributions"] = sum((c.amount for c in priced.contributions), D("0.00"))
    lines["total_fees"] = sum((f.amount for f in priced.fees), D("0.00"))
    lines["total_premium"] = priced.total_premium
    if quote.regularisation is not None:
        lines["regularisation"] = quote.regularisation.amount
    return lines


def assert_rows_equal_single_quotes(
    prod: Product,
    risks: Sequence[Mapping[str, Any]],
    *,
    as_of: date = DAY,
    tax_overrides: Mapping[str, Decimal | bool] | None = None,
) -> pl.DataFrame:
    rater = compile_product(prod, as_of=as_of, tax_overrides=tax_overrides)
    rated = rater.rate(frame_of(prod, risks))
    priced = rater.columns()
    for i, risk in enumerate(risks):
        quote = quote_risk(prod, dict(risk), as_of=as_of, tax_overrides=tax_overrides)
        expected = expected_lines(quote)
        row = rated.row(i, named=True)
        got = {name: row[name] for name in priced if row[name] is not None}
        assert got == expected, f"row {i}: {risk}"
    return rated


MOTOR = {
    "driver_age": 23,
    "power_group": "D",
    "vehicle_age": 3,
    "area": 5,
    "bonus_malus": "0.85",
    "vehicle_value": "18500",
    "damage_option": True,
    "theft_fire_option": True,
}


# --------------------------------------------------------------------------- hand-picked rows


def test_a_motor_risk_gets_every_line_of_its_single_quote() -> None:
    rated = assert_rows_equal_single_quotes(product("motor-private"), [MOTOR])
    assert rated["total_premium"][0] == D("2533.13")
    assert rated["theft_fire.cat_nat"][0] == D("26.22")  # 9 % of the theft + fire net premium
    assert rated["damage.cat_nat"][0] is None  # the motor surcharge is on theft + fire
    assert rated["contribution.fgao"][0] == D("9.64")


def test_motor_band_edges_take_the_factor_of_their_own_band() -> None:
    ages = [18, 20, 21, 24, 25, 29, 30, 64, 65, 74, 75, 99]
    bonus = ["0.50", "0.51", "0.60", "0.61", "0.99", "1.00", "1.01", "1.56", "1.57", "2.50", "3.50"]
    vehicle_ages = [0, 2, 3, 7, 8, 10, 11, 14, 15, 40]
    risks = [
        MOTOR
        | {
            "driver_age": ages[i % len(ages)],
            "bonus_malus": bonus[i % len(bonus)],
            "vehicle_age": vehicle_ages[i % len(vehicle_ages)],
            "area": 1 + i % 6,
            "damage_option": i % 2 == 0,
            "theft_fire_option": i % 3 == 0,
        }
        for i in range(24)
    ]
    assert_rows_equal_single_quotes(product("motor-private"), risks)


def test_a_damage_cover_without_theft_fire_bears_the_motor_damage_surcharge() -> None:
    risk = MOTOR | {"theft_fire_option": False}
    rated = assert_rows_equal_single_quotes(product("motor-private"), [risk])
    net = rated["damage.net"][0]
    assert rated["damage.cat_nat"][0] == (net * D("0.005")).quantize(D("0.01"))


def _home_ties() -> list[dict[str, Any]]:
    """Home risks whose building pure premium is exactly on a half cent before rounding."""
    zones = {"A": D("0.90"), "B": D("1.00"), "C": D("1.25")}
    dwellings = {"house": D("1.10"), "apartment": D("0.85")}
    found = []
    for euros in range(20_000, 3_000_000, 500):
        for zone, z in zones.items():
            for dwelling, d in dwellings.items():
                exact = D("0.00062") * euros * z * d
                if exact > 40 and exact.scaleb(3) % 10 == 5:  # x.xx5, above the minimum
                    found.append({"dwelling": dwelling, "zone": zone, "rebuild_value": euros})
    return found[:: max(len(found) // 8, 1)]


def test_home_rows_exactly_on_half_a_cent_round_up_like_the_single_path() -> None:
    home = product("home")
    risks = [r | {"contents_value": "20000.00"} for r in _home_ties()]
    assert len(risks) >= 4
    for risk in risks:  # they are ties indeed
        assert quote_risk(home, risk, as_of=DAY).tariffs[0].exact.scaleb(3) % 10 == 5
    assert_rows_equal_single_quotes(home, risks)


def test_home_depreciation_and_occupancy_band_edges() -> None:
    ages = [0, 5, 6, 15, 16, 30, 31, 60, 61, 300]
    risks = [
        {
            "dwelling": "house",
            "zone": "B",
            "rebuild_value": "250000.5",
            "contents_value": "40000",
            "valuation": "use_value" if i % 3 else "replacement_new",
            "building_age": ages[i % len(ages)],
            "occupants": 1 + i % 6,
            "theft_option": i % 2 == 0,
            "legal_protection_option": i % 4 == 0,
        }
        for i in range(20)
    ]
    assert_rows_equal_single_quotes(product("home"), risks)


def test_a_minimum_premium_applies_to_small_risks() -> None:
    risks = [{"turnover": t, "activity": "consulting"} for t in ("0", "10000", "156249.99", "2e6")]
    rated = assert_rows_equal_single_quotes(product("professional-liability"), risks)
    assert rated["liability.pure"][0] == D("150.00")


def test_a_tie_the_single_path_misses_in_its_28th_digit_is_rated_as_the_single_path_rates_it() -> (
    None
):
    # mean of 7 declarations = 137.50 / 7; × 0.4 % × 0.70 = exactly 0.055 — but the single path's
    # 28-digit Decimal mean makes it 0.05499…9 → 0.05; exact arithmetic would say 0.06
    stock = product("stock-floating")
    risk = {"declarations": ["137.50"] + ["0"] * 6, "storage": "sprinklered"}
    assert quote_risk(stock, risk, as_of=DAY).tariffs[0].pure == D("0.05")
    rater = compile_product(stock, as_of=DAY)
    frame = frame_of(stock, [risk])
    assert rater.reference_count(frame) == 1
    assert_rows_equal_single_quotes(stock, [risk])


@pytest.mark.parametrize("product_id", ["stock-floating", "synthetic", "motor-private"])
def test_rows_handed_to_the_single_path_get_the_same_columns_as_the_columnar_ones(
    product_id: str,
) -> None:
    prod = product(product_id)
    rater = compile_product(prod, as_of=DAY)
    frame = sample_portfolio(prod, 60, seed=8)
    data, fields = normalise(prod, rater.plan, frame)
    priced = rater._price(data, fields)
    everything = replace(priced, frame=priced.frame.with_columns(pl.lit(True).alias(FLAG)))
    by_single_path = rater._with_reference_rows(frame, everything)
    assert by_single_path.select(list(priced.scales)).equals(
        priced.frame.select(list(priced.scales))
    )


def test_a_regularisation_keeps_the_decimals_of_the_provisional_premium() -> None:
    risks: list[dict[str, Any]] = [
        {
            "declarations": ["2800000", "3200000", "3000000", "3500000"],
            "provisional_premium_paid": "13000.125",
        },
        {"declarations": ["1000"], "provisional_premium_paid": None},
    ]
    rated = assert_rows_equal_single_quotes(product("stock-floating"), risks)
    assert rated.schema["regularisation"] == pl.Decimal(18, 3)
    assert rated["regularisation"][1] is None


def test_per_unit_premiums_prorate_the_fixed_contribution_to_the_time_covered() -> None:
    risks = [
        {"equipment": e, "value": v, "unit": u, "quantity": q}
        for e, v, u, q in [
            ("camera", "299.99", "hour", 1),
            ("ebike", "3000", "day", 90),
            ("garden", "50", "hour", 73),
            ("power_tool", "10000", "day", 1),
        ]
    ]
    rated = assert_rows_equal_single_quotes(product("equipment-micro"), risks)
    assert rated["contribution.fgti"][1] == D("1.60")  # 6.50 × 90 / 365


def test_every_feature_of_a_synthetic_product_matches_on_random_rows() -> None:
    synthetic = product("synthetic")
    risks: list[dict[str, Any]] = sample_portfolio(synthetic, 300, seed=11).to_dicts()
    overrides: dict[str, Decimal | bool] = {"cat_nat_taxed": False}
    assert_rows_equal_single_quotes(synthetic, risks)
    assert_rows_equal_single_quotes(
        synthetic, risks, as_of=date(2024, 3, 15), tax_overrides=overrides
    )


@pytest.mark.parametrize("product_id", BATCH_PRODUCTS)
def test_a_random_portfolio_matches_the_single_quotes_row_by_row(product_id: str) -> None:
    prod = product(product_id)
    risks: list[dict[str, Any]] = sample_portfolio(prod, 250, seed=3).to_dicts()
    assert_rows_equal_single_quotes(prod, risks)


# ------------------------------------------------------------------------ property: batch == single


def _values(prod: Product, name: str) -> st.SearchStrategy[Any]:
    spec = prod.risk[name]
    if spec.type == "enum":
        return st.sampled_from(spec.values or [])
    if spec.type == "boolean":
        return st.booleans()
    low = spec.min if spec.min is not None else D(0)
    high = spec.max if spec.max is not None else D(1_000_000)
    edges = [
        edge
        for cover in prod.covers
        for factor in cover.tariff.factors
        if factor.field == name and factor.bands
        for band in factor.bands
        if band.up_to is not None
        for edge in (band.up_to, band.up_to + D("0.01"), band.up_to + 1)
        if low <= edge <= high
    ]
    if spec.type == "integer":
        integers = st.integers(int(low), int(high))
        whole = [int(e) for e in edges if e == e.to_integral_value()]
        return st.one_of(st.sampled_from(whole), integers) if whole else integers
    numbers = st.decimals(low, high, places=2, allow_nan=False, allow_infinity=False)
    if spec.type == "decimal_list":
        return st.lists(numbers.map(str), min_size=spec.min_items, max_size=min(spec.max_items, 8))
    with_edges = st.one_of(st.sampled_from(edges), numbers) if edges else numbers
    return with_edges.map(str)


@st.composite
def risks_of(draw: st.DrawFn, prod: Product) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 5))
    risks = []
    for _ in range(count):
        risk: dict[str, Any] = {}
        for name, spec in prod.risk.items():
            if spec.default is not None and draw(st.booleans()):
                continue
            risk[name] = draw(_values(prod, name))
        risks.append(risk)
    return risks


@pytest.mark.parametrize("product_id", [*BATCH_PRODUCTS, "synthetic"])
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batch_equals_the_single_quote_to_the_cent_on_random_risks(
    product_id: str, data: st.DataObject
) -> None:
    prod = product(product_id)
    assert_rows_equal_single_quotes(prod, data.draw(risks_of(prod)))


# ------------------------------------------------------------------------------------- outputs


def test_money_columns_are_exact_decimals_with_a_cents_twin() -> None:
    motor = product("motor-private")
    rater = compile_product(motor, as_of=DAY)
    frame = frame_of(motor, [MOTOR, MOTOR | {"damage_option": False}])
    rated = rater.rate(frame)
    cents = rater.rate(frame, money="cents")
    for name in rater.columns():
        assert rated.schema[name] == pl.Decimal(18, 2)
        assert cents.schema[name] == pl.Int64
        as_cents = [None if v is None else int(v * 100) for v in rated[name].to_list()]
        assert as_cents == cents[name].to_list()
    assert rated.columns[: len(frame.columns)] == frame.columns  # the input, then the prices


def test_the_decimal_view_keeps_signs_and_nulls() -> None:
    units = pl.DataFrame({"x": [-12345, 0, None, 9_999_999_999_999_999]}, schema={"x": pl.Int64})
    view = decimal_view(units, {"x": 2})["x"].to_list()
    assert view == [D("-123.45"), D("0.00"), None, D("99999999999999.99")]


def test_an_empty_portfolio_gives_an_empty_rated_frame() -> None:
    motor = product("motor-private")
    rater = compile_product(motor, as_of=DAY)
    rated = rater.rate(frame_of(motor, [MOTOR]).head(0))
    assert rated.height == 0
    assert set(rater.columns()) <= set(rated.columns)


def test_totals_are_sums_of_the_lines() -> None:
    motor = product("motor-private")
    rated = compile_product(motor, as_of=DAY).rate(sample_portfolio(motor, 2000, seed=9))
    parts = ["net_premium", "total_surcharges", "total_taxes", "total_contributions", "total_fees"]
    assert rated.select(pl.sum_horizontal(parts) == pl.col("total_premium")).to_series().all()
    assert set(TOTALS) <= set(rated.columns)


def test_a_sample_portfolio_is_valid_and_reproducible() -> None:
    motor = product("motor-private")
    first, again = sample_portfolio(motor, 500, seed=4), sample_portfolio(motor, 500, seed=4)
    assert first.equals(again)
    assert not first.equals(sample_portfolio(motor, 500, seed=5))
    assert compile_product(motor, as_of=DAY).rate(first).height == 500


# -------------------------------------------------------------------------------------- errors


def _error(rater: BatchRater, frame: pl.DataFrame) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        rater.rate(frame)
    return error.value


@pytest.fixture
def motor_rater() -> BatchRater:
    return compile_product(product("motor-private"), as_of=DAY)


def motor_frame(rows: int = 5) -> pl.DataFrame:
    return frame_of(product("motor-private"), [MOTOR] * rows)


def test_a_missing_column_names_the_field(motor_rater: BatchRater) -> None:
    error = _error(motor_rater, motor_frame().drop("area"))
    assert error.field == "risk.area"
    assert "missing" in error.message


def test_an_enum_value_not_allowed_names_the_field_and_the_first_bad_row(
    motor_rater: BatchRater,
) -> None:
    frame = motor_frame().with_columns(
        pl.Series("power_group", ["A", "B", "Z", "Y", "C"], dtype=pl.String)
    )
    error = _error(motor_rater, frame)
    assert error.field == "risk.power_group"
    assert error.message.startswith("row 2: 'Z' is not allowed")
    assert "A, B, C, D, E, F" in error.message


def test_a_number_out_of_bounds_names_the_field_and_the_row(motor_rater: BatchRater) -> None:
    values = pl.Series("bonus_malus", [D("1.00"), D("1.00"), D("1.00"), D("3.51"), D("0.49")])
    error = _error(motor_rater, motor_frame().with_columns(values.cast(pl.Decimal(18, 2))))
    assert error.field == "risk.bonus_malus"
    assert error.message == "row 3: 3.51 is above the maximum 3.50"


def test_a_null_required_value_names_the_field(motor_rater: BatchRater) -> None:
    frame = motor_frame().with_columns(pl.Series("driver_age", [30, 40, 50, None, 60]))
    error = _error(motor_rater, frame)
    assert (error.field, error.message) == ("risk.driver_age", "row 3: this field is required")


def test_rows_are_numbered_from_the_first_row_of_the_slice(motor_rater: BatchRater) -> None:
    frame = motor_frame().with_columns(pl.Series("area", [1, 2, 3, 7, 4]))
    with pytest.raises(InvalidInput, match="row 1003: 7 is above the maximum 6"):
        motor_rater.rate(frame, first_row=1000)


def test_a_float_column_is_refused_money_is_exact(motor_rater: BatchRater) -> None:
    frame = motor_frame().with_columns(pl.col("vehicle_value").cast(pl.Float64))
    error = _error(motor_rater, frame)
    assert error.field == "risk.vehicle_value"
    assert "Float64" in error.message


def test_an_input_column_named_like_an_output_is_refused(motor_rater: BatchRater) -> None:
    error = _error(motor_rater, motor_frame().with_columns(pl.lit(1).alias("total_premium")))
    assert error.field == "total_premium"


def test_a_use_value_without_its_wear_rate_names_the_field_needed() -> None:
    prod = parse_product(SYNTHETIC.replace('default = "0.15"\n', ""), "wear.toml").product
    risk = sample_portfolio(prod, 1, seed=1).to_dicts()[0]
    risk |= {"opt_first": True, "valuation": "use_value", "wear": None}
    with pytest.raises(InvalidInput) as error:
        compile_product(prod, as_of=DAY).rate(frame_of(prod, [risk]))
    assert error.value.field == "risk.wear"
    assert error.value.message == "row 0: needed by the tariff of cover first"
    with pytest.raises(InvalidInput) as single:  # the single path refuses it too
        quote_risk(prod, {k: v for k, v in risk.items() if v is not None}, as_of=DAY)
    assert (single.value.field or "").endswith("risk.wear")


def test_a_value_beyond_the_last_closed_band_names_the_field() -> None:
    text = SYNTHETIC.replace('default = "0.77"\n', "")
    prod = parse_product(text, "closed.toml").product
    factor = compile_product(prod, as_of=DAY).plan.covers[3].factors[0]
    assert isinstance(factor, BandsFactor)
    risk = sample_portfolio(prod, 1, seed=2).to_dicts()[0] | {"count": 11}
    with pytest.raises(InvalidInput) as error:
        compile_product(prod, as_of=DAY).rate(frame_of(prod, [risk]))
    assert error.value.field == "risk.count"
    assert "no factor count for '11'" in error.value.message
    with pytest.raises(InvalidInput) as single:
        quote_risk(prod, {k: v for k, v in risk.items() if v is not None}, as_of=DAY)
    assert single.value.field == "risk.count"


def test_a_life_product_is_refused_at_compile_time_naming_the_cover() -> None:
    with pytest.raises(InvalidInput) as error:
        compile_product(product("term-life-10"), as_of=DAY)
    assert error.value.field == "covers.death"
    assert "term-life-10" in error.value.message


def test_a_date_outside_the_product_validity_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        compile_product(product("motor-private"), as_of=date(2023, 12, 31))
    assert error.value.field == "as_of"


def test_a_due_date_before_the_tax_table_is_a_missing_table() -> None:
    text = SYNTHETIC.replace("valid_from = 2024-01-01", "valid_from = 2010-01-01")
    with pytest.raises(ReferenceDataMissing):
        compile_product(parse_product(text, "old.toml").product, as_of=date(2012, 1, 1))


def test_a_bad_tax_override_is_refused_like_the_single_path() -> None:
    with pytest.raises(InvalidInput) as error:
        compile_product(product("home"), as_of=DAY, tax_overrides={"tax.nothing": D("0.1")})
    assert error.value.field == "tax_overrides.tax.nothing"
