"""The break-even page: the same figures as the calculator, a plot, errors naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from polis import calc
from polis.web.advice_pages import build_request

pytestmark = pytest.mark.db

GIVEN_FORM = {
    "product": "given",
    "unit": "hour",
    "per_month": "10",
    "session_length": "5",
    "annual_premium": "150",
    "price_per_unit": "1,20",
    "fee_per_activation": "0.50",
    "minimum_per_activation": "2",
}


def test_typed_prices_give_the_calculators_verdict_and_a_plot(client: TestClient) -> None:
    page = client.post("/advise/on-demand-vs-annual", data=GIVEN_FORM)
    assert page.status_code == 200, page.text
    expected = calc.on_demand_vs_annual(build_request(GIVEN_FORM, []))
    assert f'<td id="yearly-on-demand">{expected.on_demand_yearly} €</td>' in page.text
    assert expected.threshold_per_month is not None
    assert expected.threshold_per_month in page.text
    assert "<svg" in page.text
    # 10 h a month in 2 sessions: 12 € + 2 × 0.50 € = 13 € a month, 156 € a year > 150 €
    assert expected.on_demand_yearly == "156.00"
    assert expected.cheaper == "annual"


def test_a_polis_product_is_priced_with_its_own_risk_fields(client: TestClient) -> None:
    form_page = client.get("/advise/on-demand-vs-annual?product=equipment-micro")
    assert form_page.status_code == 200
    assert 'name="as_of"' in form_page.text
    posted = {
        "product": "equipment-micro",
        "unit": "hour",
        "per_month": "12",
        "session_length": "4",
        "annual_premium": "180",
        "as_of": "2025-09-01",
        "equipment": "camera",
    }
    page = client.post("/advise/on-demand-vs-annual", data=posted)
    assert page.status_code == 200, page.text
    assert 'id="verdict"' in page.text
    assert "<svg" in page.text


def test_a_bad_usage_is_shown_with_its_field(client: TestClient) -> None:
    page = client.post("/advise/on-demand-vs-annual", data=GIVEN_FORM | {"per_month": "-3"})
    assert page.status_code == 422
    assert "usage.per_month" in page.text


def test_the_page_speaks_english_after_the_switch(client: TestClient) -> None:
    client.get("/lang/en")
    assert "On demand or an annual contract?" in client.get("/advise/on-demand-vs-annual").text
