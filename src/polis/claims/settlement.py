"""The settlement engine: (cover terms, loss facts) → indemnity, every retained euro itemised.

Pure and deterministic, exact in ``Decimal``. The order (docs/claims.md, each step one explanation
line with its article):

1. cover check (:func:`polis.claims.cover.check_cover`): refused → everything retained as
   ``not_covered``; then an intentional misstatement voids the contract (L113-8): everything retained
   as ``nullity``;
2. VAT, valuation, indemnity principle (L121-1) (:mod:`polis.claims.valuation`) → the *valued loss*;
3. premium rule (L113-9), capital rule (L121-5) (:mod:`polis.claims.rules`);
4. deductible (:mod:`polis.claims.deductibles`);
5. limits: per item, sub-limit of the peril, per claim, per event, annual aggregate
   (:mod:`polis.claims.limits`);
6. shares: ``× responsibility_share``, ``× coinsurance_share``, then this insurer's L121-4
   contribution when other insurers cover the same interest.

Rounding: the running amount is carried exactly; each line shows it rounded half-up to the cent
once, and each retained amount is the difference of two consecutive lines. Hence, always,
``indemnity + Σ retained == loss amount`` to the cent, and the indemnity is monotone in the loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from polis.claims.cover import CoverDecision, CoverTerms, check_cover
from polis.claims.deductibles import deductible_step
from polis.claims.limits import LossItem, limit_steps, validate_items, validate_limits
from polis.claims.rules import (
    Contribution,
    Misstatement,
    OtherInsurer,
    capital_rule_step,
    other_insurers_step,
    premium_rule_step,
)
from polis.claims.steps import RetainedReason, Step, check_money, check_rate, show
from polis.claims.valuation import (
    ValuationBasis,
    Vat,
    indemnity_principle_step,
    valuation_step,
    vat_step,
)
from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money

__all__ = ["Loss", "PriorUse", "Retained", "Settlement", "settle"]

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class PriorUse:
    """What earlier claims of the same year / event already used (for aggregates)."""

    paid_this_year: Decimal = ZERO
    paid_this_event: Decimal = ZERO
    annual_deductible_used: Decimal = ZERO
    event_deductible_used: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Loss:
    """The facts of one claim.

    ``amount``: the loss as stated (incl. or excl. VAT per ``vat``), in cents. ``at``/``peril``/
    ``circumstances``: for the cover check (skipped when ``at`` is ``None``); ``peril`` also picks
    the peril's deductible and sub-limit. ``actual_value``: the value of the insured thing(s) at the
    time of loss (L121-1 cap and capital rule). ``depreciation_rate``/``age_years``/
    ``value_at_loss``: the valuation facts (expert's rate, age for the schedule, market/expert/
    agreed value). ``responsibility_share``: the share of the loss this cover bears by reason of
    responsibility (1 = all).
    """

    amount: Decimal
    vat: Vat = field(default_factory=Vat)
    at: datetime | None = None
    peril: str | None = None
    circumstances: tuple[str, ...] = ()
    actual_value: Decimal | None = None
    depreciation_rate: Decimal | None = None
    age_years: Decimal | None = None
    value_at_loss: Decimal | None = None
    misstatement: Misstatement | None = None
    items: tuple[LossItem, ...] = ()
    responsibility_share: Decimal = ONE
    other_insurers: tuple[OtherInsurer, ...] = ()
    prior: PriorUse = field(default_factory=PriorUse)


@dataclass(frozen=True, slots=True)
class Retained:
    """One part of the loss that stays with the insured, and why."""

    reason: RetainedReason
    amount: Decimal
    label: str


@dataclass(frozen=True, slots=True)
class Settlement:
    """``indemnity + Σ retained == loss_amount``; ``valued_loss`` is ``None`` when the claim was
    refused before valuation."""

    loss_amount: Decimal
    indemnity: Decimal
    retained: tuple[Retained, ...]
    valued_loss: Decimal | None
    cover: CoverDecision | None
    contributions: tuple[Contribution, ...]
    explanation: tuple[Explanation, ...]
    notes: tuple[str, ...] = ()

    def retained_by(self, reason: RetainedReason) -> Decimal:
        """Σ of the retained lines with this reason (``0.00`` when none)."""
        return sum((r.amount for r in self.retained if r.reason is reason), Decimal("0.00"))


class _Ledger:
    """The running amount (exact) and the lines written so far."""

    def __init__(self, amount: Decimal) -> None:
        self.exact = amount
        self.lines: list[Explanation] = []
        self.retained: list[Retained] = []
        self.notes: list[str] = []
        self.valued: Decimal | None = None
        self.contributions: tuple[Contribution, ...] = ()

    def apply(self, step: Step) -> Decimal:
        before, after = round_money(self.exact), round_money(step.after)
        formula = f"{step.formula} [{step.reference}]" if step.reference else step.formula
        self.lines.append(Explanation(step.name, formula, after))
        if before != after:
            self.retained.append(Retained(step.reason, before - after, step.name))
        self.exact = step.after
        return step.after

    def result(self, loss: Loss, cover: CoverDecision | None) -> Settlement:
        indemnity = round_money(self.exact)
        kept = sum((r.amount for r in self.retained), Decimal("0.00"))
        self.lines.append(
            Explanation(
                "indemnity",
                f"loss {show(loss.amount)} − retained {show(kept)} = {show(indemnity)}",
                indemnity,
            )
        )
        return Settlement(
            loss_amount=loss.amount,
            indemnity=indemnity,
            retained=tuple(self.retained),
            valued_loss=None if self.valued is None else round_money(self.valued),
            cover=cover,
            contributions=self.contributions,
            explanation=tuple(self.lines),
            notes=tuple(self.notes),
        )


def _validate(terms: CoverTerms, loss: Loss) -> None:
    check_money(loss.amount, "loss.amount")
    check_money(loss.actual_value, "actual_value")
    check_money(terms.sum_insured, "sum_insured")
    check_rate(terms.tolerance, "tolerance", upper=None)
    check_rate(loss.responsibility_share, "responsibility_share")
    check_rate(terms.coinsurance_share, "coinsurance_share")
    validate_items(loss.items, loss.amount)
    validate_limits(terms.limits)
    prior = loss.prior
    for name in (
        "paid_this_year",
        "paid_this_event",
        "annual_deductible_used",
        "event_deductible_used",
    ):
        check_money(getattr(prior, name), name)


def _cover_decision(terms: CoverTerms, loss: Loss) -> CoverDecision | None:
    if loss.at is None:
        return None
    if loss.peril is None:
        raise InvalidInput("the cover check needs the peril", field="cover.peril")
    return check_cover(terms, loss.at, loss.peril, loss.circumstances)


def _refused(ledger: _Ledger, loss: Loss, cover: CoverDecision | None) -> bool:
    """Write the refusal (not covered, or void by L113-8) and say whether there was one."""
    if cover is not None:
        ledger.lines.extend(cover.explanation)
        if not cover.covered:
            why = f"not covered ({cover.reason}): the whole loss {show(loss.amount)} is retained"
            ledger.apply(Step("not covered", why, ZERO, RetainedReason.NOT_COVERED, "cover check"))
            return True
    if loss.misstatement is not None and loss.misstatement.intentional:
        why = (
            "intentional misstatement: the contract is void, no indemnity (premiums kept); "
            f"the whole loss {show(loss.amount)} is retained"
        )
        ledger.apply(Step("nullity (L113-8)", why, ZERO, RetainedReason.NULLITY, "L113-8"))
        return True
    return False


def _valuation_phase(terms: CoverTerms, loss: Loss, ledger: _Ledger) -> Decimal:
    vat, note = vat_step(loss.amount, loss.vat)
    ledger.apply(vat)
    if note is not None:
        ledger.notes.append(note)
    ledger.apply(
        valuation_step(
            ledger.exact,
            terms.valuation_basis,
            depreciation_rate=loss.depreciation_rate,
            age_years=loss.age_years,
            schedule=terms.depreciation_schedule,
            value=loss.value_at_loss,
        )
    )
    valued = ledger.apply(
        indemnity_principle_step(ledger.exact, loss.actual_value, terms.valuation_basis)
    )
    ledger.valued = valued
    return valued


def _rules_phase(terms: CoverTerms, loss: Loss, ledger: _Ledger) -> None:
    ledger.apply(premium_rule_step(ledger.exact, loss.misstatement))
    agreed = terms.agreed_value or terms.valuation_basis is ValuationBasis.AGREED
    ledger.apply(
        capital_rule_step(
            ledger.exact,
            sum_insured=terms.sum_insured,
            actual_value=loss.actual_value,
            first_loss=terms.first_loss,
            agreed_value=agreed,
            tolerance=terms.tolerance,
        )
    )


def _deductible_and_limits(terms: CoverTerms, loss: Loss, ledger: _Ledger, valued: Decimal) -> None:
    deductible, where = terms.deductible_for(loss.peril)
    step = deductible_step(
        ledger.exact,
        deductible,
        loss=valued,
        sum_insured=terms.sum_insured,
        annual_used=loss.prior.annual_deductible_used,
        event_used=loss.prior.event_deductible_used,
        field=where,
    )
    ledger.apply(step)
    for limit in limit_steps(
        ledger.exact,
        terms.limits,
        items=loss.items,
        peril=loss.peril,
        paid_this_event=loss.prior.paid_this_event,
        paid_this_year=loss.prior.paid_this_year,
    ):
        ledger.apply(limit)


def _share(amount: Decimal, share: Decimal, name: str, reason: RetainedReason, ref: str) -> Step:
    if share == ONE:
        return Step(name, "100 %: no reduction", amount, reason, ref)
    after = amount * share
    return Step(name, f"{show(amount)} × {show(share)} = {show(after)}", after, reason, ref)


def _shares_phase(terms: CoverTerms, loss: Loss, ledger: _Ledger, valued: Decimal) -> None:
    ledger.apply(
        _share(
            ledger.exact,
            loss.responsibility_share,
            "responsibility share",
            RetainedReason.RESPONSIBILITY,
            "liability / IRSA split",
        )
    )
    ledger.apply(
        _share(
            ledger.exact,
            terms.coinsurance_share,
            "co-insurance share",
            RetainedReason.COINSURANCE,
            "co-insurance clause",
        )
    )
    if loss.other_insurers:
        step, shares = other_insurers_step(ledger.exact, valued, loss.other_insurers)
        ledger.apply(step)
        ledger.contributions = shares


def settle(terms: CoverTerms, loss: Loss, *, cover: CoverDecision | None = None) -> Settlement:
    """Settle one claim in the documented order (module docstring).

    ``cover``: a cover decision already taken (e.g. at declaration); when ``None`` the check runs
    if ``loss.at`` is set. Raises ``InvalidInput`` naming the request field on bad input.
    """
    _validate(terms, loss)
    ledger = _Ledger(loss.amount)
    stated = "incl." if loss.vat.amount_includes_vat else "excl."
    ledger.lines.append(
        Explanation("loss", f"loss as stated, {stated} VAT: {show(loss.amount)}", loss.amount)
    )
    decision = cover if cover is not None else _cover_decision(terms, loss)
    if _refused(ledger, loss, decision):
        return ledger.result(loss, decision)
    valued = _valuation_phase(terms, loss, ledger)
    _rules_phase(terms, loss, ledger)
    _deductible_and_limits(terms, loss, ledger, valued)
    _shares_phase(terms, loss, ledger, valued)
    return ledger.result(loss, decision)
