"""The settlement engine on worked examples (published and by hand) and on its boundaries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from polis.claims import (
    CoverTerms,
    Deductible,
    DeductibleBase,
    DeductibleKind,
    DeductibleScope,
    Limits,
    Loss,
    LossItem,
    Misstatement,
    OtherInsurer,
    PriorUse,
    Settlement,
    ValuationBasis,
    Vat,
    contributions,
    settle,
)
from polis.kernel.errors import InvalidInput
from polis.kernel.time import Window
from polis.rating.bases import AgeBand

D = Decimal
UTC = dt.UTC


def reasons(result: Settlement) -> dict[str, Decimal]:
    return {r.reason.value: r.amount for r in result.retained}


def adds_up(result: Settlement) -> bool:
    return result.indemnity + sum((r.amount for r in result.retained), D(0)) == result.loss_amount


# --- published and derived examples (french-rules.md §3) ---------------------------------------


def test_capital_rule_reduces_the_indemnity_in_proportion_to_under_insurance() -> None:
    # published: 30,000 × 50,000 / 80,000 = 18,750
    terms = CoverTerms(sum_insured=D("50000"))
    result = settle(terms, Loss(D("30000"), actual_value=D("80000")))
    assert result.indemnity == D("18750.00")
    assert reasons(result) == {"capital_rule": D("11250.00")}
    assert adds_up(result)


def test_premium_rule_pays_in_proportion_of_the_premium_paid_to_the_premium_due() -> None:
    # L113-9: damage 10,000, premium paid 300 instead of 400 → 10,000 × 300 / 400 = 7,500
    loss = Loss(D("10000"), misstatement=Misstatement(D("300"), D("400")))
    result = settle(CoverTerms(), loss)
    assert result.indemnity == D("7500.00")
    assert reasons(result) == {"premium_rule": D("2500.00")}


def test_double_insurance_contributions_follow_what_each_insurer_would_pay_alone() -> None:
    # L121-4: loss 10,000; A alone 8,000, B alone 6,000 → A 10,000 × 8/14 = 5,714.2857… → 5,714.29,
    # B 10,000 × 6/14 = 4,285.7142… → 4,285.71; together exactly 10,000.00
    shares = contributions(D("10000"), [("A", D("8000")), ("B", D("6000"))])
    assert [(c.insurer, c.contribution) for c in shares] == [
        ("A", D("5714.29")),
        ("B", D("4285.71")),
    ]
    assert sum(c.contribution for c in shares) == D("10000.00")


def test_this_insurer_pays_its_l121_4_contribution_and_reports_the_others() -> None:
    # this insurer would pay 8,000 alone (limit 8,000 on a 10,000 loss), B 6,000 → 5,714.29
    terms = CoverTerms(limits=Limits(per_claim=D("8000")))
    loss = Loss(D("10000"), other_insurers=(OtherInsurer("B", D("6000")),))
    result = settle(terms, loss)
    assert result.indemnity == D("5714.29")
    assert reasons(result) == {"limit": D("2000.00"), "other_insurers": D("2285.71")}
    assert [c.contribution for c in result.contributions] == [D("5714.29"), D("4285.71")]
    assert adds_up(result)


def test_each_insurer_pays_what_it_would_alone_when_together_they_do_not_reach_the_loss() -> None:
    # alone 3,000 + 2,000 = 5,000 < loss 10,000 → each pays its own amount
    shares = contributions(D("10000"), [("A", D("3000")), ("B", D("2000"))])
    assert [c.contribution for c in shares] == [D("3000.00"), D("2000.00")]


def test_the_contracts_example_settles_to_10232_by_hand() -> None:
    # 48,000 excl. VAT (VAT not recoverable, not part of the stated loss: kept as stated)
    # use value 48,000 × (1 − 0.35) = 31,200          depreciation 16,800
    # L113-9 31,200 × 0.00045 / 0.00075 = 18,720       premium rule 12,480
    # L121-5 18,720 × 120,000 / 200,000 = 11,232       capital rule  7,488
    # absolute deductible 11,232 − 1,000 = 10,232      deductible    1,000
    # limit 50,000 not reached → indemnity 10,232.00; 10,232 + 37,768 = 48,000
    terms = CoverTerms(
        sum_insured=D("120000"),
        valuation_basis=ValuationBasis.USE_VALUE,
        deductible=Deductible(amount=D("1000")),
        limits=Limits(per_claim=D("50000")),
    )
    loss = Loss(
        D("48000"),
        vat=Vat(D("0.20"), amount_includes_vat=False, recoverable=False),
        actual_value=D("200000"),
        depreciation_rate=D("0.35"),
        misstatement=Misstatement(D("0.00045"), D("0.00075")),
    )
    result = settle(terms, loss)
    assert result.indemnity == D("10232.00")
    assert reasons(result) == {
        "depreciation": D("16800.00"),
        "premium_rule": D("12480.00"),
        "capital_rule": D("7488.00"),
        "deductible": D("1000.00"),
    }
    assert result.valued_loss == D("31200.00")
    assert any("not part of" in note for note in result.notes)
    assert adds_up(result)


# --- VAT, valuation, indemnity principle --------------------------------------------------------


def test_recoverable_vat_is_retained_and_the_indemnity_is_excluding_vat() -> None:
    # 1,200 incl. VAT at 20 %, the insured recovers VAT → 1,200 / 1.2 = 1,000; VAT 200 retained
    loss = Loss(D("1200"), vat=Vat(D("0.20"), amount_includes_vat=True, recoverable=True))
    result = settle(CoverTerms(), loss)
    assert (result.indemnity, reasons(result)) == (D("1000.00"), {"vat": D("200.00")})


def test_non_recoverable_vat_is_indemnified_when_included_in_the_loss() -> None:
    loss = Loss(D("1200"), vat=Vat(D("0.20"), amount_includes_vat=True, recoverable=False))
    assert settle(CoverTerms(), loss).indemnity == D("1200.00")


def test_use_value_reads_the_depreciation_rate_from_the_age_schedule() -> None:
    # age 4 years in the band ≤ 5 years → 30 %: 2,000 × 0.7 = 1,400
    schedule = (AgeBand(D("2"), D("0.10")), AgeBand(D("5"), D("0.30")), AgeBand(D("10"), D("0.60")))
    terms = CoverTerms(valuation_basis=ValuationBasis.USE_VALUE, depreciation_schedule=schedule)
    result = settle(terms, Loss(D("2000"), age_years=D("4")))
    assert (result.indemnity, reasons(result)) == (D("1400.00"), {"depreciation": D("600.00")})


def test_the_indemnity_never_exceeds_the_value_of_the_thing_at_the_time_of_loss() -> None:
    # L121-1: repair 5,000 on a thing worth 3,200 → 3,200
    result = settle(CoverTerms(), Loss(D("5000"), actual_value=D("3200")))
    assert reasons(result) == {"indemnity_principle": D("1800.00")}


def test_market_value_basis_caps_the_loss_at_the_market_value() -> None:
    terms = CoverTerms(valuation_basis=ValuationBasis.MARKET)
    result = settle(terms, Loss(D("8000"), value_at_loss=D("6500")))
    assert result.indemnity == D("6500.00")


def test_agreed_value_sets_aside_the_capital_rule() -> None:
    terms = CoverTerms(sum_insured=D("50000"), agreed_value=True)
    assert settle(terms, Loss(D("30000"), actual_value=D("80000"))).indemnity == D("30000.00")


def test_first_loss_cover_sets_aside_the_capital_rule() -> None:
    terms = CoverTerms(sum_insured=D("50000"), first_loss=True)
    assert settle(terms, Loss(D("30000"), actual_value=D("80000"))).indemnity == D("30000.00")


# --- tolerance boundary ---------------------------------------------------------------------------


def test_capital_rule_does_not_apply_exactly_at_the_tolerance_threshold() -> None:
    # 100,000 × (1 + 0.10) = 110,000: actual value 110,000 is within the tolerance
    terms = CoverTerms(sum_insured=D("100000"), tolerance=D("0.10"))
    at_threshold = settle(terms, Loss(D("20000"), actual_value=D("110000")))
    assert (at_threshold.indemnity, at_threshold.retained) == (D("20000.00"), ())


def test_capital_rule_applies_one_cent_beyond_the_tolerance_threshold() -> None:
    # 20,000 × 100,000 / 110,000.01 = 18,181.816… → 18,181.82
    terms = CoverTerms(sum_insured=D("100000"), tolerance=D("0.10"))
    beyond = settle(terms, Loss(D("20000"), actual_value=D("110000.01")))
    assert beyond.indemnity == D("18181.82")


# --- nullity and refusal --------------------------------------------------------------------------


def test_intentional_misstatement_voids_the_contract_nothing_is_paid() -> None:
    loss = Loss(D("10000"), misstatement=Misstatement(intentional=True))
    result = settle(CoverTerms(), loss)
    assert (result.indemnity, reasons(result)) == (D("0.00"), {"nullity": D("10000.00")})


def test_a_loss_outside_the_cover_window_is_retained_entirely_as_not_covered() -> None:
    window = Window(dt.datetime(2025, 6, 1, tzinfo=UTC), dt.datetime(2025, 6, 2, tzinfo=UTC))
    terms = CoverTerms(perils=frozenset({"theft"}), windows=(window,))
    loss = Loss(D("900"), at=dt.datetime(2025, 6, 2, tzinfo=UTC), peril="theft")
    result = settle(terms, loss)
    assert (result.indemnity, reasons(result)) == (D("0.00"), {"not_covered": D("900.00")})
    assert result.cover is not None
    assert result.cover.reason == "outside_window"


# --- deductibles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DeductibleKind))
def test_a_deductible_equal_to_the_loss_leaves_nothing_to_pay(kind: DeductibleKind) -> None:
    terms = CoverTerms(deductible=Deductible(amount=D("750"), kind=kind))
    result = settle(terms, Loss(D("750")))
    assert (result.indemnity, reasons(result)) == (D("0.00"), {"deductible": D("750.00")})


def test_a_simple_deductible_pays_everything_once_the_loss_exceeds_the_threshold() -> None:
    terms = CoverTerms(deductible=Deductible(amount=D("750"), kind=DeductibleKind.SIMPLE))
    assert settle(terms, Loss(D("750.01"))).indemnity == D("750.01")


def test_a_percentage_deductible_is_held_between_its_minimum_and_maximum() -> None:
    # 10 % of 2,000 = 200 → min 300; 10 % of 50,000 = 5,000 → max 3,000; 10 % of 10,000 = 1,000
    deductible = Deductible(rate=D("0.10"), minimum=D("300"), maximum=D("3000"))
    terms = CoverTerms(deductible=deductible)
    assert settle(terms, Loss(D("2000"))).indemnity == D("1700.00")
    assert settle(terms, Loss(D("50000"))).indemnity == D("47000.00")
    assert settle(terms, Loss(D("10000"))).indemnity == D("9000.00")


def test_a_percentage_deductible_of_the_loss_is_taken_after_the_capital_rule() -> None:
    # 10,000 × 50,000 / 100,000 = 5,000; deductible 10 % of the valued loss 10,000 = 1,000 → 4,000
    terms = CoverTerms(sum_insured=D("50000"), deductible=Deductible(rate=D("0.10")))
    assert settle(terms, Loss(D("10000"), actual_value=D("100000"))).indemnity == D("4000.00")


def test_a_percentage_deductible_of_the_sum_insured() -> None:
    # 0.5 % of 200,000 = 1,000
    deductible = Deductible(rate=D("0.005"), of=DeductibleBase.SUM_INSURED)
    terms = CoverTerms(sum_insured=D("200000"), deductible=deductible)
    assert settle(terms, Loss(D("4000"))).indemnity == D("3000.00")


def test_an_annual_aggregate_deductible_keeps_only_what_is_left_of_it_this_year() -> None:
    # annual deductible 5,000, 4,200 already retained → 800 left: 3,000 − 800 = 2,200
    deductible = Deductible(amount=D("5000"), scope=DeductibleScope.ANNUAL)
    loss = Loss(D("3000"), prior=PriorUse(annual_deductible_used=D("4200")))
    assert settle(CoverTerms(deductible=deductible), loss).indemnity == D("2200.00")


def test_an_event_deductible_is_taken_once_for_all_the_claims_of_the_event() -> None:
    deductible = Deductible(amount=D("1500"), scope=DeductibleScope.EVENT)
    loss = Loss(D("3000"), prior=PriorUse(event_deductible_used=D("1500")))
    assert settle(CoverTerms(deductible=deductible), loss).indemnity == D("3000.00")


def test_an_annual_cap_stops_deductibles_once_the_year_has_retained_it() -> None:
    # per-claim 1,000, annual cap 2,500 with 2,000 retained already → keeps 500: 4,000 − 500
    deductible = Deductible(amount=D("1000"), annual_cap=D("2500"))
    loss = Loss(D("4000"), prior=PriorUse(annual_deductible_used=D("2000")))
    assert settle(CoverTerms(deductible=deductible), loss).indemnity == D("3500.00")


def test_a_peril_deductible_replaces_the_general_one() -> None:
    terms = CoverTerms(
        deductible=Deductible(amount=D("300")),
        peril_deductibles={"glass": Deductible(amount=D("50"))},
    )
    assert settle(terms, Loss(D("700"), peril="glass")).indemnity == D("650.00")
    assert settle(terms, Loss(D("700"), peril="fire")).indemnity == D("400.00")


# --- limits ---------------------------------------------------------------------------------------


def test_aggregate_limit_reached_mid_claim_pays_the_remainder_only() -> None:
    # aggregate 20,000, 15,000 paid this year: a claim of 8,000 gets 5,000
    terms = CoverTerms(limits=Limits(annual_aggregate=D("20000")))
    result = settle(terms, Loss(D("8000"), prior=PriorUse(paid_this_year=D("15000"))))
    assert (result.indemnity, reasons(result)) == (D("5000.00"), {"aggregate_limit": D("3000.00")})


def test_an_exhausted_aggregate_pays_nothing() -> None:
    terms = CoverTerms(limits=Limits(annual_aggregate=D("20000")))
    loss = Loss(D("8000"), prior=PriorUse(paid_this_year=D("20000")))
    assert settle(terms, loss).indemnity == D("0.00")


def test_the_event_limit_counts_what_the_event_already_paid() -> None:
    terms = CoverTerms(limits=Limits(per_event=D("10000")))
    loss = Loss(D("6000"), prior=PriorUse(paid_this_event=D("7000")))
    assert reasons(settle(terms, loss)) == {"event_limit": D("3000.00")}


def test_a_sub_limit_caps_the_peril() -> None:
    terms = CoverTerms(limits=Limits(by_peril={"theft": D("2000")}))
    assert settle(terms, Loss(D("3500"), peril="theft")).indemnity == D("2000.00")
    assert settle(terms, Loss(D("3500"), peril="fire")).indemnity == D("3500.00")


def test_a_per_item_limit_caps_each_items_share_of_the_indemnity() -> None:
    # deductible 100 on 5,000 → 4,900 shared 4/5 ring, 1/5 coat: ring 3,920 → limit 1,500, coat 980
    items = (LossItem("ring", D("4000")), LossItem("coat", D("1000")))
    terms = CoverTerms(deductible=Deductible(amount=D("100")), limits=Limits(per_item=D("1500")))
    result = settle(terms, Loss(D("5000"), items=items))
    assert result.indemnity == D("2480.00")
    assert reasons(result) == {"deductible": D("100.00"), "item_limit": D("2420.00")}


def test_items_must_add_up_to_the_loss() -> None:
    with pytest.raises(InvalidInput) as error:
        settle(CoverTerms(), Loss(D("5000"), items=(LossItem("ring", D("4000")),)))
    assert error.value.field == "items"


# --- shares ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "paid"), [(D("1"), D("1500.00")), (D("0.5"), D("750.00")), (D("0"), D("0.00"))]
)
def test_the_responsibility_share_splits_the_loss(share: Decimal, paid: Decimal) -> None:
    # fleet.md IRSA example: a 1,500 side impact → 1,500 / 750 / 0
    assert settle(CoverTerms(), Loss(D("1500"), responsibility_share=share)).indemnity == paid


def test_a_co_insurer_pays_its_share_after_the_limits() -> None:
    # limit 100,000 on a 150,000 loss, share 30 % → 30,000
    terms = CoverTerms(limits=Limits(per_claim=D("100000")), coinsurance_share=D("0.30"))
    result = settle(terms, Loss(D("150000")))
    assert result.indemnity == D("30000.00")
    assert reasons(result) == {"limit": D("50000.00"), "coinsurance": D("70000.00")}


# --- explanation and rounding ---------------------------------------------------------------------


def test_every_step_writes_one_explanation_line_with_its_article() -> None:
    terms = CoverTerms(sum_insured=D("50000"))
    result = settle(terms, Loss(D("30000"), actual_value=D("80000")))
    steps = [line.step for line in result.explanation]
    assert steps[0] == "loss"
    assert steps[-1] == "indemnity"
    capital = next(line for line in result.explanation if line.step.startswith("capital rule"))
    assert "L121-5" in capital.formula
    assert capital.amount == D("18750.00")


def test_each_line_is_rounded_once_and_the_parts_still_add_up() -> None:
    # 1,000.01 × 2,000 / 3,000 = 666.673… → line 666.67; × 0.7 = 466.67133… → 466.67
    # retained: capital rule 1,000.01 − 666.67 = 333.34, co-insurance 666.67 − 466.67 = 200.00
    terms = CoverTerms(sum_insured=D("2000"), coinsurance_share=D("0.7"))
    result = settle(terms, Loss(D("1000.01"), actual_value=D("3000")))
    assert result.indemnity == D("466.67")
    assert reasons(result) == {"capital_rule": D("333.34"), "coinsurance": D("200.00")}
    assert adds_up(result)


@pytest.mark.parametrize(
    ("deductible", "field"),
    [
        (Deductible(), "deductible.amount"),
        (Deductible(amount=D("1"), rate=D("0.1")), "deductible.amount"),
        (
            Deductible(amount=D("1"), kind=DeductibleKind.SIMPLE, scope=DeductibleScope.EVENT),
            "deductible.kind",
        ),
        (Deductible(rate=D("0.1"), scope=DeductibleScope.ANNUAL), "deductible.of"),
        (Deductible(rate=D("0.1"), minimum=D("50"), maximum=D("10")), "deductible.min"),
        (Deductible(amount=D("10.001")), "deductible.amount"),
    ],
)
def test_an_incoherent_deductible_is_refused_naming_its_field(
    deductible: Deductible, field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        settle(CoverTerms(deductible=deductible), Loss(D("100")))
    assert error.value.field == field
