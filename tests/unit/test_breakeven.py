"""Break-even: yearly cost of on-demand cover vs an annual contract, and the switching threshold."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.advisor import Cheaper, GivenPrice, ProductPrice, UsagePattern, break_even
from polis.calc import on_demand_vs_annual
from polis.documents.breakeven_plot import breakeven_plot
from polis.kernel.errors import InvalidInput
from polis.ondemand import default_terms, rate_card
from polis.policies import default_catalogue
from polis.rating.pure import Unit
from tests.unit.test_ondemand_pricing import risk_quote_total
from tests.unit.test_ondemand_windows import paris

D = Decimal
AS_OF = date(2025, 9, 1)


def camera_price(sum_insured: str = "1000") -> ProductPrice:
    product = default_catalogue().get("equipment-micro").product
    terms = default_terms().get("equipment-micro", "2025.1").terms
    card = rate_card(
        product, terms, unit=Unit.HOUR, risk={"equipment": "camera"}, sum_insured=D(sum_insured)
    )
    return ProductPrice(card, terms, AS_OF)


def hours(per_month: str, session: str = "4") -> UsagePattern:
    return UsagePattern.build(Unit.HOUR, per_month=D(per_month), session_length=D(session))


# ---------------------------------------------------------------------------- given prices


def test_twelve_hours_a_month_at_given_prices_by_hand() -> None:
    # 3 sessions of 4 h: 4 × 0.90 = 3.60 (above the 2.00 minimum) + 0.50 fee = 4.10 each
    result = break_even(hours("12"), GivenPrice(D("0.90"), D("0.50"), D("2.00")), D("150"))
    assert result.activations == (3,) * 12
    assert result.on_demand_monthly == (D("12.30"),) * 12
    assert result.on_demand_yearly == D("147.60")
    assert result.cheaper is Cheaper.ON_DEMAND
    assert result.difference == D("-2.40")
    # one more minute of use is a 4th activation: 12 × (2.00 + 0.50) more → above 150
    assert result.threshold == D("12.01")
    assert result.explanation[-1].step == "switching threshold"
    assert "12.01 hours a month" in result.explanation[-1].formula


def test_the_annual_contract_wins_for_heavy_use() -> None:
    result = break_even(hours("40"), GivenPrice(D("0.90"), D("0.50")), D("150"))
    assert result.cheaper is Cheaper.ANNUAL
    assert result.difference == D("12") * (D("36.00") + D("5.00")) - D("150")
    assert result.threshold is not None
    assert result.threshold < 40


def test_no_threshold_when_on_demand_stays_cheaper_all_month() -> None:
    result = break_even(hours("10"), GivenPrice(D("0.10")), D("5000"))
    assert result.threshold is None
    assert "none" in result.explanation[-1].formula


def test_equal_costs_are_said_equal() -> None:
    result = break_even(hours("4"), GivenPrice(D("1.00")), D("48.00"))
    assert result.cheaper is Cheaper.EQUAL
    assert result.threshold == D("4.00")


def test_a_seasonal_pattern_of_twelve_months() -> None:
    monthly = [D(0)] * 5 + [D(20), D(40), D(40), D(8)] + [D(0)] * 3
    pattern = UsagePattern.build(Unit.HOUR, monthly=monthly)
    result = break_even(pattern, GivenPrice(D("1.00"), D("1.00")), D("200"))
    assert result.activations == (0, 0, 0, 0, 0, 5, 10, 10, 2, 0, 0, 0)
    assert result.on_demand_monthly[0] == 0  # a quiet month costs nothing
    assert result.on_demand_yearly == D(108) + D(27)
    assert result.usage == tuple(monthly)


@settings(max_examples=60, deadline=None)
@given(
    st.decimals("0.05", "5", places=2),
    st.decimals("0", "3", places=2),
    st.decimals("0", "5", places=2),
    st.decimals("1", "3000", places=2),
    st.sampled_from(["1", "2.5", "4", "8"]),
)
def test_the_threshold_is_where_on_demand_reaches_the_annual_premium(
    per_unit: Decimal, fee: Decimal, minimum: Decimal, annual: Decimal, session: str
) -> None:
    price = GivenPrice(per_unit, fee, minimum)
    result = break_even(hours("10", session), price, annual)
    if result.threshold is None:
        assert break_even(hours("744", session), price, annual).on_demand_yearly < annual
        return
    at = break_even(hours(str(result.threshold), session), price, annual)
    assert at.on_demand_yearly >= annual
    if result.threshold > 0:
        below = break_even(hours(str(result.threshold - D("0.01")), session), price, annual)
        assert below.on_demand_yearly < annual
    costs = [p.on_demand for p in result.curve]
    assert costs == sorted(costs)  # never cheaper with more use


# ------------------------------------------------------------------------------ a product


def test_a_product_prices_each_session_like_an_activation() -> None:
    result = break_even(hours("8"), camera_price(), D("120"))
    session = risk_quote_total(4, paris(2025, 9, 1))
    assert result.on_demand_monthly[0] == 2 * session
    assert result.price_source.startswith("product equipment-micro 2025.1")


def test_volume_tiers_lower_the_tenth_session_of_a_month() -> None:
    nine = break_even(hours("36"), camera_price(), D("1000")).on_demand_monthly[0]
    ten = break_even(hours("40"), camera_price(), D("1000")).on_demand_monthly[0]
    full = risk_quote_total(4, paris(2025, 9, 1))
    assert nine == 9 * full
    assert ten - nine < full  # the 10th session of the month has the 5 % tier


def test_a_day_product_counts_sessions_of_local_days() -> None:
    product = default_catalogue().get("warehouse-goods-day").product
    terms = default_terms().get("warehouse-goods-day", "2025.1").terms
    card = rate_card(product, terms, unit=Unit.DAY, risk={"goods": "dry_goods"})
    pattern = UsagePattern.build(Unit.DAY, per_month=D("3"), session_length=D("3"))
    result = break_even(pattern, ProductPrice(card, terms, AS_OF), D("100"))
    assert result.activations == (1,) * 12
    assert result.on_demand_monthly[0] > 0
    assert result.threshold is not None


def test_the_usage_unit_must_be_the_rate_cards() -> None:
    with pytest.raises(InvalidInput) as error:
        break_even(UsagePattern.build(Unit.DAY, per_month=D(2)), camera_price(), D(100))
    assert error.value.field == "usage.unit"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"per_month": D(1), "monthly": [D(1)] * 12}, "usage"),
        ({"monthly": [D(1)] * 11}, "usage.monthly"),
        ({"monthly": [D(1)] * 11 + [D(-1)]}, "usage.monthly[11]"),
        ({"per_month": D(745)}, "usage.per_month"),
        ({"per_month": D(1), "session_length": D(0)}, "usage.session_length"),
    ],
)
def test_a_bad_pattern_names_its_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        UsagePattern.build(Unit.HOUR, **kwargs)
    assert error.value.field == field


def test_negative_prices_are_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        break_even(hours("4"), GivenPrice(D("-1")), D(10))
    assert error.value.field == "on_demand.price_per_unit"
    with pytest.raises(InvalidInput) as annual:
        break_even(hours("4"), GivenPrice(D("1")), D(-10))
    assert annual.value.field == "annual_premium"


# ------------------------------------------------------------------------------ calculator


def request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "usage": {"unit": "hour", "per_month": "12", "session_length": "4"},
        "on_demand": {
            "product": "equipment-micro",
            "risk": {"equipment": "camera"},
            "sum_insured": "1000",
            "as_of": "2025-09-01",
        },
        "annual_premium": "180.00",
    }
    body.update(changes)
    return body


def test_the_calculator_serialises_money_and_the_threshold() -> None:
    response = on_demand_vs_annual(request()).model_dump(mode="json")
    session = risk_quote_total(4, paris(2025, 9, 1))
    assert response["on_demand_monthly"][0] == f"{3 * session:.2f}"
    assert response["annual_premium"] == "180.00"
    assert response["cheaper"] == "on_demand"
    assert response["threshold_per_month"] == "12.01"
    assert response["curve"][0] == {"usage": "0", "on_demand_yearly": "0.00", "annual": "180.00"}
    assert response["explanation"][-1]["amount"] == "12.01"


def test_the_calculator_takes_given_prices() -> None:
    body = request(
        on_demand={
            "price_per_unit": "0.90",
            "fee_per_activation": "0.50",
            "minimum_per_activation": "2",
        }
    )
    body["annual_premium"] = "150"
    response = on_demand_vs_annual(body)
    assert response.on_demand_yearly == "147.60"
    assert response.price_source.startswith("given price 0.90 €")


@pytest.mark.parametrize(
    ("on_demand", "field"),
    [
        (
            {"product": "equipment-micro", "risk": {"equipment": "tank"}, "as_of": "2025-09-01"},
            "on_demand.risk.equipment",
        ),
        ({"product": "drone", "as_of": "2025-09-01"}, "on_demand.product"),
        ({"product": "home", "as_of": "2025-09-01"}, "on_demand.product"),
        (
            {"product": "equipment-micro", "version": "9.9", "as_of": "2025-09-01"},
            "on_demand.version",
        ),
        ({"product": "equipment-micro", "as_of": "2023-01-01"}, "on_demand.as_of"),
        (
            {"product": "equipment-micro", "sum_insured": "7", "as_of": "2025-09-01"},
            "on_demand.sum_insured",
        ),
        ({"product": "equipment-micro"}, "on_demand"),
        ({"product": "equipment-micro", "price_per_unit": "1", "as_of": "2025-09-01"}, "on_demand"),
        ({"price_per_unit": "abc"}, "on_demand.price_per_unit"),
    ],
)
def test_calculator_errors_name_the_field(on_demand: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        on_demand_vs_annual(request(on_demand=on_demand))
    assert error.value.field == field


def test_a_day_usage_on_an_hourly_sale_names_the_usage_unit() -> None:
    body = request(
        usage={"unit": "day", "per_month": "2"},
        on_demand={
            "product": "event-liability-day",
            "risk": {"event": "seminar", "attendees": 30},
            "as_of": "2025-09-01",
        },
    )
    assert on_demand_vs_annual(body).unit == "day"
    body["usage"] = {"unit": "hour", "per_month": "2"}
    with pytest.raises(InvalidInput) as error:
        on_demand_vs_annual(body)
    assert error.value.field == "usage.unit"


# ------------------------------------------------------------------------------------ plot


def test_the_plot_is_an_svg_with_both_lines_and_the_threshold() -> None:
    result = break_even(hours("12"), GivenPrice(D("0.90"), D("0.50"), D("2.00")), D("150"))
    image = breakeven_plot(
        [p.usage for p in result.curve],
        [p.on_demand for p in result.curve],
        result.annual_premium,
        unit="hour",
        threshold=result.threshold,
        usage=D(12),
        usage_cost=result.on_demand_yearly,
        lang="en",
    )
    text = image.decode()
    assert text.startswith("<?xml")
    for label in ("On demand", "Annual contract", "Switching threshold: 12.01", "Your usage"):
        assert label in text


def test_the_plot_renders_png_in_french() -> None:
    image = breakeven_plot([D(0), D(10)], [D(0), D(100)], D(50), unit="day", threshold=D("5.5"))
    png = breakeven_plot([D(0), D(10)], [D(0), D(100)], D(50), unit="day", fmt="png")
    assert "Seuil de bascule : 5,5" in image.decode()
    assert png.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="one yearly cost per usage point"):
        breakeven_plot([D(0)], [], D(50), unit="day")
