"""The ``premium`` calculator: the contracts.md shape, JSON strings, errors naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from polis.calc import CALCULATORS, premium
from polis.kernel.errors import InvalidInput, ReferenceDataMissing

CONTRACT_EXAMPLE: dict[str, Any] = {
    "line": "fire_private",
    "due_date": "2025-09-01",
    "basis": {"kind": "insured_value", "amount": "850000", "valuation": "replacement_new"},
    "pure": {"technical_rate": "0.00062"},
    "period": {"start": "2025-09-01", "end": "2026-09-01"},
    "loadings": [
        {"name": "management", "rate": "0.25", "of": "pure"},
        {"name": "acquisition", "amount": "45"},
    ],
    "contributions": ["fgti"],
}


def as_json(request: dict[str, Any]) -> dict[str, Any]:
    return premium(request).model_dump(mode="json")


def error_of(request: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        premium(request)
    return error.value


def test_the_contract_example_gives_every_line_by_hand() -> None:
    body = as_json(CONTRACT_EXAMPLE)
    # pure 850,000 × 0.00062 = 527.00; management 527 × 0.25 = 131.75; acquisition 45.00
    # net 703.75; cat-nat 20% = 140.75; TSCA (703.75 + 140.75) × 30% = 253.35; FGTI 6.50
    # total 703.75 + 140.75 + 253.35 + 6.50 = 1104.35
    assert body["pure_premium"] == "527.00"
    assert body["prorata"] == "1.0000000000"
    assert body["loadings"][0] | {"cover": None} == {
        "name": "management",
        "amount": "131.75",
        "cover": None,
        "type": "management",
        "of": "pure",
        "rate": "0.25",
    }
    assert body["net_premium"] == "703.75"
    assert [(s["name"], s["rate"], s["base"], s["amount"]) for s in body["surcharges"]] == [
        ("cat_nat", "0.20", "703.75", "140.75")
    ]
    assert [(t["name"], t["rate"], t["base"], t["amount"]) for t in body["taxes"]] == [
        ("TSCA", "0.30", "844.50", "253.35")
    ]
    assert body["taxes"][0]["reference"].startswith("CGI art. 1001")
    assert body["contributions"][0]["name"] == "fgti"
    assert body["contributions"][0]["amount"] == "6.50"
    assert body["total_premium"] == "1104.35"
    assert body["regularisation"] is None


def test_every_response_carries_an_explanation_a_person_can_follow() -> None:
    explanation = as_json(CONTRACT_EXAMPLE)["explanation"]
    steps = [line["step"] for line in explanation]
    assert steps[0] == "period"
    assert steps[-1] == "total premium"
    assert any("Actual/365" in line["formula"] for line in explanation)
    assert all(set(line) == {"step", "formula", "amount"} for line in explanation)


def test_the_calculator_is_registered_for_the_cli_and_http() -> None:
    entry = CALCULATORS["premium"]
    assert premium(dict(entry.example)).model_dump(mode="json")["total_premium"] == "1104.35"


def test_net_130_at_30_percent_is_169_through_the_calculator() -> None:
    body = as_json(
        {
            "line": "fire_private",
            "due_date": "2025-09-01",
            "pure": {"amount": "90"},
            "loadings": [{"name": "management", "amount": "40"}],
            "cat_nat": False,
            "contributions": [],
        }
    )
    assert (body["net_premium"], body["total_premium"]) == ("130.00", "169.00")


def test_use_value_minus_20_percent_gives_a_pure_premium_of_720() -> None:
    request = {
        "line": "fire_professional",
        "due_date": "2025-09-01",
        "basis": {
            "kind": "insured_value",
            "amount": "1200000",
            "valuation": "use_value",
            "depreciation_rate": "0.20",
        },
        "pure": {"technical_rate": "0.00075"},
    }
    body = as_json(request)
    assert body["pure_premium"] == "720.00"
    assert body["bases"][0]["amount"] == "960000.00"


def test_a_period_of_181_days_prorates_the_pure_premium() -> None:
    body = as_json(
        {
            "line": "liability",
            "due_date": "2025-01-01",
            "period": {"start": "2025-01-01", "end": "2025-07-01"},
            "pure": {"amount": "900"},
        }
    )
    # 900 × 181/365 = 446.30; TSCA 9% = 40.17
    assert body["pure_premium"] == "446.30"
    assert body["period"]["days"] == 181
    assert body["total_premium"] == "486.47"


def test_a_seasonal_profile_replaces_the_prorata() -> None:
    summer = ["0"] * 6 + ["0.5", "0.5"] + ["0"] * 4
    body = as_json(
        {
            "line": "pleasure_boats",
            "due_date": "2025-07-01",
            "period": {"start": "2025-07-01", "end": "2025-08-01"},
            "pure": {"amount": "300"},
            "seasonality": summer,
        }
    )
    assert (body["time_method"], body["prorata"], body["pure_premium"]) == (
        "seasonality",
        "0.5000000000",
        "150.00",
    )


def test_short_units_use_the_quantity_and_the_minimum_charge() -> None:
    body = as_json(
        {
            "line": "other_damage",
            "due_date": "2025-09-01",
            "pure": {"amount": "0.35", "unit": "hour", "quantity": "3", "minimum": "1.50"},
            "cat_nat": False,
            "contributions": [],
        }
    )
    # 3 × 0.35 = 1.05 → minimum 1.50; TSCA 9% = 0.14 (0.135 half-up)
    assert (body["pure_premium"], body["total_premium"]) == ("1.50", "1.64")


def test_a_floating_policy_shows_its_regularisation() -> None:
    body = as_json(
        {
            "line": "fire_professional",
            "due_date": "2025-09-01",
            "basis": {
                "kind": "declarations",
                "values": ["2800000", "3200000", "3000000", "3500000"],
                "statistic": "mean",
                "provisional_premium_paid": "12000",
            },
            "pure": {"technical_rate": "0.004"},
        }
    )
    # mean 3,125,000 × 0.004 = 12,500 (seed 002); no loading: net 12,500 − 12,000 paid = 500
    assert body["pure_premium"] == "12500.00"
    assert body["regularisation"] == {
        "statistic": "mean",
        "declared_value": "3125000",
        "final_premium": "12500.00",
        "provisional_premium": "12000.00",
        "amount": "500.00",
    }


def test_multi_cover_requests_are_taxed_cover_by_cover() -> None:
    body = as_json(
        {
            "due_date": "2025-09-01",
            "covers": [
                {"id": "building", "line": "fire_private", "pure": {"amount": "200"}},
                {"id": "liability", "line": "liability", "pure": {"amount": "30"}},
            ],
            "fees": [{"name": "policy_fee", "amount": "10"}],
            "line": "fire_private",
        }
    )
    assert [(t["cover"], t["rate"], t["amount"]) for t in body["taxes"]] == [
        ("building", "0.30", "72.00"),
        ("liability", "0.09", "2.70"),
        (None, "0.30", "3.00"),
    ]
    # 230 + 40 + 77.70 + 6.50 + 10 = 364.20
    assert body["total_premium"] == "364.20"
    assert [c["id"] for c in body["covers"]] == ["building", "liability"]


def test_a_mutual_asking_for_a_profit_loading_is_refused() -> None:
    request = CONTRACT_EXAMPLE | {
        "insurer": "mutual",
        "loadings": [{"name": "profit", "rate": "0.05", "of": "net"}],
    }
    error = error_of(request)
    assert error.field == "loadings[0]"
    assert "mutual" in error.message


def test_tax_overrides_change_one_rate_and_are_shown_in_the_reference() -> None:
    body = as_json(CONTRACT_EXAMPLE | {"tax_overrides": {"tax.fire_private": "0.25"}})
    assert body["taxes"][0]["rate"] == "0.25"
    assert "override" in body["taxes"][0]["reference"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pure": {"amount": "-5"}}, "pure.amount"),
        ({"line": "fire_privee"}, "line"),
        ({"period": {"start": "2025-09-01", "end": "2025-08-01"}}, "period.end"),
        ({"loadings": [{"name": "x", "amount": "-1"}]}, "loadings[0].amount"),
        ({"loadings": [{"name": "x", "rate": "0.5"}]}, "loadings[0].of"),
        ({"basis": {"kind": "insured_value", "amount": "-1"}}, "basis.amount"),
        ({"basis": {"kind": "exposure", "amount": "1"}}, "basis.unit"),
        ({"basis": {"kind": "insured_value", "amount": "1", "unit": "beds"}}, "basis.unit"),
        ({"pure": {"amount": "1", "technical_rate": "0.1"}}, "pure"),
        ({"colour": "red"}, "colour"),
        ({"tax_overrides": {"tax.mars": "0.1"}}, "tax_overrides.tax.mars"),
        ({"contributions": ["fgtx"]}, "contributions"),
        ({"seasonality": ["0.5", "0.5"]}, "seasonality"),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    assert error_of(CONTRACT_EXAMPLE | change).field == field


def test_a_due_date_before_the_table_is_a_missing_table_error() -> None:
    request = CONTRACT_EXAMPLE | {"due_date": "2014-01-01", "period": None}
    with pytest.raises(ReferenceDataMissing) as error:
        premium(request)
    assert error.value.field == "due_date"
    assert "missing table" in error.value.message


def test_in_a_multi_cover_request_the_error_names_the_cover() -> None:
    request: dict[str, Any] = {
        "due_date": "2025-09-01",
        "covers": [
            {"line": "liability", "pure": {"amount": "1"}},
            {"line": "nowhere", "pure": {"amount": "1"}},
        ],
    }
    assert error_of(request).field == "covers[1].line"
    request["covers"][1] = {"line": "liability", "pure": {"amount": "-1"}}
    assert error_of(request).field == "covers[1].pure.amount"


def test_money_is_a_string_with_two_decimals_and_rates_stay_exact() -> None:
    body = as_json(CONTRACT_EXAMPLE)
    assert isinstance(body["total_premium"], str)
    assert body["loadings"][0]["rate"] == "0.25"
    assert Decimal(body["total_premium"]) == Decimal("1104.35")
