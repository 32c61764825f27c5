"""On-demand data for the portfolio tests: a tenant's book of windows and claims, made through
the real services (two used 4-hour camera windows and one cancelled window in November 2026)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from polis.services import claims, ondemand_windows
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_windows import ActivationView
from polis.store import SqlUnitOfWork
from tests.ondemand_fixtures import ACTOR, subscribe, utc, verified_customer

__all__ = ["BOOKED_AT", "LATER", "book", "claim", "premium"]

BOOKED_AT = utc(2026, 11, 20, 9)
LATER = utc(2026, 11, 30, 9)


def premium(view: ActivationView) -> Decimal:
    """The premium of an activation, taxes excluded (net premium and surcharges)."""
    return sum(
        (Decimal(x.amount) for x in view.price.lines if x.kind in {"premium", "surcharge"}),
        Decimal(0),
    )


def book(uow: SqlUnitOfWork, tenant: str, issuer: CertificateIssuer) -> list[ActivationView]:
    """Two used 4-hour windows (20 and 21 November) and a cancelled one, on one camera of 1,000 €;
    returns the two used ones."""
    customer = verified_customer(uow, tenant, BOOKED_AT)
    sub = subscribe(uow, tenant, customer, BOOKED_AT, sum_insured="1000").id

    def activate(body: dict[str, str]) -> ActivationView:
        return ondemand_windows.activate_window(
            uow, tenant, sub, body, ACTOR, issuer=issuer, now=BOOKED_AT
        )

    used = [
        activate({"start": "2026-11-20T11:00", "end": "2026-11-20T15:00"}),
        activate({"start": "2026-11-21T10:00", "end": "2026-11-21T14:00"}),
    ]
    cancelled = activate({"start": "2026-11-25T10:00", "duration": "PT2H"})
    ondemand_windows.cancel_window(uow, tenant, cancelled.window.id, ACTOR, now=BOOKED_AT)
    return used


def claim(uow: SqlUnitOfWork, tenant: str, window: ActivationView, reserve: str) -> str:
    """A claim one hour into ``window``, declared an hour later, reserved at ``reserve``."""
    declared = claims.declare_claim(
        uow,
        tenant,
        {
            "policy_id": window.window.policy_id,
            "cover_id": "equipment",
            "peril": "accidental_damage",
            "loss_at": (window.window.start + timedelta(hours=1)).isoformat(),
            "description": "the lens broke",
            "estimated_amount": reserve,
        },
        ACTOR,
        declared_at=window.window.start + timedelta(hours=2),
    )
    claims.set_reserve(uow, tenant, declared.claim.id, Decimal(reserve), "expert estimate", ACTOR)
    return declared.claim.id
