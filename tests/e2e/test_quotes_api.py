"""Quotes, products and the premium calculator over HTTP (the real app, no API key needed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from polis.calc import premium
from polis.services.quotes import quote_request

pytestmark = pytest.mark.db

HOME = {"dwelling": "apartment", "zone": "A", "rebuild_value": "100000", "contents_value": "20000"}
BODY: dict[str, Any] = {"product": "home", "risk": HOME, "as_of": "2025-09-01"}


def test_a_home_quote_over_http_is_the_service_quote(client: TestClient) -> None:
    response = client.post("/v1/quotes", json=BODY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == quote_request(BODY).model_dump(mode="json")
    assert body["total_premium"] == "227.82"  # by hand in tests/unit/test_products.py
    assert body["product_sha256"]
    assert {t["cover"]: t["rate"] for t in body["taxes"] if t["cover"]} == {
        "building": "0.30",
        "contents": "0.30",
        "liability": "0.09",
    }
    assert all(t["reference"] for t in body["taxes"])


def test_the_quote_lines_add_up_to_the_total(client: TestClient) -> None:
    body = client.post("/v1/quotes", json=BODY | {"risk": HOME | {"theft_option": True}}).json()
    lines = (
        [c["net_premium"] for c in body["covers"]]
        + [s["amount"] for s in body["surcharges"]]
        + [t["amount"] for t in body["taxes"]]
        + [c["amount"] for c in body["contributions"]]
        + [f["amount"] for f in body["fees"]]
    )
    assert sum(Decimal(x) for x in lines) == Decimal(body["total_premium"])


def test_quotes_need_no_api_key_and_are_not_stored(client: TestClient) -> None:
    first = client.post("/v1/quotes", json=BODY).json()
    second = client.post("/v1/quotes", json=BODY).json()
    assert first == second


def test_an_unknown_product_is_404_naming_the_product(client: TestClient) -> None:
    response = client.post("/v1/quotes", json=BODY | {"product": "car"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "product.not_found"
    assert response.json()["error"]["field"] == "product"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (BODY | {"risk": HOME | {"zone": "Z"}}, "risk.zone"),
        (BODY | {"risk": HOME | {"pool": True}}, "risk.pool"),
        (BODY | {"risk": {"dwelling": "house"}}, "risk.rebuild_value"),
        (BODY | {"as_of": "2023-01-01"}, "as_of"),
        (BODY | {"tax_overrides": {"tax.moon": "0.1"}}, "tax_overrides.tax.moon"),
        (BODY | {"colour": "red"}, "colour"),
        ({"risk": HOME}, "product"),
    ],
)
def test_a_bad_quote_request_gets_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/quotes", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_the_product_catalogue_is_listed_and_each_product_shown(client: TestClient) -> None:
    listed = client.get("/v1/products").json()
    assert {p["id"] for p in listed} >= {"home", "stock-floating", "term-life-10"}
    home = client.get("/v1/products/home").json()
    assert home["id"] == "home"
    assert home["sha256"] == next(p["sha256"] for p in listed if p["id"] == "home")
    assert "rebuild_value" in home["risk"]
    missing = client.get("/v1/products/car")
    assert missing.status_code == 404
    assert client.get("/v1/products/home", params={"version": "0.1"}).status_code == 404


def test_the_premium_calculator_is_served_with_the_same_json(client: TestClient) -> None:
    request = {
        "line": "fire_professional",
        "due_date": "2025-07-01",
        "pure": {"amount": "1000"},
        "cat_nat": False,
        "contributions": [],
    }
    response = client.post("/v1/calc/premium", json=request)
    assert response.status_code == 200
    assert response.json() == premium(request).model_dump(mode="json")
    assert response.json()["total_premium"] == "1120.00"  # 1000 + 12 %


def test_a_premium_due_before_the_tax_table_is_a_422_missing_table(client: TestClient) -> None:
    request = {"line": "fire_private", "due_date": "2010-01-01", "pure": {"amount": "100"}}
    response = client.post("/v1/calc/premium", json=request)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("data.missing", "due_date")
    assert "missing table" in error["message"]


def test_openapi_documents_the_quote_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/quotes", "/v1/products", "/v1/products/{product_id}", "/v1/calc/premium"} <= set(
        paths
    )


@pytest.mark.data
def test_a_term_life_quote_prices_its_cover_with_the_life_calculator(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    from decimal import Decimal
    from pathlib import Path

    from polis import calc

    data_dir = os.environ.get("POLIS_DATA_DIR")
    if not data_dir or not Path(data_dir).is_dir():
        if os.environ.get("CI"):
            pytest.fail("POLIS_DATA_DIR must point at the reference data in CI")
        pytest.skip("POLIS_DATA_DIR is not set (../shared/data)")
    body = {"product": "term-life-10", "risk": {"age": 40, "sex": "male", "sum_assured": "100000"}}
    response = client.post("/v1/quotes", json=body)
    assert response.status_code == 200, response.text
    quote = response.json()
    # the product prices a 10-year level-premium term cover at 1.5 % on TH00-02 for a man
    expected = calc.life(
        {
            "table": "TH00-02",
            "age": 40,
            "sum_assured": "100000",
            "interest_rate": "0.015",
            "cover": "term",
            "term_years": 10,
            "premium": "level_annual",
            "timing": "end_of_year",
        }
    )
    assert quote["covers"][0]["pure_premium"] == str(expected.annual_premium)
    assert Decimal(quote["total_premium"]) > Decimal(quote["pure_premium"])  # loadings, no TSCA
