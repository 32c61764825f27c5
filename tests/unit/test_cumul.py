"""The cumul clause of an on-demand top-up and an annual base contract: who pays first, what each
pays, and the invariants (Hypothesis): base + top-up + retained == loss, nobody pays more than it
would alone, the total never exceeds the loss. Also through the ``settlement`` calculator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.calc import settlement
from polis.claims import (
    CoverTerms,
    CumulClause,
    Deductible,
    Limits,
    Loss,
    RetainedReason,
    apply_cumul,
    settle,
    split_cumul,
)
from polis.kernel.errors import InvalidInput

D = Decimal
PRIMARY, EXCESS, CONTRIBUTION = CumulClause.PRIMARY, CumulClause.EXCESS, CumulClause.CONTRIBUTION


def money(high: int = 50_000) -> st.SearchStrategy[Decimal]:
    return st.integers(0, high * 100).map(lambda c: Decimal(c).scaleb(-2))


def test_excess_the_top_up_pays_only_above_the_base_contract() -> None:
    share = split_cumul(D("5000.00"), D("1500.00"), D("3000.00"), EXCESS)
    assert (share.base, share.top_up, share.retained) == (D("1500.00"), D("3000.00"), D("500.00"))
    small = split_cumul(D("2000.00"), D("1500.00"), D("1950.00"), EXCESS)
    assert (small.base, small.top_up, small.retained) == (D("1500.00"), D("500.00"), D("0.00"))


def test_primary_the_top_up_pays_first_and_the_base_contract_the_rest() -> None:
    share = split_cumul(D("2000.00"), D("1500.00"), D("1950.00"), PRIMARY)
    assert (share.base, share.top_up, share.retained) == (D("50.00"), D("1950.00"), D("0.00"))


def test_contribution_splits_as_l121_4_with_the_published_figures() -> None:
    share = split_cumul(D("10000.00"), D("8000.00"), D("6000.00"), CONTRIBUTION)
    assert (share.base, share.top_up) == (D("5714.29"), D("4285.71"))
    assert share.retained == D("0.00")


def test_no_clause_stated_is_the_l121_4_contribution() -> None:
    share = split_cumul(D("10000.00"), D("8000.00"), D("6000.00"), None)
    assert share.clause is CONTRIBUTION
    assert "L121-4" in share.explanation[0].formula


def test_a_base_contract_that_pays_the_whole_loss_leaves_nothing_to_an_excess_top_up() -> None:
    share = split_cumul(D("800.00"), D("800.00"), D("700.00"), EXCESS)
    assert share.top_up == D("0.00")


@settings(max_examples=300, deadline=None)
@given(
    loss=money(),
    base_part=st.integers(0, 100),
    top_part=st.integers(0, 100),
    clause=st.sampled_from([PRIMARY, EXCESS, CONTRIBUTION, None]),
)
def test_the_shares_add_up_to_the_loss_and_never_exceed_what_each_pays_alone(
    loss: Decimal, base_part: int, top_part: int, clause: CumulClause | None
) -> None:
    base_alone = (loss * base_part / 100).quantize(D("0.01"), rounding="ROUND_DOWN")
    top_alone = (loss * top_part / 100).quantize(D("0.01"), rounding="ROUND_DOWN")
    share = split_cumul(loss, base_alone, top_alone, clause)
    assert share.base + share.top_up + share.retained == loss
    assert share.base + share.top_up <= loss
    assert D(0) <= share.base <= base_alone
    assert D(0) <= share.top_up <= top_alone
    assert share.retained >= 0
    assert share.base + share.top_up == min(loss, base_alone + top_alone)


terms = st.builds(
    lambda ded, limit: CoverTerms(
        deductible=Deductible(amount=ded), limits=Limits(per_claim=limit)
    ),
    money(500),
    st.one_of(st.none(), money(20_000)),
)


@settings(max_examples=200, deadline=None)
@given(
    loss=money(),
    base=terms,
    top=terms,
    clause=st.sampled_from([PRIMARY, EXCESS, CONTRIBUTION]),
)
def test_under_the_clause_the_top_up_settlement_still_itemises_the_whole_loss(
    loss: Decimal, base: CoverTerms, top: CoverTerms, clause: CumulClause
) -> None:
    base_alone = settle(base, Loss(loss))
    top_alone = settle(top, Loss(loss))
    share = split_cumul(loss, base_alone.indemnity, top_alone.indemnity, clause)
    result = apply_cumul(top_alone, share)
    assert result.indemnity == share.top_up
    assert result.indemnity + sum(r.amount for r in result.retained) == loss
    moved = result.retained_by(RetainedReason.OTHER_INSURERS)
    assert moved == top_alone.indemnity - share.top_up
    assert share.base + share.top_up + share.retained == loss


def test_apply_cumul_refuses_a_share_of_another_settlement() -> None:
    top = settle(CoverTerms(), Loss(D("100.00")))
    share = split_cumul(D("100.00"), D("10.00"), D("90.00"), EXCESS)
    with pytest.raises(ValueError, match="another settlement"):
        apply_cumul(top, share)


# --- the settlement calculator --------------------------------------------------------------------

TOP_UP: dict[str, Any] = {
    "loss": {"amount": "5000"},
    "deductible": {"amount": "100"},
    "limit": "3000",
    "cumul_clause": "excess",
}


def test_the_calculator_settles_the_base_contract_alone_then_applies_the_clause() -> None:
    request = TOP_UP | {
        "other_insurance": {
            "name": "annual home contract",
            "settlement": {"deductible": {"amount": "150"}, "limit": "1500"},
        }
    }
    result = settlement(request)
    assert result.indemnity == D("3000.00")
    assert result.cumul is not None
    assert (result.cumul.base, result.cumul.top_up, result.cumul.retained) == (
        D("1500.00"),
        D("3000.00"),
        D("500.00"),
    )
    assert result.indemnity + sum(r.amount for r in result.retained) == D("5000.00")
    assert result.cumul.base_explanation[-1].amount == "1500.00"
    body = result.model_dump(mode="json")
    assert body["cumul"]["clause"] == "excess"
    assert [c["insurer"] for c in body["contributions"]] == [
        "on-demand top-up",
        "annual home contract",
    ]


def test_the_calculator_takes_what_the_base_contract_pays_alone() -> None:
    request = TOP_UP | {"other_insurance": {"name": "home", "alone": "4900"}}
    result = settlement(request)
    assert result.indemnity == D("100.00")
    retained = {r.reason.value: r.amount for r in result.retained}
    assert retained["other_insurers"] == D("2900.00")  # 3000 alone − 100


def test_without_other_insurance_nothing_changes() -> None:
    assert settlement(TOP_UP).cumul is None
    assert settlement(TOP_UP).indemnity == D("3000.00")


@pytest.mark.parametrize(
    ("other", "field"),
    [
        ({"name": "home"}, "other_insurance.alone"),
        ({"name": "home", "alone": "10", "settlement": {}}, "other_insurance.alone"),
        ({"name": "home", "alone": "6000"}, "other_insurance.alone"),
        ({"name": "home", "settlement": {"limit": "x"}}, "other_insurance.settlement.limit"),
        (
            {"name": "home", "settlement": {"loss": {"amount": "10"}}},
            "other_insurance.settlement.loss.amount",
        ),
        (
            {"name": "home", "settlement": {"cumul_clause": "primary"}},
            "other_insurance.settlement.cumul_clause",
        ),
    ],
)
def test_a_bad_other_insurance_names_its_field(other: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        settlement(TOP_UP | {"other_insurance": other})
    assert error.value.field == field


def test_other_insurers_and_other_insurance_are_not_given_together() -> None:
    request = TOP_UP | {
        "other_insurance": {"name": "home", "alone": "10"},
        "other_insurers": [{"name": "B", "alone": "10"}],
    }
    with pytest.raises(InvalidInput) as error:
        settlement(request)
    assert error.value.field == "other_insurance"


def test_an_unknown_clause_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        settlement(TOP_UP | {"cumul_clause": "first"})
    assert error.value.field == "cumul_clause"
