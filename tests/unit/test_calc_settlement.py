"""The ``settlement`` and ``motor-claim`` calculators: contract shape, JSON strings, errors naming
the field and the allowed values."""

from __future__ import annotations

from typing import Any

import pytest

from polis import calc
from polis.calc import motor_claim, settlement
from polis.kernel.errors import InvalidInput


def contract_example(**changes: Any) -> dict[str, Any]:
    """The contracts.md request, as is."""
    request: dict[str, Any] = {
        "loss": {
            "amount": "48000",
            "vat_rate": "0.20",
            "amount_includes_vat": False,
            "vat_recoverable": False,
        },
        "valuation": {"basis": "use_value", "depreciation_rate": "0.35"},
        "sum_insured": "120000",
        "actual_value": "200000",
        "first_loss": False,
        "agreed_value": False,
        "tolerance": "0",
        "misstatement": {"rate_paid": "0.00045", "rate_due": "0.00075", "intentional": False},
        "deductible": {"amount": "1000", "kind": "absolute"},
        "limit": "50000",
        "annual_aggregate_limit": None,
        "paid_this_year": "0",
    }
    request.update(changes)
    return request


def cover(**changes: Any) -> dict[str, Any]:
    block: dict[str, Any] = {
        "terms": {
            "policy_id": "POL-7",
            "cover_id": "home-fire",
            "perils": ["fire", "water"],
            "exclusions": [{"code": "war", "text": "War and civil war"}],
            "period": {"start": "2025-01-01", "end": "2026-01-01"},
        },
        "loss_at": "2025-06-01T10:00:00+02:00",
        "peril": "fire",
    }
    block.update(changes)
    return block


def as_json(request: dict[str, Any]) -> dict[str, Any]:
    return settlement(request).model_dump(mode="json")


def error_of(request: dict[str, Any], run: Any = settlement) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        run(request)
    return error.value


def test_the_contracts_example_gives_10232_with_every_retained_amount_as_a_string() -> None:
    body = as_json(contract_example())
    assert body["indemnity"] == "10232.00"
    assert body["retained"] == [
        {"reason": "depreciation", "amount": "16800.00", "label": body["retained"][0]["label"]},
        {"reason": "premium_rule", "amount": "12480.00", "label": "premium rule (L113-9)"},
        {"reason": "capital_rule", "amount": "7488.00", "label": "capital rule (L121-5)"},
        {"reason": "deductible", "amount": "1000.00", "label": body["retained"][3]["label"]},
    ]
    assert body["loss_amount"] == "48000.00"
    assert body["explanation"][-1] == {
        "step": "indemnity",
        "formula": "loss 48000 − retained 37768 = 10232",
        "amount": "10232.00",
    }


def test_only_the_loss_amount_is_required() -> None:
    body = as_json({"loss": {"amount": 1234.5}})
    assert (body["indemnity"], body["retained"], body["cover"]) == ("1234.50", [], None)


def test_an_intentional_misstatement_gives_nullity() -> None:
    body = as_json(contract_example(misstatement={"intentional": True}))
    assert body["indemnity"] == "0.00"
    assert body["retained"] == [
        {"reason": "nullity", "amount": "48000.00", "label": "nullity (L113-8)"}
    ]


def test_the_cover_check_runs_when_a_cover_block_is_given() -> None:
    body = as_json(contract_example(cover=cover()))
    assert body["cover"]["covered"] is True
    assert body["cover"]["window"] == {
        "start": "2024-12-31T23:00:00Z",
        "end": "2025-12-31T23:00:00Z",
    }
    assert body["indemnity"] == "10232.00"


def test_a_loss_at_the_exact_end_of_the_period_is_not_covered() -> None:
    body = as_json(contract_example(cover=cover(loss_at="2026-01-01T00:00:00+01:00")))
    assert (body["cover"]["reason"], body["indemnity"]) == ("outside_window", "0.00")
    assert body["retained"][0]["reason"] == "not_covered"


def test_an_excluded_circumstance_is_reported_with_its_code() -> None:
    body = as_json(contract_example(cover=cover(circumstances=["war"])))
    assert body["cover"]["reason"] == "excluded:war"


def test_a_late_declaration_is_flagged_and_still_settled() -> None:
    late = cover(declared_at="2025-06-20T09:00:00+02:00")
    body = as_json(contract_example(cover=late))
    # loss on Sunday 1 June; 5 working days: Monday 2 … Friday 6 June; declared 20 June: late
    assert body["declaration"]["due"] == "2025-06-06"
    assert body["declaration"]["late"] is True
    assert body["indemnity"] == "10232.00"


def test_other_insurers_get_their_l121_4_contributions() -> None:
    request = {
        "loss": {"amount": "10000"},
        "limit": "8000",
        "other_insurers": [{"name": "B", "alone": "6000"}],
    }
    body = as_json(request)
    assert body["indemnity"] == "5714.29"
    assert [(c["insurer"], c["contribution"]) for c in body["contributions"]] == [
        ("this insurer", "5714.29"),
        ("B", "4285.71"),
    ]


def test_sub_limits_and_peril_deductibles_follow_the_peril() -> None:
    request = {
        "loss": {"amount": "3000"},
        "peril": "glass",
        "deductible": {"amount": "300"},
        "peril_deductibles": {"glass": {"amount": "50"}},
        "sub_limits": {"glass": "1500"},
    }
    body = as_json(request)
    assert body["indemnity"] == "1500.00"
    assert [(r["reason"], r["amount"]) for r in body["retained"]] == [
        ("deductible", "50.00"),
        ("sub_limit", "1450.00"),
    ]


@pytest.mark.parametrize(
    ("request_", "field", "says"),
    [
        ({"loss": {}}, "loss.amount", "required"),
        ({"loss": {"amount": "1", "currency": "EUR"}}, "loss.currency", "unknown field"),
        ({"loss": {"amount": "-1"}}, "loss.amount", "≥ 0"),
        ({"loss": {"amount": "1.001"}}, "loss.amount", "2 decimals"),
        (
            contract_example(deductible={"amount": "1", "kind": "relative"}),
            "deductible.kind",
            "'simple'",
        ),
        (contract_example(valuation={"basis": "new"}), "valuation.basis", "'replacement_new'"),
        (contract_example(deductible={"kind": "simple"}), "deductible.amount", "exactly one"),
        (
            contract_example(peril_deductibles={"glass": {"amount": "1", "scope": "week"}}),
            "peril_deductibles.glass.scope",
            "'annual'",
        ),
        (contract_example(responsibility_share="1.5"), "responsibility_share", "between 0 and 1"),
        (contract_example(misstatement={"rate_paid": "1"}), "misstatement.rate_due", "rate_due"),
        (
            contract_example(cover=cover(loss_at="2025-06-01T10:00:00")),
            "cover.loss_at",
            "time zone",
        ),
        (
            contract_example(
                cover=cover(
                    terms={
                        "perils": ["fire"],
                        "period": {"start": "2025-01-01", "end": "2026-01-01"},
                        "windows": [],
                    }
                )
            ),
            "cover.terms.windows",
            "exactly one",
        ),
        (contract_example(cover=cover(), peril="water"), "peril", "cover.peril"),
        (
            contract_example(items=[{"label": "tv", "amount": "100"}]),
            "items",
            "add up",
        ),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(
    request_: dict[str, Any], field: str, says: str
) -> None:
    error = error_of(request_)
    assert error.field == field
    assert says in error.message


def test_both_calculators_are_registered_with_a_working_example() -> None:
    for name in ("settlement", "motor-claim"):
        calculator = calc.CALCULATORS[name]
        assert calculator.run(dict(calculator.example)).model_dump(mode="json")["indemnity"]


# --- motor-claim ------------------------------------------------------------------------------


def motor(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "event": "glass_breakage",
        "occurred_on": "2025-03-10",
        "repair_cost": "650",
        "covers": {
            "damage": {"deductible": {"amount": "500"}},
            "theft": {"deductible": {"amount": "300"}},
            "glass": {"deductible": {"amount": "80"}},
        },
        "bonus_malus": {"coefficient": "1.00", "reference_premium": "600"},
    }
    request.update(changes)
    return request


def test_the_motor_calculator_says_which_cover_and_the_bonus_malus_effect() -> None:
    glass = motor_claim(motor()).model_dump(mode="json")
    theft = motor_claim(motor(event="break_in")).model_dump(mode="json")
    assert (glass["cover"], glass["indemnity"]) == ("glass", "570.00")
    assert (theft["cover"], theft["indemnity"]) == ("theft", "350.00")
    for body in (glass, theft):
        assert body["bonus_malus"]["next_year_with"] == body["bonus_malus"]["next_year_without"]
    collision = motor_claim(motor(event="collision", responsibility="full")).model_dump(mode="json")
    assert collision["bonus_malus"]["next_year_with"] == "1.25"
    assert collision["settlement"]["indemnity"] == "150.00"


def test_the_motor_calculator_gives_the_total_loss_dates() -> None:
    body = motor_claim(
        motor(
            event="collision",
            repair_cost="11000",
            vehicle_value="9000",
            expert_report_on="2025-03-20",
        )
    ).model_dump(mode="json")
    assert body["total_loss"] == {
        "repair_cost": "11000.00",
        "vehicle_value": "9000.00",
        "offer": "8500.00",
        "expert_report_on": "2025-03-20",
        "offer_due": "2025-04-04",
        "answer_due": "2025-05-04",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"event": "hail"}, "event"),
        ({"covers": {"glas": {}}}, "covers.glas"),
        ({"bonus_malus": {"coefficient": "4"}}, "bonus_malus.coefficient"),
        ({"event": "vehicle_theft"}, "vehicle_value"),
    ],
)
def test_a_bad_motor_request_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    assert error_of(motor(**changes), motor_claim).field == field


def docs_example() -> dict[str, Any]:
    """The worked example of docs/claims.md."""
    return {
        "loss": {
            "amount": "36000",
            "vat_rate": "0.20",
            "amount_includes_vat": True,
            "vat_recoverable": True,
        },
        "valuation": {
            "basis": "use_value",
            "age_years": "6",
            "schedule": [
                {"max_age_years": "3", "rate": "0.10"},
                {"max_age_years": "8", "rate": "0.25"},
                {"max_age_years": "15", "rate": "0.50"},
            ],
        },
        "sum_insured": "120000",
        "actual_value": "150000",
        "tolerance": "0.10",
        "misstatement": {"rate_paid": "0.0024", "rate_due": "0.003"},
        "deductible": {"rate": "0.10", "min": "500", "max": "2000"},
        "annual_aggregate_limit": "50000",
        "paid_this_year": "40000",
        "cover": cover(
            terms={
                "policy_id": "MRP-2025-0042",
                "cover_id": "fire",
                "perils": ["fire", "water_damage"],
                "exclusions": [
                    {
                        "code": "intentional_act",
                        "text": "Damage caused intentionally by the insured",
                    }
                ],
                "period": {"start": "2025-01-01", "end": "2026-01-01"},
            },
            declared_at="2025-06-03T09:00:00+02:00",
        ),
    }


def test_the_worked_example_of_the_docs() -> None:
    # docs/claims.md: 36,000 incl. VAT → VAT 6,000 → depreciation 25 % 7,500 → L113-9 × 0.8 4,500
    # → L121-5 × 120/150 3,600 → deductible 10 % of 22,500 capped at 2,000 → aggregate 10,000 left
    body = as_json(docs_example())
    assert [(r["reason"], r["amount"]) for r in body["retained"]] == [
        ("vat", "6000.00"),
        ("depreciation", "7500.00"),
        ("premium_rule", "4500.00"),
        ("capital_rule", "3600.00"),
        ("deductible", "2000.00"),
        ("aggregate_limit", "2400.00"),
    ]
    assert (body["indemnity"], body["valued_loss"]) == ("10000.00", "22500.00")
    assert (body["declaration"]["due"], body["declaration"]["late"]) == ("2025-06-06", False)
