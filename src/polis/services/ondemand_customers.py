"""On-demand customers: onboarding (persons, businesses with a Luhn-checked SIREN/SIRET),
verification, and the limits of their tier (``polis.ondemand.customers`` / ``.limits``).

Each use case runs in one unit of work and commits once, with an audit entry on the tenant's chain
(``entity_type="customer"``). A customer of another tenant is not found (``customer.not_found``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from polis.calc._base import parse_request
from polis.kernel.errors import InvalidInput, NotFound
from polis.kernel.time import ensure_utc, utc_now
from polis.ondemand.customers import (
    Address,
    Customer,
    CustomerKind,
    VerificationStatus,
    new_business,
    new_person,
    transition,
    validate_siret,
)
from polis.ondemand.limits import CustomerHistory, CustomerLimits, limits_for
from polis.services import audit
from polis.store.tables_ondemand import OnDemandCustomerRow
from polis.store.uow import UnitOfWork

__all__ = [
    "AddressIn",
    "CustomerIn",
    "CustomerView",
    "LimitsView",
    "VerificationIn",
    "create_customer",
    "customer_history",
    "customer_of",
    "customer_view",
    "get_customer",
    "list_customers",
    "require_customer",
    "set_verification",
]

_MAX_PAGE = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddressIn(_Strict):
    line1: str = Field(min_length=1, max_length=200, examples=["12 rue des Lilas"])
    line2: str | None = Field(default=None, max_length=200)
    postcode: str = Field(min_length=1, max_length=20, examples=["69003"])
    city: str = Field(min_length=1, max_length=100, examples=["Lyon"])
    country: str = Field(default="FR", min_length=2, max_length=2)


class CustomerIn(_Strict):
    """``POST /v1/customers`` body and ``polis customer create`` input.

    A business gives its SIREN, or the SIRET of its establishment (the SIREN is then its first
    nine digits), or both; both are checked with the Luhn key (La Poste's rule for its SIRETs).
    """

    kind: CustomerKind
    name: str = Field(min_length=1, max_length=200, examples=["Studio Lumière SARL"])
    activity: str = Field(min_length=1, max_length=200, examples=["wedding photographer"])
    address: AddressIn
    siren: str | None = Field(default=None, max_length=20, examples=["732829320"])
    siret: str | None = Field(default=None, max_length=20, examples=["73282932000074"])
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    language: Literal["fr", "en"] = "fr"


class VerificationIn(_Strict):
    """``POST /v1/customers/{id}/verify`` body: the new status (default ``verified``)."""

    status: VerificationStatus = VerificationStatus.VERIFIED
    reason: str | None = Field(default=None, max_length=500)


class LimitsView(_Strict):
    tier: str
    max_sum_insured: str
    max_liability_limit: str
    max_activations_per_day: int
    next_tier: str | None
    explanation: list[str]


class CustomerView(_Strict):
    id: str
    kind: CustomerKind
    name: str
    activity: str
    address: dict[str, Any]
    siren: str | None
    siret: str | None
    email: str | None
    language: Literal["fr", "en"]
    status: VerificationStatus
    status_reason: str | None
    verified_at: datetime | None
    created_at: datetime
    limits: LimitsView


Page = Annotated[int, Field(ge=1, le=_MAX_PAGE)]


def _now(now: datetime | None) -> datetime:
    return ensure_utc(now, field="now") if now is not None else utc_now()


def customer_of(row: OnDemandCustomerRow) -> Customer:
    """The domain customer of a row."""
    address = json.loads(row.address)
    return Customer(
        id=row.id,
        kind=CustomerKind(row.kind),
        name=row.name,
        activity=row.activity,
        address=Address(
            address["line1"],
            address["postcode"],
            address["city"],
            address.get("country", "FR"),
            address.get("line2"),
        ),
        status=VerificationStatus(row.status),
        created_at=row.created_at,
        siren=row.siren,
        siret=row.siret,
        verified_at=row.verified_at,
        status_reason=row.status_reason,
    )


def customer_history(uow: UnitOfWork, row: OnDemandCustomerRow, now: datetime) -> CustomerHistory:
    """What the limits read: windows not cancelled and ended by ``now``, those of them with a
    claim whose loss falls inside ``[start, end)``, and the claims on the customer's policies
    declared in the 365 days before ``now`` (counted in the database: one query whatever the
    history's length)."""
    completed, with_claims, recent = uow.ondemand.history_counts(
        row.id, now, now - timedelta(days=365)
    )
    return CustomerHistory(completed, with_claims, recent)


def _limits_view(limits: CustomerLimits) -> LimitsView:
    return LimitsView(
        tier=limits.tier.name,
        max_sum_insured=f"{limits.max_sum_insured:.2f}",
        max_liability_limit=f"{limits.max_liability_limit:.2f}",
        max_activations_per_day=limits.max_activations_per_day,
        next_tier=limits.next_tier.name if limits.next_tier else None,
        explanation=[f"{e.step}: {e.formula}" for e in limits.explanation],
    )


def customer_view(uow: UnitOfWork, row: OnDemandCustomerRow, now: datetime) -> CustomerView:
    customer = customer_of(row)
    limits = limits_for(customer, customer_history(uow, row, now), at=now)
    return CustomerView(
        id=row.id,
        kind=customer.kind,
        name=row.name,
        activity=row.activity,
        address=json.loads(row.address),
        siren=row.siren,
        siret=row.siret,
        email=row.email,
        language="en" if row.language == "en" else "fr",
        status=customer.status,
        status_reason=row.status_reason,
        verified_at=row.verified_at,
        created_at=row.created_at,
        limits=_limits_view(limits),
    )


def require_customer(
    uow: UnitOfWork, tenant_id: str, customer_id: str, *, for_update: bool = False
) -> OnDemandCustomerRow:
    row = uow.ondemand.customer(tenant_id, customer_id.strip(), for_update=for_update)
    if row is None:
        raise NotFound(
            f"no customer {customer_id!r}", field="customer_id", code="customer.not_found"
        )
    return row


@dataclass(frozen=True, slots=True)
class _Identity:
    siren: str | None
    siret: str | None


def _identity(payload: CustomerIn) -> _Identity:
    if payload.kind is CustomerKind.PERSON:
        if payload.siren or payload.siret:
            raise InvalidInput("a person has no SIREN or SIRET", field="siren")
        return _Identity(None, None)
    siren = payload.siren
    if siren is None:
        if payload.siret is None:
            raise InvalidInput("a business gives its SIREN or its SIRET", field="siren")
        siren = validate_siret(payload.siret)[:9]
    return _Identity(siren, payload.siret)


def create_customer(
    uow: UnitOfWork,
    tenant_id: str,
    payload: CustomerIn | dict[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
) -> CustomerView:
    """Onboard a person or a business (pending verification), audited ``customer.created``."""
    given = parse_request(CustomerIn, payload)
    moment = _now(now)
    a = given.address
    address = Address(a.line1.strip(), a.postcode.strip(), a.city.strip(), a.country, a.line2)
    identity = _identity(given)
    with uow:
        if uow.tenants.get(tenant_id) is None:
            raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id", code="tenant.not_found")
        customer_id = str(uow.ids.next("CUS", moment.year))
        if given.kind is CustomerKind.PERSON:
            customer = new_person(
                customer_id,
                name=given.name,
                activity=given.activity,
                address=address,
                created_at=moment,
            )
        else:
            assert identity.siren is not None
            customer = new_business(
                customer_id,
                name=given.name,
                activity=given.activity,
                address=address,
                siren=identity.siren,
                siret=identity.siret,
                created_at=moment,
            )
        row = OnDemandCustomerRow(
            id=customer.id,
            tenant_id=tenant_id,
            kind=customer.kind.value,
            name=customer.name,
            activity=customer.activity,
            address=audit.canonical_json(
                {
                    "line1": address.line1,
                    "line2": address.line2,
                    "postcode": address.postcode,
                    "city": address.city,
                    "country": address.country,
                }
            ),
            siren=customer.siren,
            siret=customer.siret,
            email=given.email,
            language=given.language,
            status=customer.status.value,
            status_reason=None,
            verified_at=None,
            created_at=moment,
            updated_at=moment,
        )
        uow.ondemand.add(row)
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="customer.created",
            entity_type="customer",
            entity_id=row.id,
            data={"kind": row.kind, "siren": row.siren, "siret": row.siret},
            at=moment,
        )
        view = customer_view(uow, row, moment)
        uow.commit()
    return view


def set_verification(
    uow: UnitOfWork,
    tenant_id: str,
    customer_id: str,
    payload: VerificationIn | dict[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
) -> CustomerView:
    """Move the verification status by the transition table (409 when not allowed)."""
    given = parse_request(VerificationIn, payload)
    moment = _now(now)
    with uow:
        row = require_customer(uow, tenant_id, customer_id, for_update=True)
        before = row.status
        changed = transition(customer_of(row), given.status, at=moment, reason=given.reason)
        row.status = changed.status.value
        row.verified_at = changed.verified_at
        row.status_reason = changed.status_reason
        row.updated_at = moment
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action=f"customer.{changed.status.value}",
            entity_type="customer",
            entity_id=row.id,
            data={"from": before, "to": row.status, "reason": given.reason},
            at=moment,
        )
        view = customer_view(uow, row, moment)
        uow.commit()
    return view


def get_customer(
    uow: UnitOfWork, tenant_id: str, customer_id: str, *, now: datetime | None = None
) -> CustomerView:
    with uow:
        return customer_view(uow, require_customer(uow, tenant_id, customer_id), _now(now))


def list_customers(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> list[CustomerView]:
    if not 1 <= limit <= _MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {_MAX_PAGE}: {limit}", field="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    moment = _now(now)
    with uow:
        rows = uow.ondemand.customers(tenant_id, limit=limit, offset=offset)
        return [customer_view(uow, row, moment) for row in rows]
