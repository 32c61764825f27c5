"""Quote use case: rate a risk against a catalogue product → a JSON-ready quote view.

Quotes are computed, not stored (nothing to commit yet): the service picks the product version
(the one given, or the latest valid on ``as_of``), runs :func:`polis.policies.quote_risk` and
serialises every line. ``as_of`` (the premium's due date) defaults to today in Europe/Paris.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import Field

from polis.calc._base import CalcModel, ExplanationLine, parse_request
from polis.calc.life import life
from polis.calc.premium import DecimalIn, PeriodOut, RegularisationOut
from polis.calc.premium_lines import (
    ContributionOut,
    CoverOut,
    FeeOut,
    LoadingOut,
    Money,
    Rate,
    SurchargeOut,
    TaxOut,
    contract_lines,
    explanation_lines,
)
from polis.kernel.time import to_local, utc_now
from polis.policies.catalogue import Catalogue, default_catalogue
from polis.policies.quote import Quote, quote_risk
from polis.policies.risk import RiskValue
from polis.policies.tariff import CoverTariff, LifeCoverSpec, LifePricer
from polis.rating.pure import Unit
from polis.rating.taxes import TaxTable

__all__ = [
    "FactorOut",
    "ProductSummary",
    "QuoteRequest",
    "QuoteView",
    "TariffOut",
    "get_product",
    "life_calculator_pricer",
    "list_products",
    "quote",
    "quote_request",
    "quote_view",
]


class QuoteRequest(CalcModel):
    """``POST /v1/quotes`` body and ``polis quote`` input."""

    product: str = Field(min_length=1, max_length=64)
    version: str | None = Field(default=None, max_length=32)
    risk: dict[str, Any]
    as_of: dt.date | None = None
    tax_overrides: dict[str, DecimalIn | bool] | None = None


class FactorOut(CalcModel):
    name: str
    key: str
    factor: Rate


class TariffOut(CalcModel):
    """How a cover's pure premium was reached (steps 1–6 of ``polis.policies.tariff``)."""

    cover: str
    basis_kind: str | None
    basis_label: str | None
    basis: Rate | None
    base: Rate
    factors: list[FactorOut]
    unit: str
    quantity: Rate | None
    time_factor: Rate | None
    minimum: Money | None
    exact: Rate
    pure_premium: Money


class QuoteView(CalcModel):
    product: str
    version: str
    product_sha256: str | None
    insurer: str
    as_of: dt.date
    period: PeriodOut | None
    risk: dict[str, Any]
    tariff: list[TariffOut]
    pure_premium: Money
    loadings: list[LoadingOut]
    net_premium: Money
    surcharges: list[SurchargeOut]
    taxes: list[TaxOut]
    contributions: list[ContributionOut]
    fees: list[FeeOut]
    total_premium: Money
    covers: list[CoverOut]
    regularisation: RegularisationOut | None
    tax_table_version: str
    explanation: list[ExplanationLine]


class ProductSummary(CalcModel):
    id: str
    version: str
    name_fr: str
    name_en: str
    insurer: str
    lines: list[str]
    units: list[str]
    valid_from: dt.date
    valid_until: dt.date | None
    covers: list[str]
    sha256: str


def _json_value(value: RiskValue) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return [format(v, "f") for v in value]
    return value


def _tariff(t: CoverTariff) -> TariffOut:
    return TariffOut(
        cover=t.cover_id,
        basis_kind=t.basis.kind if t.basis else None,
        basis_label=t.basis.label if t.basis else None,
        basis=t.basis.amount if t.basis else None,
        base=t.base,
        factors=[FactorOut(name=f.name, key=f.key, factor=f.factor) for f in t.factors],
        unit=t.unit.value,
        quantity=t.quantity,
        time_factor=None if t.time is None else t.time.value,
        minimum=t.minimum,
        exact=t.exact,
        pure_premium=t.pure,
    )


def quote_view(q: Quote) -> QuoteView:
    """Every line of a quote as JSON-ready models."""
    annual = any(t.unit is Unit.YEAR for t in q.tariffs)
    period = PeriodOut(
        start=q.period_start, end=q.period_end, days=(q.period_end - q.period_start).days
    )
    regular = None
    if q.regularisation is not None:
        r = q.regularisation
        regular = RegularisationOut(
            statistic=r.statistic.value,
            declared_value=r.declared_value,
            final_premium=r.final_premium,
            provisional_premium=r.provisional_premium,
            amount=r.amount,
        )
    return QuoteView(
        product=q.product_id,
        version=q.version,
        product_sha256=q.product_sha256,
        insurer=q.insurer.value,
        as_of=q.as_of,
        period=period if annual else None,
        risk={k: _json_value(v) for k, v in q.risk.items()},
        tariff=[_tariff(t) for t in q.tariffs],
        regularisation=regular,
        tax_table_version=q.tax_table_version,
        explanation=explanation_lines(q.explanation),
        **contract_lines(q.priced),
    )


def _today() -> dt.date:
    return to_local(utc_now()).date()


def life_calculator_pricer(spec: LifeCoverSpec, risk: Mapping[str, RiskValue]) -> Decimal:
    """The default life pricer: the ``life`` calculator (tables read from ``POLIS_DATA_DIR``).

    Returns the level annual premium for ``premium = "level_annual"`` covers, else the single one.
    """
    response = life(spec.as_request())
    if spec.premium == "level_annual" and response.annual_premium is not None:
        return Decimal(response.annual_premium)
    return Decimal(response.single_premium)


def quote(
    product_id: str,
    risk: Mapping[str, Any],
    *,
    version: str | None = None,
    as_of: dt.date | None = None,
    tax_overrides: Mapping[str, Decimal | bool] | None = None,
    taxes: TaxTable | None = None,
    life_pricer: LifePricer | None = None,
    catalogue: Catalogue | None = None,
) -> QuoteView:
    """Quote ``risk`` on product ``product_id`` (``version`` or the latest valid on ``as_of``).

    Raises ``ProductNotFound`` (404) for an unknown product or version, ``InvalidInput`` naming
    ``risk.<field>``, ``as_of``, ``due_date`` or ``tax_overrides.<key>``, and
    ``LifePricerMissing`` for a life product when no ``life_pricer`` is wired.
    """
    day = as_of or _today()
    entry = (catalogue or default_catalogue()).get(
        product_id, version, as_of=None if version else day
    )
    result = quote_risk(
        entry.product,
        risk,
        as_of=day,
        life_pricer=life_pricer or life_calculator_pricer,
        taxes=taxes,
        tax_overrides=tax_overrides,
        product_sha256=entry.sha256,
    )
    return quote_view(result)


def quote_request(
    request: QuoteRequest | dict[str, Any],
    *,
    taxes: TaxTable | None = None,
    life_pricer: LifePricer | None = None,
    catalogue: Catalogue | None = None,
) -> QuoteView:
    """:func:`quote` from the JSON body ``{"product", "version"?, "risk", "as_of"?, "tax_overrides"?}``."""
    req = parse_request(QuoteRequest, request)
    return quote(
        req.product,
        req.risk,
        version=req.version,
        as_of=req.as_of,
        tax_overrides=req.tax_overrides,
        taxes=taxes,
        life_pricer=life_pricer,
        catalogue=catalogue,
    )


def list_products(catalogue: Catalogue | None = None) -> list[ProductSummary]:
    """Every product version of the catalogue."""
    return [
        ProductSummary(
            id=e.product.id,
            version=e.product.version,
            name_fr=e.product.name.fr,
            name_en=e.product.name.en,
            insurer=e.product.insurer.value,
            lines=list(e.product.lines),
            units=[u.value for u in e.product.units],
            valid_from=e.product.valid_from,
            valid_until=e.product.valid_until,
            covers=[c.id for c in e.product.covers],
            sha256=e.sha256,
        )
        for e in (catalogue or default_catalogue()).entries()
    ]


def get_product(
    product_id: str, version: str | None = None, catalogue: Catalogue | None = None
) -> dict[str, Any]:
    """The full product (its TOML content as JSON) with its version hash."""
    entry = (catalogue or default_catalogue()).get(product_id, version)
    body: dict[str, Any] = entry.product.model_dump(mode="json")
    body["sha256"] = entry.sha256
    return body
