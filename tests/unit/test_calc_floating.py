"""The ``floating`` calculator: JSON shape, decimal strings, flags, errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from polis.calc import CALCULATORS, FloatingRequest, floating
from polis.kernel.errors import InvalidInput

MONTHS = [f"2025-{m:02d}-01" for m in range(1, 13)]
# received on the 5th of the next month, except April: on 2025-05-20, after its deadline 2025-05-16
RECEIVED = [f"2025-{m:02d}-05" for m in range(2, 13)] + ["2026-01-05"]
RECEIVED[3] = "2025-05-20"
# Σ = 19,800,000: mean 1,650,000
VALUES = ["1400000", "1500000", "1600000", "1700000", "1800000", "1900000"]
VALUES += ["1600000", "1500000", "1700000", "1800000", "1600000", "1700000"]


def request(**changes: Any) -> dict[str, Any]:
    """The request of docs/floating.md: a révisable policy on 2025 with twelve declarations."""
    base: dict[str, Any] = {
        "variant": "revisable",
        "period": {"start": "2025-01-01", "end": "2026-01-01"},
        "rate": "0.0012",
        "forecast_value": "1500000",
        "sum_insured": "2500000",
        "frequency": "monthly",
        "statistic": "mean",
        "missing_rule": "last_value",
        "grace_days": 15,
        "instalments": 4,
        "provisional_premium_paid": "1800.00",
        "declarations": [
            {"period_start": start, "value": value, "received": received}
            for start, value, received in zip(MONTHS, VALUES, RECEIVED, strict=True)
        ],
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def as_json(payload: dict[str, Any]) -> dict[str, Any]:
    return floating(payload).model_dump(mode="json")


def error_of(payload: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        floating(payload)
    return error.value


def test_the_documented_revisable_example_regularises_180_euros() -> None:
    response = as_json(request())
    # 0.0012 × 1,500,000 = 1,800.00 in 4 × 450.00; 0.0012 × 1,650,000 = 1,980.00; +180.00
    assert response["provisional_premium"] == "1800.00"
    assert [(c["date"], c["kind"], c["amount"]) for c in response["calls"]] == [
        ("2025-01-01", "instalment", "450.00"),
        ("2025-04-01", "instalment", "450.00"),
        ("2025-07-01", "instalment", "450.00"),
        ("2025-10-01", "instalment", "450.00"),
        ("2026-01-05", "regularisation", "180.00"),
    ]
    assert response["statistic_value"] == "1650000.00"
    assert (response["final_premium"], response["regularisation"]) == ("1980.00", "180.00")
    assert response["total_called"] == "1980.00"
    (late,) = response["flags"]
    assert (late["kind"], late["period"], late["value"]) == ("late", 4, "1700000")
    assert "4 day(s) after the deadline 2025-05-16" in late["reason"]


def test_money_is_two_decimal_strings_values_are_as_declared_and_shares_are_fractions() -> None:
    response = as_json(
        request(
            variant="compte_courant",
            statistic=None,
            instalments=None,
            provisional_premium_paid=None,
        )
    )
    february = response["periods"][1]
    assert february == {
        "number": 2,
        "start": "2025-02-01",
        "end": "2025-03-01",
        "days": 28,
        "share": "28/365",
        "due": "2025-03-01",
        "deadline": "2025-03-16",
        "status": "on_time",
        "declared_value": "1500000",
        "received": "2025-03-05",
        "value_used": "1500000",
        # earned to February 280.77 − January 142.68
        "premium": "138.09",
    }
    for line in response["explanation"]:
        assert set(line) == {"step", "formula", "amount"}
        assert line["amount"] is None or isinstance(line["amount"], str)
    assert any("taxes excluded" in line["formula"] for line in response["explanation"])


def test_the_ajustable_account_shows_earned_called_and_balance_after_each_declaration() -> None:
    response = as_json(request(variant="ajustable", statistic=None, instalments=None))
    deposit, january = response["calls"][0], response["calls"][1]
    assert (deposit["kind"], deposit["amount"], deposit["balance"]) == (
        "provisional",
        "1800.00",
        None,
    )
    # 0.0012 × 1,400,000 × 31 / 365 = 142.68 earned; 1,800.00 − 142.68 = 1,657.32 still in credit
    assert (january["kind"], january["amount"]) == ("adjustment", "0.00")
    assert (january["earned_to_date"], january["balance"]) == ("142.68", "1657.32")
    assert response["deposit"] == "1800.00"
    assert response["total_called"] == response["final_premium"] == "1980.49"


def test_a_missing_and_a_late_declaration_are_listed_with_their_reasons() -> None:
    declarations = request()["declarations"]
    declarations[3] = {**declarations[3], "received": "2025-05-17"}  # April: deadline 2025-05-16
    del declarations[5]  # June: not declared
    response = as_json(request(declarations=declarations, missing_rule="sum_insured"))
    flags = {(f["kind"], f["period"]): f for f in response["flags"]}
    assert set(flags) == {("late", 4), ("missing", 6)}
    missing = flags[("missing", 6)]
    assert (missing["rule"], missing["value"], missing["period_start"]) == (
        "sum_insured",
        "2500000",
        "2025-06-01",
    )
    assert "sum insured" in missing["reason"]
    assert response["periods"][5]["status"] == "missing"
    assert response["periods"][5]["declared_value"] is None
    assert response["periods"][3]["status"] == "late"


def test_a_request_model_is_accepted_as_well_as_a_dict() -> None:
    model = FloatingRequest.model_validate(request())
    assert floating(model).model_dump(mode="json") == as_json(request())


def test_the_registered_example_is_the_seed_quarterly_stock_policy() -> None:
    response = as_json(dict(CALCULATORS["floating"].example))
    # mean (2.8 + 3.2 + 3.0 + 3.5) M / 4 = 3,125,000 at 0.4 % = 12,500.00; provisional 12,000.00
    assert (response["final_premium"], response["regularisation"]) == ("12500.00", "500.00")


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("variant", "'revisable', 'ajustable' or 'compte_courant'"),
        ("statistic", "'mean', 'max' or 'last'"),
        ("missing_rule", "'last_value', 'sum_insured' or 'penalty'"),
        ("frequency", "'monthly', 'quarterly', 'half_yearly', 'yearly' or 'custom'"),
    ],
)
def test_an_unknown_choice_is_refused_listing_the_allowed_values(name: str, allowed: str) -> None:
    error = error_of(request(**{name: "other"}))
    assert error.field == name
    assert allowed in error.message


def declarations_with(index: int, **changes: str) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = request()["declarations"]
    declarations[index] = {**declarations[index], **changes}
    return declarations


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"declarations": declarations_with(11, period_start="2026-01-01")},
            "declarations[11].period_start",
            "outside the insurance period [2025-01-01, 2026-01-01)",
        ),
        (
            {"declarations": declarations_with(2, period_start="2025-02-01")},
            "declarations[2].period_start",
            "duplicate declaration: declarations[1]",
        ),
        (
            {"declarations": declarations_with(0, value="-1")},
            "declarations[0].value",
            "negative",
        ),
        (
            {"declarations": declarations_with(0, value="a lot")},
            "declarations[0].value",
            "not a decimal number",
        ),
        (
            {"period": {"start": "2025-01-01", "end": "2024-06-30"}},
            "period.end",
            "must be after start",
        ),
        ({"instalments": 3}, "instalments", "one of 1, 2, 4, 12"),
        ({"missing_rule": "penalty"}, "penalty_rate", "required"),
        ({"grace_days": -1}, "grace_days", "greater than or equal to 0"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"rate": None}, "rate", "required"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(
    changes: dict[str, Any], field: str, words: str
) -> None:
    error = error_of(request(**changes))
    assert error.field == field
    assert words in error.message
