"""The ``crm`` calculator: contract shape, JSON strings, errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from polis.calc import CrmRequest, crm
from polis.kernel.errors import InvalidInput


def as_json(request: dict[str, Any]) -> dict[str, Any]:
    return crm(request).model_dump(mode="json")


def field_of(request: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        crm(request)
    return error.value


def test_one_claim_free_period_from_1_00_gives_the_json_string_0_95() -> None:
    assert as_json({"start": "1.00", "periods": [{"claims": []}]})["final"] == "0.95"


def test_the_contract_example_compounds_and_ignores_the_neutral_claim() -> None:
    response = as_json(
        {
            "start": "1.00",
            "usage": "standard",
            "years_at_floor": 0,
            "periods": [
                {"claims": []},
                {"claims": [{"responsibility": "full"}]},
                {
                    "claims": [
                        {"responsibility": "partial"},
                        {"responsibility": "none", "neutral": True},
                    ]
                },
            ],
        }
    )
    # 0.95; 0.95 × 1.25 = 1.1875 → 1.18; 1.18 × 1.125 = 1.3275 → 1.32
    assert response["coefficients"] == ["0.95", "1.18", "1.32"]
    assert response["final"] == "1.32"
    assert [row["ignored_claims"] for row in response["periods"]] == [0, 0, 1]
    assert response["pending_claims"] == []


def test_coefficients_and_premiums_are_strings_with_two_decimals() -> None:
    response = as_json(
        {"start": 1, "reference_premium": 500, "periods": [{"claims": []}, {"interrupted": True}]}
    )
    first = response["periods"][0]
    assert (first["start_coefficient"], first["coefficient"], first["premium"]) == (
        "1.00",
        "0.95",
        "475.00",
    )
    assert response["periods"][1]["notes"] == ["interrupted: no reduction"]
    for line in response["explanation"]:
        assert set(line) == {"step", "formula", "amount"}
        assert line["amount"] is None or isinstance(line["amount"], str)


def test_float_inputs_are_read_through_their_decimal_text() -> None:
    assert as_json({"start": 0.8, "periods": [{}]})["final"] == "0.76"


def test_explanation_shows_each_step_with_its_formula() -> None:
    response = as_json(
        {"periods": [{}, {"claims": [{"responsibility": "full", "label": "car park"}]}]}
    )
    step = next(line for line in response["explanation"] if "responsible claim" in line["step"])
    assert step == {
        "step": "period 2: responsible claim (full, car park)",
        "formula": "0.95 × 1.25 = 1.1875 → truncated 1.18",
        "amount": "1.18",
    }


def test_a_request_model_is_accepted_as_well_as_a_dict() -> None:
    request = CrmRequest.model_validate({"usage": "tournees", "periods": [{}]})
    assert crm(request).model_dump(mode="json")["final"] == "0.93"


def test_dated_mode_reports_due_dates_reference_periods_and_pending_claims() -> None:
    response = as_json(
        {
            "history": {
                "first_due_date": "2021-06-01",
                "last_due_date": "2022-06-01",
                "claims": [
                    {"date": "2021-04-01", "responsibility": "full"},
                    {"date": "2022-04-01", "responsibility": "partial", "label": "later"},
                ],
                "interruptions": [],
            }
        }
    )
    assert response["coefficients"] == ["0.95", "1.18"]
    second = response["periods"][1]
    assert second["due_date"] == "2022-06-01"
    assert second["reference_period"] == {"start": "2021-04-01", "end": "2022-04-01"}
    assert response["pending_claims"] == [
        {
            "index": 1,
            "date": "2022-04-01",
            "responsibility": "partial",
            "neutral": False,
            "cause": None,
            "label": "later",
            "counts_at": "2023-06-01",
        }
    ]


@pytest.mark.parametrize(
    ("request_", "field", "fragment"),
    [
        ({"periods": [], "colour": "red"}, "colour", "unknown field"),
        ({"periods": [{"claims": [], "extra": 1}]}, "periods[0].extra", "unknown field"),
        (
            {"periods": [{}, {"claims": [{"responsibility": "most"}]}]},
            "periods[1].claims[0].responsibility",
            "'full', 'partial' or 'none'",
        ),
        (
            {"periods": [{"claims": [{"responsibility": "full", "cause": "rain"}]}]},
            "periods[0].claims[0].cause",
            "force_majeure",
        ),
        ({"usage": "taxi", "periods": []}, "usage", "'standard' or 'tournees'"),
        ({"start": "3.51", "periods": []}, "start", "between 0.50 and 3.50"),
        ({"start": "0.49", "periods": []}, "start", "between 0.50 and 3.50"),
        ({"start": "one", "periods": []}, "start", "not a decimal"),
        ({"reference_premium": "-5", "periods": []}, "reference_premium", "≥ 0"),
        ({"years_at_floor": -1, "periods": []}, "years_at_floor", "greater than or equal"),
        (
            {"periods": [{"claims": [{"responsibility": "full", "label": "x" * 201}]}]},
            "periods[0].claims[0].label",
            "200",
        ),
        ({"periods": [{}] * 101}, "periods", "100"),
        ({}, "periods", "history"),
        (
            {
                "periods": [],
                "history": {"first_due_date": "2021-06-01", "last_due_date": "2021-06-01"},
            },
            "history",
            "not both",
        ),
        (
            {
                "history": {
                    "first_due_date": "2021-06-01",
                    "last_due_date": "2021-06-01",
                    "interruptions": [{"start": "2021-01-01", "end": "2020-12-01"}],
                }
            },
            "history.interruptions[0].end",
            "after the start",
        ),
        (
            {
                "history": {
                    "first_due_date": "2021-06-01",
                    "last_due_date": "2021-06-01",
                    "claims": [{"date": "2019-01-01", "responsibility": "full"}],
                }
            },
            "history.claims[0].date",
            "before the first reference period",
        ),
        (
            {"history": {"first_due_date": "2021-06-01", "last_due_date": "2020-06-01"}},
            "history.last_due_date",
            "on or after",
        ),
        (
            {"history": {"first_due_date": "2021-06-01", "last_due_date": "2021-06-01", "x": 1}},
            "history.x",
            "unknown field",
        ),
    ],
)
def test_bad_requests_name_the_field(request_: dict[str, Any], field: str, fragment: str) -> None:
    error = field_of(request_)
    assert error.field == field
    assert fragment in error.message


def test_a_request_that_is_not_an_object_is_refused() -> None:
    assert field_of(["periods"]).field == "request"
