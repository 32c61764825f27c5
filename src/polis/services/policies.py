"""The policy register: the narrow interface through which claims reach a contract.

A policy (``POL-YYYY-NNNNNN``) records a product id and version, the holder, and the **terms as
sold**, cover by cover. A cover's terms are one JSON object with the fields of the ``settlement``
calculator (``polis.calc.settlement``, contracts.md):

- the cover check (``cover.terms`` of the calculator): ``perils``, ``exclusions``, ``period``
  (Europe/Paris dates) or ``windows`` (UTC instants, half-open), ``policy_start``,
  ``waiting_period_days``/``_hours``, ``waiting_from``, ``waiting_perils``,
  ``declaration_deadlines`` (per peril, ``"*"`` for the others; legal minimums when absent);
- the money terms (top level of the calculator): ``valuation`` (``basis``, ``schedule``,
  ``depreciation_rate``), ``sum_insured``, ``first_loss``, ``agreed_value``, ``tolerance``,
  ``deductible``, ``peril_deductibles``, ``limit``, ``limits``, ``sub_limits``,
  ``annual_aggregate_limit``, ``coinsurance_share``, ``cumul_clause`` (a top-up's order of
  intervention with a base contract: ``primary`` | ``excess`` | ``contribution``).

They are validated at registration by the calculator's own request model (a bad field is named
``covers.<cover>.<field>``), frozen, and fingerprinted: SHA-256 of their canonical JSON, so an offer
can always be traced to the exact terms it was computed on.

The claims code depends on :func:`cover_terms_of` only; the on-demand platform will create
policies and their windows through :func:`add_policy` and keep this shape.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from polis.calc._base import parse_request
from polis.calc.settlement import CoverTermsIn, SettlementRequest, to_terms
from polis.claims import CoverTerms
from polis.kernel.errors import InvalidInput, NotFound
from polis.kernel.time import utc_now
from polis.services import audit
from polis.store.tables_claims import PolicyRow
from polis.store.uow import UnitOfWork

__all__ = [
    "CHECK_FIELDS",
    "MONEY_FIELDS",
    "PolicyIn",
    "PolicyTerms",
    "PolicyView",
    "add_policy",
    "cover_terms_of",
    "get_policy",
    "register_policy",
    "settlement_request",
]

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]

#: cover-check fields of a cover's terms (``cover.terms`` in the settlement request)
CHECK_FIELDS = frozenset(CoverTermsIn.model_fields) - {"policy_id", "cover_id"}
#: money fields of a cover's terms (top level of the settlement request)
MONEY_FIELDS = frozenset(
    {
        "valuation",
        "sum_insured",
        "first_loss",
        "agreed_value",
        "tolerance",
        "deductible",
        "peril_deductibles",
        "limit",
        "limits",
        "sub_limits",
        "annual_aggregate_limit",
        "coinsurance_share",
        "cumul_clause",
    }
)
_PLACEHOLDER_INSTANT = "2000-01-01T00:00:00Z"  # the terms alone need no loss: any instant will do


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyIn(_Strict):
    """``POST /v1/policies`` body and ``polis policy register`` input."""

    holder: str = Field(min_length=1, max_length=200)
    product: Identifier
    product_version: str = Field(min_length=1, max_length=32)
    covers: dict[Identifier, dict[str, Any]] = Field(
        min_length=1, max_length=50, description="cover id → its terms (see the module doc)"
    )


class PolicyView(_Strict):
    id: str
    holder: str
    product: str
    product_version: str
    covers: dict[str, dict[str, Any]]
    terms_sha256: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PolicyTerms:
    """What a claim needs from its policy: each cover's terms, as stored and as engine terms."""

    policy_id: str
    tenant_id: str
    holder: str
    product: str
    product_version: str
    covers: Mapping[str, Mapping[str, Any]]
    terms_sha256: str

    def cover(self, cover_id: str) -> Mapping[str, Any]:
        """The stored terms of ``cover_id``; ``InvalidInput`` naming the covers of this policy."""
        if cover_id not in self.covers:
            known = ", ".join(sorted(self.covers))
            raise InvalidInput(
                f"policy {self.policy_id} has no cover {cover_id!r} (covers: {known})",
                field="cover_id",
            )
        return self.covers[cover_id]

    def cover_terms(self, cover_id: str) -> CoverTerms:
        """The engine's :class:`polis.claims.CoverTerms` of ``cover_id``."""
        request = settlement_request(self, cover_id, loss={"amount": "0"})
        return to_terms(parse_request(SettlementRequest, request))


def settlement_request(
    policy: PolicyTerms,
    cover_id: str,
    *,
    loss: Mapping[str, Any],
    loss_at: str = _PLACEHOLDER_INSTANT,
    peril: str = "any",
    facts: Mapping[str, Any] | None = None,
    cover_facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``settlement`` calculator request for a loss on ``cover_id``: the stored terms, then the
    loss ``facts`` (top level) and ``cover_facts`` (``circumstances``, ``declared_at``…)."""
    terms = policy.cover(cover_id)
    check = {k: v for k, v in terms.items() if k in CHECK_FIELDS}
    money = {k: v for k, v in terms.items() if k in MONEY_FIELDS}
    cover = {
        "terms": {**check, "policy_id": policy.policy_id, "cover_id": cover_id},
        "loss_at": loss_at,
        "peril": peril,
        **(cover_facts or {}),
    }
    return {"loss": dict(loss), **money, **(facts or {}), "cover": cover}


def register_policy(
    uow: UnitOfWork, tenant_id: str, payload: PolicyIn | dict[str, Any], actor: str
) -> PolicyView:
    """Register a policy for ``tenant_id`` (one transaction, audited ``policy.registered``)."""
    with uow:
        view = add_policy(uow, tenant_id, payload, actor)
        uow.commit()
    return view


def add_policy(
    uow: UnitOfWork, tenant_id: str, payload: PolicyIn | dict[str, Any], actor: str
) -> PolicyView:
    """The steps of :func:`register_policy` inside an open unit of work."""
    policy = parse_request(PolicyIn, payload)
    for cover_id, terms in policy.covers.items():
        _validate_cover(cover_id, terms)
    text = audit.canonical_json({"covers": policy.covers})
    if uow.tenants.get(tenant_id) is None:
        raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id", code="tenant.not_found")
    now = utc_now()
    row = PolicyRow(
        id=str(uow.ids.next("POL", now.year)),
        tenant_id=tenant_id,
        product_id=policy.product,
        product_version=policy.product_version,
        holder=policy.holder.strip(),
        terms=text,
        terms_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        created_at=now,
    )
    uow.policies.add(row)
    audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="policy.registered",
        entity_type="policy",
        entity_id=row.id,
        data={
            "product": row.product_id,
            "version": row.product_version,
            "sha256": row.terms_sha256,
        },
        at=now,
    )
    return _view(row)


def get_policy(uow: UnitOfWork, tenant_id: str, policy_id: str) -> PolicyView:
    """The policy ``policy_id`` of ``tenant_id``; ``NotFound("policy.not_found")`` otherwise."""
    with uow:
        return _view(_require(uow, tenant_id, policy_id))


def cover_terms_of(uow: UnitOfWork, tenant_id: str, policy_id: str) -> PolicyTerms:
    """The terms of a policy, inside an open unit of work (the claims code's only way in)."""
    row = _require(uow, tenant_id, policy_id)
    return PolicyTerms(
        policy_id=row.id,
        tenant_id=row.tenant_id,
        holder=row.holder,
        product=row.product_id,
        product_version=row.product_version,
        covers=json.loads(row.terms)["covers"],
        terms_sha256=row.terms_sha256,
    )


def _validate_cover(cover_id: str, terms: Mapping[str, Any]) -> None:
    """Refuse unknown fields and anything the settlement calculator would refuse."""
    unknown = sorted(set(terms) - CHECK_FIELDS - MONEY_FIELDS)
    if unknown:
        raise InvalidInput(
            "unknown field (not part of the cover terms)", field=f"covers.{cover_id}.{unknown[0]}"
        )
    if "perils" not in terms:
        raise InvalidInput("this field is required", field=f"covers.{cover_id}.perils")
    probe = PolicyTerms("POL", "TEN", "", "", "", {cover_id: terms}, "")
    try:
        probe.cover_terms(cover_id)
    except InvalidInput as e:
        field = (e.field or "").removeprefix("cover.terms.").removeprefix("request")
        where = f"covers.{cover_id}" + (f".{field}" if field else "")
        raise InvalidInput(e.message, field=where) from e


def _require(uow: UnitOfWork, tenant_id: str, policy_id: str) -> PolicyRow:
    row = uow.policies.get(tenant_id, policy_id.strip())
    if row is None:
        raise NotFound(f"no policy {policy_id!r}", field="policy_id", code="policy.not_found")
    return row


def _view(row: PolicyRow) -> PolicyView:
    return PolicyView(
        id=row.id,
        holder=row.holder,
        product=row.product_id,
        product_version=row.product_version,
        covers=json.loads(row.terms)["covers"],
        terms_sha256=row.terms_sha256,
        created_at=row.created_at,
    )
