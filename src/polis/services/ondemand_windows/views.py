"""The views of cover windows: the request bodies, the answers (windows, prices line by line,
activations, changes, cover status) and the conversions from stored rows and priced results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from polis.kernel.time import to_local
from polis.ondemand.lines import Line, taxes_of
from polis.ondemand.pricing import Charge
from polis.ondemand.refunds import Refund
from polis.ondemand.windows import CoverWindow, WindowState
from polis.services.ondemand_certificates import (
    CertificateIssuer,
    CertificateProofView,
    certificate_links,
    proof_view,
)
from polis.store.tables_ondemand import OnDemandCertificateRow, OnDemandWindowRow
from polis.store.uow import UnitOfWork

__all__ = [
    "ActivationIn",
    "ActivationView",
    "ChangeView",
    "CoverStatusView",
    "ExtendIn",
    "LineView",
    "PriceView",
    "StopIn",
    "WindowView",
    "window_of",
    "window_view",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivationIn(_Strict):
    """``POST /v1/subscriptions/{id}/windows`` body: now or scheduled; an end or a duration.

    Times are ISO 8601: with an offset or ``Z`` they are taken as given; without, they are
    Europe/Paris wall-clock times (a time in the spring gap is refused, an autumn time that
    happens twice is its first occurrence).
    """

    object_ref: str | None = Field(default=None, max_length=100, examples=["camera-1"])
    start: str | None = Field(
        default=None, max_length=40, description="absent: now", examples=["2026-06-13T09:00"]
    )
    end: str | None = Field(default=None, max_length=40, examples=["2026-06-13T19:00"])
    duration: timedelta | None = Field(
        default=None, description="ISO 8601 duration (PT2H) or seconds", examples=["PT2H"]
    )


class ExtendIn(_Strict):
    end: str = Field(max_length=40, examples=["2026-06-13T21:00:00+02:00"])


class StopIn(_Strict):
    at: str | None = Field(default=None, max_length=40, description="absent: now")


class LineView(_Strict):
    # its schema's public name: the class name is taken twice (``ondemand_portfolio``), so FastAPI
    # names it after its module, which stays the package's as before the split
    __module__ = "polis.services.ondemand_windows"

    kind: str
    name: str
    cover: str | None
    amount: str
    rate: str | None = None


class PriceView(_Strict):
    """A charge (positive) or a refund (negative), line by line, taxes itemised."""

    total: str
    taxes: str
    excluding_taxes: str
    hours: str | None = None
    pure: str | None = None
    lines: list[LineView]
    explanation: list[str]


class WindowView(_Strict):
    id: str
    subscription_id: str
    customer_id: str
    object_ref: str
    policy_id: str
    start: datetime
    end: datetime
    sold_end: datetime
    local_start: str = Field(description="Europe/Paris wall-clock time with its offset")
    local_end: str
    duration_hours: str = Field(description="real elapsed hours (DST changes included)")
    state: WindowState
    phase: str = Field(description="scheduled, active, ended or cancelled at the time of asking")
    source: str
    source_ref: str | None
    created_at: datetime
    certificate: str | None
    links: dict[str, str]


class ActivationView(_Strict):
    window: WindowView
    price: PriceView
    certificate: str
    certificate_proof: CertificateProofView = Field(
        description="the certificate's content hash and Ed25519 signature: checkable at once "
        "(the PDF is rendered at its first download)"
    )
    links: dict[str, str]


class ChangeView(_Strict):
    window: WindowView
    refund: PriceView
    revoked_certificates: list[str]


class CoverStatusView(_Strict):
    object_ref: str
    at: datetime
    state: str = Field(examples=["covered"])
    until: datetime | None
    next_start: datetime | None
    current: list[WindowView]
    upcoming: list[WindowView]


# --- conversions ----------------------------------------------------------------------------


def window_of(row: OnDemandWindowRow) -> CoverWindow:
    return CoverWindow(
        id=row.id,
        subscription_id=row.subscription_id,
        object_ref=row.object_ref,
        start=row.starts_at,
        end=row.ends_at,
        state=WindowState(row.state),
        created_at=row.created_at,
        sold_end=row.sold_end,
        source=row.source,
        source_ref=row.source_ref,
    )


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _lines(lines: Sequence[Line]) -> list[LineView]:
    return [
        LineView(
            kind=x.kind.value,
            name=x.name,
            cover=x.cover,
            amount=_money(x.amount),
            rate=None if x.rate is None else str(x.rate),
        )
        for x in lines
    ]


def _charge_view(charge: Charge) -> PriceView:
    taxes = taxes_of(charge.lines)
    return PriceView(
        total=_money(charge.total),
        taxes=_money(taxes),
        excluding_taxes=_money(charge.total - taxes),
        hours=f"{charge.hours.normalize():f}",
        pure=_money(charge.pure),
        lines=_lines(charge.lines),
        explanation=[f"{e.step}: {e.formula}" for e in charge.explanation],
    )


def _refund_view(refund: Refund) -> PriceView:
    taxes = taxes_of(refund.lines)
    return PriceView(
        total=_money(refund.total),
        taxes=_money(taxes),
        excluding_taxes=_money(refund.total - taxes),
        lines=_lines(refund.lines),
        explanation=[f"{e.step}: {e.formula}" for e in refund.explanation],
    )


def window_view(
    uow: UnitOfWork, row: OnDemandWindowRow, now: datetime, public_base_url: str = ""
) -> WindowView:
    certificates = uow.ondemand.certificates_of_window(row.id)
    latest = certificates[-1].number if certificates else None
    return _window_view(row, now, public_base_url, latest)


def _window_view(
    row: OnDemandWindowRow, now: datetime, public_base_url: str, certificate: str | None
) -> WindowView:
    """The window as the API shows it, ``certificate`` its latest certificate."""
    window = window_of(row)
    links = {"self": f"/v1/windows/{row.id}"}
    if certificate is not None:
        links |= certificate_links(certificate, public_base_url)
    return WindowView(
        id=row.id,
        subscription_id=row.subscription_id,
        customer_id=row.customer_id,
        object_ref=row.object_ref,
        policy_id=row.policy_id,
        start=row.starts_at,
        end=row.ends_at,
        sold_end=row.sold_end,
        local_start=to_local(row.starts_at).isoformat(),
        local_end=to_local(row.ends_at).isoformat(),
        duration_hours=f"{window.window.hours().normalize():f}",
        state=window.state,
        phase=window.phase(now).value,
        source=row.source,
        source_ref=row.source_ref,
        created_at=row.created_at,
        certificate=certificate,
        links=links,
    )


def _activation_view(
    row: OnDemandWindowRow,
    charge: Charge,
    certificate: OnDemandCertificateRow,
    now: datetime,
    issuer: CertificateIssuer,
) -> ActivationView:
    return ActivationView(
        window=_window_view(row, now, issuer.public_base_url, certificate.number),
        price=_charge_view(charge),
        certificate=certificate.number,
        certificate_proof=proof_view(certificate),
        links={"window": f"/v1/windows/{row.id}"}
        | certificate_links(certificate.number, issuer.public_base_url),
    )
