"""``settlement`` calculator (contracts.md): from a loss to an indemnity, every retained euro itemised.

The contracts.md fields keep their names (``loss``, ``valuation``, ``sum_insured``, ``actual_value``,
``first_loss``, ``agreed_value``, ``tolerance``, ``misstatement``, ``deductible``, ``limit``,
``annual_aggregate_limit``, ``paid_this_year``). Added, all optional: ``valuation.schedule`` /
``age_years`` / ``value``; ``deductible.of`` / ``scope`` / ``annual_cap``; ``peril_deductibles``;
``limits`` (``per_event``, ``per_item``); ``sub_limits`` (by peril); ``items``; ``peril``;
``paid_this_event``; ``annual_deductible_used``; ``event_deductible_used``; ``responsibility_share``;
``coinsurance_share``; ``other_insurers``; ``cover`` (cover check: ``terms``, ``loss_at``, ``peril``,
``circumstances``, and ``declared_at``/``known_at`` for the declaration deadline); ``cumul_clause``
(``primary`` | ``excess`` | ``contribution``: this contract tops up a base contract) and
``other_insurance`` (the base contract: ``name`` and what it pays alone, ``alone``, or its own
``settlement`` request, settled as if alone) — the response then has ``cumul`` and the indemnity is
this contract's share (:mod:`polis.claims.cumul`).

The engine is :func:`polis.claims.settle`; this calculator validates, converts and serialises. Money
is a JSON string with 2 decimals. The request models and their conversion to the domain live in
:mod:`polis.calc.settlement_in`, the response models in :mod:`polis.calc.settlement_out`, the JSON
scalars (money, rates, instants) in :mod:`polis.calc.settlement_types`; this module holds the cumul
clause with other insurance and :func:`settlement`, and re-exports the names other modules use.
"""

from __future__ import annotations

from typing import Any

from polis.calc._base import parse_request
from polis.calc.settlement_in import (
    CoverIn,
    CoverTermsIn,
    DeductibleIn,
    OtherInsuranceIn,
    SettlementRequest,
    to_cover_terms,
    to_deductible,
    to_loss,
    to_terms,
)
from polis.calc.settlement_out import (
    CumulOut,
    DeclarationOut,
    SettlementResponse,
    explanation_lines,
    response_of,
)
from polis.calc.settlement_types import Money2, MoneyIn, NonNegativeIn, RateIn
from polis.claims import (
    CoverTerms,
    CumulShare,
    Settlement,
    apply_cumul,
    check_declaration,
    settle,
    split_cumul,
)
from polis.kernel.errors import InvalidInput

__all__ = [
    "CoverIn",
    "CoverTermsIn",
    "CumulOut",
    "DeductibleIn",
    "Money2",
    "MoneyIn",
    "NonNegativeIn",
    "OtherInsuranceIn",
    "RateIn",
    "SettlementRequest",
    "SettlementResponse",
    "explanation_lines",
    "response_of",
    "settlement",
    "to_cover_terms",
    "to_deductible",
    "to_loss",
    "to_terms",
    "with_other_insurance",
]


def _declaration(req: SettlementRequest, terms: CoverTerms) -> DeclarationOut | None:
    cover = req.cover
    if cover is None or cover.declared_at is None:
        return None
    known = cover.known_at or cover.loss_at
    c = check_declaration(terms.declaration_deadlines, cover.peril, known, cover.declared_at)
    return DeclarationOut(
        peril=c.peril,
        known_on=c.known_on,
        declared_on=c.declared_on,
        due=c.due,
        late=c.late,
        explanation=c.explanation,
    )


def _base_settlement(req: SettlementRequest, other: OtherInsuranceIn) -> Settlement:
    """The base contract settled as if alone, from ``other_insurance.settlement``."""
    where = "other_insurance.settlement"
    body = {"loss": req.loss.model_dump(mode="json"), **(other.settlement or {})}
    if "other_insurance" in body or "cumul_clause" in body:
        nested = "other_insurance" if "other_insurance" in body else "cumul_clause"
        raise InvalidInput("the base contract is settled alone", field=f"{where}.{nested}")
    try:
        base = parse_request(SettlementRequest, body)
    except InvalidInput as e:
        raise InvalidInput(e.message, field=f"{where}.{e.field}") from e
    if base.loss.amount != req.loss.amount:
        raise InvalidInput(
            f"the same loss {req.loss.amount} is settled by both covers",
            field=f"{where}.loss.amount",
        )
    try:
        return settle(to_terms(base), to_loss(base))
    except InvalidInput as e:
        raise InvalidInput(e.message, field=f"{where}.{e.field}") from e


def with_other_insurance(
    req: SettlementRequest, result: Settlement
) -> tuple[Settlement, CumulShare | None, Settlement | None]:
    """This contract's settlement under its cumul clause when ``other_insurance`` is given."""
    other = req.other_insurance
    if other is None:
        return result, None, None
    if req.other_insurers:
        raise InvalidInput(
            "give other_insurers (L121-4 between insurers) or other_insurance (a base contract "
            "under the cumul clause), not both",
            field="other_insurance",
        )
    if (other.alone is None) == (other.settlement is None):
        raise InvalidInput("give exactly one of alone or settlement", field="other_insurance.alone")
    base = None if other.settlement is None else _base_settlement(req, other)
    alone = other.alone if base is None else base.indemnity
    assert alone is not None
    if alone > result.loss_amount:
        raise InvalidInput(
            f"{alone} alone is more than the loss {result.loss_amount}",
            field="other_insurance.alone",
        )
    share = split_cumul(
        result.loss_amount, alone, result.indemnity, req.cumul_clause, base_name=other.name
    )
    return apply_cumul(result, share), share, base


def settlement(request: SettlementRequest | dict[str, Any]) -> SettlementResponse:
    """Settle one claim: cover check → VAT → valuation → L113-9 → L121-5 → deductible → limits →
    shares (docs/claims.md). Raises ``InvalidInput`` naming the field (e.g. ``deductible.kind``)."""
    req = parse_request(SettlementRequest, request)
    terms = to_terms(req)
    result, cumul, base = with_other_insurance(req, settle(terms, to_loss(req)))
    return response_of(result, _declaration(req, terms), cumul, base)
