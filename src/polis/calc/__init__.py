"""Calculators: pure functions with the stable JSON shapes of contracts.md.

``CALCULATORS`` lists them for the entrypoints: adding a calculator is one module here and one
entry in that table; the HTTP route and the CLI command follow.
"""

from polis.calc.crm import CrmRequest, CrmResponse, crm
from polis.calc.floating import FloatingRequest, FloatingResponse, floating
from polis.calc.life import LifeRequest, LifeResponse, life
from polis.calc.motor_claim import MotorClaimRequest, MotorClaimResponse, motor_claim
from polis.calc.ondemand_breakeven import (
    BreakEvenRequest,
    BreakEvenResponse,
    on_demand_vs_annual,
)
from polis.calc.premium import PremiumRequest, PremiumResponse, premium
from polis.calc.registry import Calculator
from polis.calc.settlement import SettlementRequest, SettlementResponse, settlement

__all__ = [
    "CALCULATORS",
    "BreakEvenRequest",
    "BreakEvenResponse",
    "Calculator",
    "CrmRequest",
    "CrmResponse",
    "FloatingRequest",
    "FloatingResponse",
    "LifeRequest",
    "LifeResponse",
    "MotorClaimRequest",
    "MotorClaimResponse",
    "PremiumRequest",
    "PremiumResponse",
    "SettlementRequest",
    "SettlementResponse",
    "crm",
    "floating",
    "life",
    "motor_claim",
    "on_demand_vs_annual",
    "premium",
    "settlement",
]

CALCULATORS: dict[str, Calculator] = {
    "crm": Calculator(
        name="crm",
        summary="Bonus-malus (CRM) coefficient year by year",
        description="French coefficient de réduction-majoration (annex to art. A121-1 Code des "
        "assurances): the coefficient after each annual reference period, every step explained.",
        request=CrmRequest,
        response=CrmResponse,
        run=crm,
        example={
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
        },
    ),
    "life": Calculator(
        name="life",
        summary="Life pure premiums on the French regulatory mortality tables",
        description="Single and level annual pure premiums of term, whole life, pure endowment, "
        "endowment and life annuity-due covers on TH00-02/TF00-02 or TGH05/TGF05 (by birth year), "
        "with the regulatory age shifts and the A. 132-1 technical-rate check; the tables are "
        "read from POLIS_DATA_DIR.",
        request=LifeRequest,
        response=LifeResponse,
        run=life,
        example={
            "table": "TH00-02",
            "age": 40,
            "sum_assured": "100000",
            "interest_rate": "0.02",
            "cover": "term",
            "term_years": 10,
            "premium": "level_annual",
            "timing": "end_of_year",
        },
    ),
    "floating": Calculator(
        name="floating",
        summary="Floating stock policy: provisional premium, declarations, regularisation",
        description="Police flottante / d'abonnement on stock: provisional premium on the forecast "
        "value, periodic declarations (late and missing ones flagged, missing values by the "
        "contract's rule), and the premium calls of the révisable, ajustable or compte courant "
        "variant up to the closing regularisation; net premiums (taxes excluded), every step "
        "explained.",
        request=FloatingRequest,
        response=FloatingResponse,
        run=floating,
        example={
            "variant": "revisable",
            "period": {"start": "2025-01-01", "end": "2026-01-01"},
            "rate": "0.004",
            "forecast_value": "3000000",
            "sum_insured": "4000000",
            "frequency": "quarterly",
            "statistic": "mean",
            "missing_rule": "last_value",
            "grace_days": 15,
            "instalments": 2,
            "declarations": [
                {"period_start": "2025-01-01", "value": "2800000", "received": "2025-04-10"},
                {"period_start": "2025-04-01", "value": "3200000", "received": "2025-07-08"},
                {"period_start": "2025-07-01", "value": "3000000", "received": "2025-10-15"},
                {"period_start": "2025-10-01", "value": "3500000", "received": "2026-01-12"},
            ],
        },
    ),
    "premium": Calculator(
        name="premium",
        summary="Premium: pure premium → net premium → total premium with French taxes",
        description="The three layers of a premium (seed 002): pure premium (amount, technical rate "
        "× basis under a valuation, frequency × mean cost, short units with a minimum), commercial "
        "loadings (amounts, % of pure, % of net; mutual or company), then the natural-catastrophe "
        "surcharge, taxes by line (TSCA, TSA) and contributions (FGTI, FGAO) read from the dated "
        "table for the due date, cover by cover; every line rounded once and explained with its "
        "legal reference.",
        request=PremiumRequest,
        response=PremiumResponse,
        run=premium,
        example={
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
        },
    ),
    "settlement": Calculator(
        name="settlement",
        summary="Claim settlement: from the loss to the indemnity, every retained euro itemised",
        description="Cover check (window, peril, exclusions, waiting period) → VAT → valuation "
        "and indemnity principle (L121-1) → premium rule (L113-9) → capital rule (L121-5, unless "
        "first loss, agreed value or within the tolerance) → deductible → limits → shares "
        "(responsibility, co-insurance, L121-4 contributions); intentional misstatement → nullity "
        "(L113-8). indemnity + Σ retained = loss amount, to the cent.",
        request=SettlementRequest,
        response=SettlementResponse,
        run=settlement,
        example={
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
        },
    ),
    "motor-claim": Calculator(
        name="motor-claim",
        summary="Motor claim: which cover, total loss (VEI) offer and dates, theft wait, bonus-malus",
        description="Glass-only vs break-in with theft (which cover and deductible), total loss "
        "when the repair exceeds the expert's value (offer = VRADE − deductible, offer within 15 "
        "days of the report, answer within 30 days), theft payable after the contractual wait "
        "(repairs if found within it), and the coefficient next year with and without the claim "
        "with the extra premium until the coefficients merge.",
        request=MotorClaimRequest,
        response=MotorClaimResponse,
        run=motor_claim,
        example={
            "event": "break_in",
            "occurred_on": "2025-03-10",
            "declared_on": "2025-03-11",
            "repair_cost": "650",
            "covers": {
                "damage": {"deductible": {"amount": "500"}},
                "theft": {"deductible": {"amount": "300"}},
                "glass": {"deductible": {"amount": "80"}},
            },
            "bonus_malus": {"coefficient": "0.80", "reference_premium": "600"},
        },
    ),
    "on-demand-vs-annual": Calculator(
        name="on-demand-vs-annual",
        summary="On-demand cover vs an annual contract: yearly costs and the switching threshold",
        description="For a usage pattern (hours or days per month, in sessions), the yearly cost of "
        "on-demand cover — a product sold on demand with its minimum charge, daily cap, volume "
        "tiers, fees and taxes, or given prices taxes included — against an annual premium; the "
        "cheaper option and the monthly usage above which the annual contract is cheaper, with "
        "a cost curve for a plot.",
        request=BreakEvenRequest,
        response=BreakEvenResponse,
        run=on_demand_vs_annual,
        example={
            "usage": {"unit": "hour", "per_month": "12", "session_length": "4"},
            "on_demand": {
                "product": "equipment-micro",
                "risk": {"equipment": "camera"},
                "sum_insured": "1000",
                "as_of": "2025-09-01",
            },
            "annual_premium": "180.00",
        },
    ),
}
