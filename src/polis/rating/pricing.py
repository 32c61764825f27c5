"""Contract pricing: covers → net premiums → surcharges, taxes, contributions, fees → total.

For each cover (multi-cover contracts are taxed **cover by cover**):
1. pure premium (given, in cents);
2. loadings → net premium (:func:`polis.rating.loadings.net_premium`); the contract's rate
   loadings apply to each cover, its amount loadings are charged once, on the first (main) cover
   that uses the contract loadings — so each cover's net depends on its own pure premium only and
   the total is monotone in every pure premium;
3. natural-catastrophe surcharge ``round(net × rate)`` when it applies (the line's legal default, or
   the cover's ``cat_nat`` flag); motor: on theft + fire covers, or on damage covers when the
   contract has no theft/fire cover;
4. tax ``round(base × rate)`` where ``base = net (+ surcharge when the table says the surcharge is
   taxed)``, at the rate of the cover's line on the due date.
Then for the contract: fees (accessories, taxed at the rate of ``fee_line``), contributions (fixed
per contract, optionally pro-rated; or a rate of the net premiums of the lines they name; no tax on
them). ``total = Σ net + Σ surcharges + Σ taxes + Σ contributions + Σ fees`` — every term is a
rounded line, so the sum is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money
from polis.rating.lines import (
    ContributionLine,
    FeeLine,
    PricedContract,
    PricedCover,
    SurchargeLine,
    TaxLine,
)
from polis.rating.loadings import InsurerKind, Loading, LoadingOf, net_premium
from polis.rating.taxes import CatNatClass, ContributionKind, TaxTable

__all__ = [
    "ContractPricing",
    "ContributionLine",
    "CoverPricing",
    "Fee",
    "FeeLine",
    "MotorCatNatBase",
    "PricedContract",
    "PricedCover",
    "SurchargeLine",
    "TaxLine",
    "price_contract",
]

ZERO = Decimal("0.00")


class MotorCatNatBase(StrEnum):
    """What a motor cover is for the natural-catastrophe surcharge (A125-2)."""

    THEFT_FIRE = "theft_fire"
    DAMAGE = "damage"


@dataclass(frozen=True, slots=True)
class CoverPricing:
    """One cover to price: its pure premium (cents) and how the explanation reached it."""

    id: str
    name: str
    line: str
    pure: Decimal
    cat_nat: bool | None = None
    motor_cat_nat_base: MotorCatNatBase = MotorCatNatBase.DAMAGE
    loadings: tuple[Loading, ...] | None = None
    explanation: tuple[Explanation, ...] = ()


@dataclass(frozen=True, slots=True)
class Fee:
    """A fee per contract (policy fee) or per act; an accessory of the premium (CGI 991)."""

    name: str
    amount: Decimal
    taxable: bool = True


@dataclass(frozen=True, slots=True)
class ContractPricing:
    covers: tuple[CoverPricing, ...]
    due_date: date
    loadings: tuple[Loading, ...] = ()
    insurer: InsurerKind = InsurerKind.COMPANY
    fees: tuple[Fee, ...] = ()
    contributions: tuple[str, ...] | None = None  # None: the legal defaults of the covers' lines
    contribution_fraction: Decimal | None = None  # pro-rate fixed contributions by this share
    fee_line: str | None = None  # the line whose rate taxes the fees (default: the first cover's)


def _cover_loadings(contract: ContractPricing) -> list[tuple[Loading, ...]]:
    """Each cover's loadings: its own, or the contract's.

    The contract's rate loadings apply to every cover that uses them; its amount loadings are
    charged once, on the first such cover (the main cover, like the fees on the main line), so no
    cover's loadings depend on another cover's pure premium.
    """
    result: list[tuple[Loading, ...]] = []
    first = True
    for cover in contract.covers:
        if cover.loadings is not None:
            result.append(cover.loadings)
            continue
        result.append(
            tuple(lo for lo in contract.loadings if first or lo.of is not LoadingOf.AMOUNT)
        )
        first = False
    return result


def _surcharge_key(cover: CoverPricing, cat_nat: CatNatClass, theft_fire: bool) -> str | None:
    applies = cover.cat_nat if cover.cat_nat is not None else cat_nat is not CatNatClass.NONE
    if not applies:
        return None
    if cat_nat is CatNatClass.MOTOR:
        if cover.motor_cat_nat_base is MotorCatNatBase.THEFT_FIRE:
            return "motor_theft_fire"
        return None if theft_fire else "motor_damage"
    return "property"


def _has_theft_fire(contract: ContractPricing, table: TaxTable) -> bool:
    return any(
        c.motor_cat_nat_base is MotorCatNatBase.THEFT_FIRE
        and c.cat_nat is not False
        and table.line(c.line).cat_nat is CatNatClass.MOTOR
        for c in contract.covers
    )


def _price_cover(
    index: int,
    cover: CoverPricing,
    loadings: tuple[Loading, ...],
    contract: ContractPricing,
    table: TaxTable,
    theft_fire: bool,
) -> tuple[PricedCover, list[Explanation]]:
    field = "loadings" if cover.loadings is None else f"covers[{index}].loadings"
    rule = table.line(cover.line, field=f"covers[{index}].line")
    net = net_premium(cover.pure, loadings, insurer=contract.insurer, field=field)
    steps = [*cover.explanation, *net.explanation]
    surcharges: list[SurchargeLine] = []
    key = _surcharge_key(cover, rule.cat_nat, theft_fire)
    if key is not None:
        dated = table.surcharge(key, contract.due_date)
        amount = round_money(net.net * dated.value)
        taxed = table.cat_nat_taxed
        surcharges.append(
            SurchargeLine(
                cover.id, "cat_nat", key, dated.value, net.net, amount, taxed, dated.reference
            )
        )
        note = (
            f"{rule.tax} applies to it (it is in the tax base of the cover)"
            if taxed
            else f"no {rule.tax} on it (not in the tax base)"
        )
        steps.append(
            Explanation(
                f"natural-catastrophe surcharge ({key}) on {cover.id}",
                f"net {net.net} × {dated.value} = {amount}; {note} — {dated.reference}; "
                f"taxes: {table.cat_nat_taxed_reference}",
                amount,
            )
        )
    elif cover.cat_nat is not False and rule.cat_nat is CatNatClass.MOTOR and theft_fire:
        steps.append(
            Explanation(
                f"natural-catastrophe surcharge on {cover.id}",
                "none: the motor surcharge is on the theft + fire covers of this contract",
            )
        )
    base = net.net + sum((s.amount for s in surcharges if s.taxed), ZERO)
    tax = table.tax(cover.line, contract.due_date, field=f"covers[{index}].line")
    tax_amount = round_money(base * tax.value)
    tax_line = TaxLine(cover.id, rule.tax, cover.line, tax.value, base, tax_amount, tax.reference)
    steps.append(
        Explanation(
            f"{rule.tax} on {cover.id} ({cover.line})",
            f"base {base} × {tax.value} = {tax_amount} — {tax.reference}",
            tax_amount,
        )
    )
    priced = PricedCover(
        cover.id,
        cover.name,
        cover.line,
        cover.pure,
        net.lines,
        net.net,
        tuple(surcharges),
        (tax_line,),
    )
    return priced, steps


def _fees(
    contract: ContractPricing, table: TaxTable
) -> tuple[tuple[FeeLine, ...], tuple[TaxLine, ...], list[Explanation]]:
    lines, steps = [], []
    for i, fee in enumerate(contract.fees):
        if fee.amount < 0:
            raise InvalidInput("must not be negative", field=f"fees[{i}].amount")
        amount = round_money(fee.amount)
        lines.append(FeeLine(fee.name, amount, fee.taxable))
        steps.append(Explanation(f"fee: {fee.name}", f"{amount} (itemised accessory)", amount))
    base = sum((f.amount for f in lines if f.taxable), ZERO)
    if base == 0:
        return tuple(lines), (), steps
    line = contract.fee_line or contract.covers[0].line
    rule = table.line(line, field="line")
    tax = table.tax(line, contract.due_date)
    amount = round_money(base * tax.value)
    steps.append(
        Explanation(
            f"{rule.tax} on fees ({line})",
            f"fees {base} × {tax.value} = {amount} (accessories are taxed, CGI 991) — {tax.reference}",
            amount,
        )
    )
    return (
        tuple(lines),
        (TaxLine(None, rule.tax, line, tax.value, base, amount, tax.reference),),
        steps,
    )


def _contribution_names(contract: ContractPricing, table: TaxTable) -> tuple[str, ...]:
    if contract.contributions is not None:
        return tuple(dict.fromkeys(contract.contributions))
    names: dict[str, None] = {}
    for cover in contract.covers:
        for name in table.line(cover.line).contributions:
            names[name] = None
    return tuple(names)


def _contributions(
    contract: ContractPricing, covers: Sequence[PricedCover], table: TaxTable
) -> tuple[tuple[ContributionLine, ...], list[Explanation]]:
    lines, steps = [], []
    for name in _contribution_names(contract, table):
        rule = table.contribution_rule(name)
        dated = table.contribution(name, contract.due_date)
        if rule.kind is ContributionKind.FIXED:
            fraction = contract.contribution_fraction
            amount = round_money(dated.value * (fraction if fraction is not None else 1))
            how = f"{dated.value} per contract" + (
                f" × {fraction} (pro-rated)" if fraction is not None else ""
            )
            lines.append(ContributionLine(name, rule.kind, None, None, amount, dated.reference))
        else:
            base = sum((c.net for c in covers if c.line in rule.lines), ZERO)
            amount = round_money(base * dated.value)
            how = f"net of {'/'.join(rule.lines)} covers {base} × {dated.value}"
            lines.append(
                ContributionLine(name, rule.kind, dated.value, base, amount, dated.reference)
            )
        steps.append(
            Explanation(
                f"contribution: {name}",
                f"{how} = {amount} (no tax on contributions) — {dated.reference}",
                amount,
            )
        )
    return tuple(lines), steps


def price_contract(contract: ContractPricing, table: TaxTable) -> PricedContract:
    """Price every cover, then fees and contributions; lines rounded, total exact."""
    if not contract.covers:
        raise InvalidInput("a contract needs at least one cover", field="covers")
    for i, cover in enumerate(contract.covers):
        table.line(cover.line, field=f"covers[{i}].line")
    theft_fire = _has_theft_fire(contract, table)
    priced: list[PricedCover] = []
    steps: list[Explanation] = []
    for i, (cover, loadings) in enumerate(
        zip(contract.covers, _cover_loadings(contract), strict=True)
    ):
        cover_priced, cover_steps = _price_cover(i, cover, loadings, contract, table, theft_fire)
        priced.append(cover_priced)
        steps.extend(cover_steps)
    fees, fee_taxes, fee_steps = _fees(contract, table)
    contributions, contribution_steps = _contributions(contract, priced, table)
    result = PricedContract(contract.due_date, tuple(priced), fees, fee_taxes, contributions, ())
    total_line = Explanation(
        "total premium",
        f"net {result.net_premium} + surcharges {sum((s.amount for s in result.surcharges), ZERO)}"
        f" + taxes {sum((t.amount for t in result.taxes), ZERO)}"
        f" + contributions {sum((c.amount for c in contributions), ZERO)}"
        f" + fees {sum((f.amount for f in fees), ZERO)} = {result.total_premium}",
        result.total_premium,
    )
    explanation = (*steps, *fee_steps, *contribution_steps, total_line)
    return PricedContract(
        contract.due_date, tuple(priced), fees, fee_taxes, contributions, explanation
    )
