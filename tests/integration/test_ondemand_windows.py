"""Cover windows persisted: activation (window + charge + signed certificate + policy windows +
audit + outbox, in one transaction), extension, early stop with each product's refund rule,
cancellation, overlapping windows billed once, cover status, DST, night and Sunday activations,
claims at the exact boundaries through the claims services, certificates verified in every
status, expiry events, crash safety and tenant isolation."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker
from tests.ondemand_fixtures import (
    ACTOR,
    PERSON,
    issuer,
    new_tenant,
    paris,
    subscribe,
    utc,
    verified_customer,
)

from polis.kernel.errors import Conflict, InvalidInput, NotFound
from polis.ondemand.customers import Refused
from polis.services import (
    audit,
    claim_settlement,
    claims,
    ondemand_certificates,
    ondemand_windows,
    outbox,
    policies,
)
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.signing_keys import CertificateSigner
from polis.store import SqlUnitOfWork
from polis.store.tables_ondemand import (
    OnDemandCertificateRow,
    OnDemandLedgerRow,
    OnDemandWindowRow,
)
from polis.store.tables_platform import OutboxRow

pytestmark = pytest.mark.db

NOW = utc(2026, 6, 10, 8)  # a Wednesday, 10:00 in Paris
D = Decimal


@pytest.fixture(scope="module")
def signer_issuer() -> CertificateIssuer:
    return issuer()


@pytest.fixture
def tenant(uow: SqlUnitOfWork) -> str:
    return new_tenant(uow)


@pytest.fixture
def sub(uow: SqlUnitOfWork, tenant: str) -> str:
    customer = verified_customer(uow, tenant, NOW)
    return subscribe(uow, tenant, customer, NOW).id


def _activate(
    uow: SqlUnitOfWork,
    tenant: str,
    sub: str,
    issuer_: CertificateIssuer,
    *,
    now: Any = NOW,
    **body: Any,
) -> ondemand_windows.ActivationView:
    return ondemand_windows.activate_window(
        uow, tenant, sub, body or {"duration": "PT2H"}, ACTOR, issuer=issuer_, now=now
    )


def _events(uow: SqlUnitOfWork, tenant: str) -> list[tuple[str, dict[str, Any]]]:
    with uow:
        rows = uow.session.scalars(
            select(OutboxRow).where(OutboxRow.tenant_id == tenant).order_by(OutboxRow.id)
        )
        return [(r.event_type, json.loads(r.payload)) for r in rows]


def _count(uow: SqlUnitOfWork, table: Any, tenant: str) -> int:
    with uow:
        return int(uow.session.scalar(select(func.count()).where(table.tenant_id == tenant)) or 0)


# --- activation -----------------------------------------------------------------------------------


def test_activating_for_the_next_two_hours_stores_everything_in_one_go(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer)
    window = done.window
    assert (window.start, window.end) == (NOW, NOW + timedelta(hours=2))
    assert window.local_start == "2026-06-10T10:00:00+02:00"
    assert (window.state, window.phase, window.duration_hours) == ("booked", "active", "2")
    # 2 h × 0.455 = 0.91, raised to the 1.50 minimum; loadings, cat-nat, TSCA, the 0.50 fee
    assert (done.price.pure, done.price.total, done.price.taxes) == ("1.50", "3.74", "0.31")
    assert {line.kind for line in done.price.lines} >= {"premium", "tax", "fee"}
    assert re.fullmatch(r"ATT-2026-\d{6}", done.certificate)
    assert done.links["pdf"] == f"/v1/certificates/{done.certificate}.pdf"
    covers = policies.get_policy(uow, tenant, window.policy_id).covers["equipment"]
    assert covers["windows"] == [{"start": "2026-06-10T08:00:00Z", "end": "2026-06-10T10:00:00Z"}]
    types = [t for t, _ in _events(uow, tenant)]
    assert types == ["certificate.issued", "window.activated"]
    actions = [e.action for e in audit.list_entries(uow, tenant, limit=1000)]
    assert actions[-1] == "window.activated"
    pdf, digest = ondemand_certificates.certificate_pdf(uow, tenant, done.certificate)
    assert pdf.startswith(b"%PDF")
    cert = ondemand_certificates.get_certificate(uow, tenant, done.certificate)
    assert cert.pdf_sha256 == digest
    assert cert.content["insured"] == {
        "name": "Studio Lumière SARL",
        "siren_siret": "73282932000074",
    }
    assert cert.content["product"]["terms_sha256"] == _terms_sha(uow, tenant, sub)
    assert cert.content["price"] == {"total": "3.74", "taxes": "0.31", "currency": "EUR"}


def _terms_sha(uow: SqlUnitOfWork, tenant: str, sub: str) -> str:
    from polis.services.ondemand_subscriptions import get_subscription

    return get_subscription(uow, tenant, sub).terms_sha256


def test_the_certificate_is_ready_well_under_a_second(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    _activate(uow, tenant, sub, signer_issuer)  # the first PDF of a process prepares the font
    started = time.perf_counter()
    _activate(uow, tenant, sub, signer_issuer, start="2026-06-10T14:00", duration="PT1H")
    assert time.perf_counter() - started < 0.5


def test_a_scheduled_activation_at_night_on_a_sunday_is_allowed(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(
        uow, tenant, sub, signer_issuer, start="2026-06-14T03:00", end="2026-06-14T05:30"
    )
    assert done.window.start == paris(2026, 6, 14, 3)
    assert done.window.phase == "scheduled"
    assert done.window.duration_hours == "2.5"
    night = ondemand_windows.activate_window(
        uow, tenant, sub, {"duration": "PT1H"}, ACTOR, issuer=signer_issuer,
        now=paris(2026, 6, 14, 2, 10),
    )  # fmt: skip
    assert night.window.phase == "active"


def test_a_window_across_the_march_change_is_priced_by_real_elapsed_time(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(
        uow, tenant, sub, signer_issuer, start="2026-03-29T00:00", end="2026-03-29T06:00",
        now=utc(2026, 3, 20, 9),
    )  # fmt: skip
    assert done.window.duration_hours == "5"  # 00:00 → 06:00 on the night the clocks jump
    assert done.price.hours == "5"
    assert done.price.pure == "2.28"  # 5 h × 0.455, not 6 h
    with pytest.raises(InvalidInput) as raised:
        _activate(uow, tenant, sub, signer_issuer, start="2026-03-29T02:30", duration="PT1H")
    assert (raised.value.code, raised.value.field) == ("time.nonexistent", "start")


def test_overlapping_windows_on_the_same_object_are_billed_once(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    first = _activate(
        uow, tenant, sub, signer_issuer, start="2026-06-11T10:00", end="2026-06-11T14:00"
    )
    second = _activate(
        uow, tenant, sub, signer_issuer, start="2026-06-11T12:00", end="2026-06-11T16:00"
    )
    inside = _activate(
        uow, tenant, sub, signer_issuer, start="2026-06-11T11:00", end="2026-06-11T13:00"
    )
    assert first.price.hours == "4"
    assert second.price.hours == "2"  # only 14:00–16:00 is new
    assert inside.price.hours == "0"
    assert inside.price.total == "0.00"
    assert inside.price.lines == []
    status = ondemand_windows.get_cover_status(
        uow, tenant, "camera-1", at=paris(2026, 6, 11, 12, 30), now=NOW
    )
    assert status.state == "covered"
    assert status.until == paris(2026, 6, 11, 16)
    assert len(status.current) == 3


def test_cover_status_now_scheduled_and_not_covered(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    assert (
        ondemand_windows.get_cover_status(uow, tenant, "camera-1", now=NOW).state == "not_covered"
    )
    later = _activate(uow, tenant, sub, signer_issuer, start="2026-06-10T15:00", duration="PT1H")
    status = ondemand_windows.get_cover_status(uow, tenant, "camera-1", now=NOW)
    assert (status.state, status.next_start) == ("scheduled", later.window.start)
    now = ondemand_windows.get_cover_status(uow, tenant, "camera-1", at=later.window.start)
    assert now.state == "covered"  # at the exact start instant
    end = ondemand_windows.get_cover_status(uow, tenant, "camera-1", at=later.window.end)
    assert end.state == "not_covered"  # not at the exact end instant


def test_the_daily_activation_limit_of_a_new_customer(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    for hour in (12, 14, 16):
        _activate(uow, tenant, sub, signer_issuer, start=f"2026-06-10T{hour}:00", duration="PT1H")
    with pytest.raises(Refused) as raised:
        _activate(uow, tenant, sub, signer_issuer, start="2026-06-10T18:00", duration="PT1H")
    assert raised.value.code == "limit.daily_activations_exceeded"
    # the next local day is another day
    _activate(uow, tenant, sub, signer_issuer, now=paris(2026, 6, 11, 0, 5))


# --- extend, stop, cancel ---------------------------------------------------------------------------


def test_an_extension_prices_only_the_added_time_and_certifies_the_new_period(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer, duration="PT3H")
    longer = ondemand_windows.extend_window(
        uow, tenant, done.window.id, {"end": "2026-06-10T15:00"}, ACTOR,
        issuer=signer_issuer, now=NOW + timedelta(hours=1),
    )  # fmt: skip
    assert longer.window.end == paris(2026, 6, 10, 15)
    assert longer.price.hours == "2"
    assert longer.certificate != done.certificate
    new = ondemand_certificates.get_certificate(uow, tenant, longer.certificate)
    assert new.period_end == paris(2026, 6, 10, 15)
    check = ondemand_certificates.verify_number(
        uow, signer_issuer.signer, done.certificate, now=NOW + timedelta(hours=1)
    )
    assert check.status == "valid"  # the first one stays true for its own period
    with pytest.raises(InvalidInput) as raised:
        ondemand_windows.extend_window(
            uow, tenant, done.window.id, {"end": "2026-06-10T14:00"}, ACTOR,
            issuer=signer_issuer, now=NOW + timedelta(hours=1),
        )  # fmt: skip
    assert raised.value.code == "window.extend_not_later"


def test_stopping_early_refunds_the_unused_hours_minus_the_fee(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer, duration="PT8H")
    stopped = ondemand_windows.stop_window(
        uow, tenant, done.window.id, {}, ACTOR, now=NOW + timedelta(minutes=70)
    )
    assert stopped.window.state == "stopped"
    assert stopped.window.end == NOW + timedelta(minutes=70)
    assert stopped.window.sold_end == NOW + timedelta(hours=8)
    # the 2 started hours stay due (the day's cap had limited the 8 hours to the day price)
    assert D(stopped.refund.total) < 0
    assert any(line.kind == "refund_fee" and line.amount == "0.50" for line in stopped.refund.lines)
    assert stopped.revoked_certificates == [done.certificate]
    verdict = ondemand_certificates.verify_number(
        uow, signer_issuer.signer, done.certificate, now=NOW + timedelta(hours=2)
    )
    assert verdict.status == "revoked"
    assert "arrêtée avant son terme" in (verdict.revocation_reason or "")
    covers = policies.get_policy(uow, tenant, done.window.policy_id).covers["equipment"]
    assert covers["windows"] == [{"start": "2026-06-10T08:00:00Z", "end": "2026-06-10T09:10:00Z"}]
    with pytest.raises(Conflict):
        ondemand_windows.stop_window(
            uow, tenant, done.window.id, {}, ACTOR, now=NOW + timedelta(hours=2)
        )


def test_a_product_without_refund_keeps_the_price_and_a_day_product_the_started_day(
    uow: SqlUnitOfWork, tenant: str, signer_issuer: CertificateIssuer
) -> None:
    customer = verified_customer(uow, tenant, NOW)
    event = subscribe(
        uow, tenant, customer, NOW, product="event-liability-day", unit="day",
        items=[{"ref": "shoot", "description": "Wedding shoot, Lyon"}],
    )  # fmt: skip
    done = _activate(uow, tenant, event.id, signer_issuer, duration="P2D")
    stopped = ondemand_windows.stop_window(
        uow, tenant, done.window.id, {}, ACTOR, now=NOW + timedelta(hours=1)
    )
    assert stopped.refund.total == "0.00"  # event liability: no refund after the start
    warehouse = subscribe(
        uow, tenant, customer, NOW, product="warehouse-goods-day", unit="day",
        items=[{"ref": "wh", "description": "Entrepôt"}], geofence_ref="rungis",
    )  # fmt: skip
    done = _activate(uow, tenant, warehouse.id, signer_issuer, duration="P3D")
    assert done.price.pure == "6.12"  # 72 hours from 10:00 touch 4 local days × 1.53
    stopped = ondemand_windows.stop_window(
        uow, tenant, done.window.id, {}, ACTOR, now=NOW + timedelta(hours=1)
    )
    # the started day stays due; the two next days are refunded minus the 2.00 fee
    assert D(stopped.refund.total) < D("-2.00")
    assert any(line.kind == "refund_fee" and line.amount == "2.00" for line in stopped.refund.lines)


def test_cancelling_before_the_start_gives_everything_back(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer, start="2026-06-12T09:00", duration="PT4H")
    cancelled = ondemand_windows.cancel_window(uow, tenant, done.window.id, ACTOR, now=NOW)
    assert cancelled.window.state == "cancelled"
    assert cancelled.refund.total == f"-{done.price.total}"
    assert cancelled.revoked_certificates == [done.certificate]
    assert (
        ondemand_windows.get_cover_status(uow, tenant, "camera-1", now=NOW).state == "not_covered"
    )
    started = _activate(uow, tenant, sub, signer_issuer)
    with pytest.raises(Conflict) as raised:
        ondemand_windows.cancel_window(
            uow, tenant, started.window.id, ACTOR, now=NOW + timedelta(minutes=1)
        )
    assert raised.value.code == "window.started"
    types = [t for t, _ in _events(uow, tenant)]
    assert "window.cancelled" in types


# --- certificates ---------------------------------------------------------------------------------


def test_a_certificate_is_valid_then_expired_revoked_unknown_or_tampered(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer)
    signer, number = signer_issuer.signer, done.certificate

    def status(at: Any) -> str:
        return ondemand_certificates.verify_number(uow, signer, number, now=at).status

    assert status(NOW) == "valid"
    assert status(NOW + timedelta(hours=2)) == "expired"
    scheduled = _activate(
        uow, tenant, sub, signer_issuer, start="2026-06-11T09:00", duration="PT1H"
    )
    assert (
        ondemand_certificates.verify_number(uow, signer, scheduled.certificate, now=NOW).status
        == "not_yet_valid"
    )
    unknown = ondemand_certificates.verify_number(uow, signer, "ATT-2026-999999", now=NOW)
    assert (unknown.status, unknown.authentic) == ("unknown", False)
    pdf, _ = ondemand_certificates.certificate_pdf(uow, tenant, number)
    assert ondemand_certificates.verify_pdf(uow, signer, pdf, now=NOW).status == "valid"
    ondemand_certificates.revoke_certificate(
        uow, tenant, number, {"reason": "issued by mistake"}, ACTOR, now=NOW + timedelta(minutes=5)
    )
    revoked = ondemand_certificates.verify_number(uow, signer, number, now=NOW + timedelta(hours=3))
    assert (revoked.status, revoked.revocation_reason) == ("revoked", "issued by mistake")
    with pytest.raises(Conflict):
        ondemand_certificates.revoke_certificate(
            uow, tenant, number, {"reason": "again"}, ACTOR, now=NOW + timedelta(minutes=6)
        )
    assert (
        ondemand_certificates.verify_pdf(uow, signer, _altered(pdf), now=NOW).status == "tampered"
    )


def _altered(pdf: bytes) -> bytes:
    """The same PDF whose embedded certified content says another name (signature unchanged)."""
    match = re.search(rb"<polis:content>([A-Za-z0-9_-]+)</polis:content>", pdf)
    assert match is not None
    raw = match.group(1).decode("ascii")
    content = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    forged = content.replace("Studio Lumière SARL".encode(), b"Studio Lumiere SARL")
    assert forged != content
    encoded = base64.urlsafe_b64encode(forged).rstrip(b"=")
    return pdf.replace(match.group(1), encoded)


def test_a_certificate_altered_in_the_database_is_tampered(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer)
    with uow:
        row = uow.session.get(OnDemandCertificateRow, done.certificate)
        assert row is not None
        row.content = row.content.replace("2026-06-10T10:00:00Z", "2026-06-10T12:00:00Z")
        uow.commit()
    verdict = ondemand_certificates.verify_number(
        uow, signer_issuer.signer, done.certificate, now=NOW
    )
    assert (verdict.status, verdict.reason) == ("tampered", "bad_signature")
    assert verdict.certified is None


# --- claims at the boundaries ------------------------------------------------------------------


def test_a_claim_is_covered_at_the_exact_start_and_not_at_the_exact_end(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer)
    policy = done.window.policy_id

    def covered(loss_at: Any) -> bool:
        declared = claims.declare_claim(
            uow,
            tenant,
            {
                "policy_id": policy,
                "cover_id": "equipment",
                "peril": "accidental_damage",
                "loss_at": loss_at.isoformat(),
                "description": "the lens broke",
                "estimated_amount": "400",
            },
            ACTOR,
            declared_at=NOW + timedelta(hours=3),
        )
        preview = claim_settlement.preview_offer(uow, tenant, declared.claim.id, {})
        return bool(preview.settlement.cover and preview.settlement.cover.covered)

    assert covered(done.window.start) is True
    assert covered(done.window.end - timedelta(microseconds=1)) is True
    assert covered(done.window.end) is False
    assert covered(done.window.start - timedelta(seconds=1)) is False


# --- events, crash safety, isolation -------------------------------------------------------------


def test_expiry_events_are_published_once(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer)
    ondemand_windows.publish_expired(uow, now=NOW + timedelta(hours=1))
    assert [t for t, _ in _events(uow, tenant) if t == "window.expired"] == []
    ondemand_windows.publish_expired(uow, now=NOW + timedelta(hours=2))
    expired = [p for t, p in _events(uow, tenant) if t == "window.expired"]
    assert [p["window_id"] for p in expired] == [done.window.id]
    ondemand_windows.publish_expired(uow, now=NOW + timedelta(hours=3))
    assert len([t for t, _ in _events(uow, tenant) if t == "window.expired"]) == 1


@pytest.mark.parametrize("where", ["signing the certificate", "the last event"])
def test_a_crash_mid_activation_leaves_nothing_half_written(
    uow: SqlUnitOfWork,
    tenant: str,
    sub: str,
    signer_issuer: CertificateIssuer,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """What is atomic: the window, its charge, the signed certificate, the policy windows, the
    audit entry and the events (the PDF is rendered at the first download: see below). A crash
    while signing, or at the very last write — the ``window.activated`` event, after everything
    else was written — leaves none of them."""

    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError("disk on fire")

    if where == "signing the certificate":
        monkeypatch.setattr(CertificateSigner, "sign", crash)
    else:
        emit = outbox.emit

        def emit_then_crash(uow_: Any, **event: Any) -> None:
            if event["event_type"] == "window.activated":
                crash()
            emit(uow_, **event)

        monkeypatch.setattr("polis.services.outbox.emit", emit_then_crash)
    actions_before = [e.action for e in audit.list_entries(uow, tenant, limit=1000)]
    with pytest.raises(RuntimeError):
        _activate(uow, tenant, sub, signer_issuer)
    for table in (OnDemandWindowRow, OnDemandLedgerRow, OnDemandCertificateRow, OutboxRow):
        assert _count(uow, table, tenant) == 0
    assert ondemand_windows.list_windows(uow, tenant, sub, now=NOW) == []
    assert [e.action for e in audit.list_entries(uow, tenant, limit=1000)] == actions_before
    monkeypatch.undo()
    done = _activate(uow, tenant, sub, signer_issuer)
    assert _count(uow, OnDemandLedgerRow, tenant) == 1
    assert done.window.id.startswith("WIN-")
    covers = policies.get_policy(uow, tenant, done.window.policy_id).covers["equipment"]
    assert covers["windows"] == [{"start": "2026-06-10T08:00:00Z", "end": "2026-06-10T10:00:00Z"}]


def test_the_certificate_is_signed_at_activation_and_its_pdf_made_at_the_first_download(
    uow: SqlUnitOfWork,
    tenant: str,
    sub: str,
    signer_issuer: CertificateIssuer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer)
    proof = done.certificate_proof
    assert proof.number == done.certificate
    assert proof.key_id == signer_issuer.signer.key_id
    stored = ondemand_certificates.get_certificate(uow, tenant, done.certificate)
    assert (stored.content_sha256, stored.signature) == (proof.content_sha256, proof.signature)
    assert (stored.pdf_sha256, stored.pdf_size) == (None, None)  # not rendered yet
    verified = ondemand_certificates.verify_number(
        uow, signer_issuer.signer, done.certificate, now=NOW
    )
    assert (verified.status, verified.authentic) == ("valid", True)
    issued = [p for t, p in _events(uow, tenant) if t == "certificate.issued"]
    assert issued[0]["content_sha256"] == proof.content_sha256
    assert issued[0]["signature"] == proof.signature

    def crash(*_: Any, **__: Any) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("polis.services.ondemand_certificates.render_certificate_pdf", crash)
    with pytest.raises(RuntimeError):  # a failed rendering stores nothing and changes nothing
        ondemand_certificates.certificate_pdf(uow, tenant, done.certificate)
    assert ondemand_certificates.get_certificate(uow, tenant, done.certificate).pdf_sha256 is None
    monkeypatch.undo()
    pdf, digest = ondemand_certificates.certificate_pdf(uow, tenant, done.certificate)
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == digest
    after = ondemand_certificates.get_certificate(uow, tenant, done.certificate)
    assert (after.pdf_sha256, after.pdf_size) == (digest, len(pdf))
    assert ondemand_certificates.certificate_pdf(uow, tenant, done.certificate) == (pdf, digest)
    checked = ondemand_certificates.verify_pdf(uow, signer_issuer.signer, pdf, now=NOW)
    assert (checked.status, checked.certified) == ("valid", stored.content)


def test_concurrent_first_downloads_store_one_pdf(
    uow: SqlUnitOfWork,
    factory: sessionmaker[Session],
    tenant: str,
    sub: str,
    signer_issuer: CertificateIssuer,
) -> None:
    number = _activate(uow, tenant, sub, signer_issuer).certificate

    def download(_: int) -> tuple[bytes, str]:
        return ondemand_certificates.certificate_pdf(SqlUnitOfWork(factory), tenant, number)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(download, range(4)))
    assert len({digest for _, digest in answers}) == 1
    assert len({pdf for pdf, _ in answers}) == 1
    assert ondemand_certificates.certificate_pdf(uow, tenant, number) == answers[0]


def test_the_ledger_is_append_only(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    _activate(uow, tenant, sub, signer_issuer)
    for statement in ("UPDATE ondemand_ledger SET total = '0'", "DELETE FROM ondemand_ledger"):
        with uow, pytest.raises(Exception, match="append-only"):
            uow.session.execute(text(statement))


@pytest.fixture
def others(uow: SqlUnitOfWork) -> str:
    return new_tenant(uow)


def test_another_tenant_reaches_no_window_certificate_or_cover(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer, others: str
) -> None:
    done = _activate(uow, tenant, sub, signer_issuer)
    window = done.window.id
    for attempt in (
        lambda: _activate(uow, others, sub, signer_issuer),
        lambda: ondemand_windows.get_window(uow, others, window, now=NOW),
        lambda: ondemand_windows.list_windows(uow, others, sub, now=NOW),
        lambda: ondemand_windows.extend_window(
            uow, others, window, {"end": "2026-06-10T15:00"}, ACTOR, issuer=signer_issuer, now=NOW
        ),
        lambda: ondemand_windows.stop_window(uow, others, window, {}, ACTOR, now=NOW),
        lambda: ondemand_windows.cancel_window(uow, others, window, ACTOR, now=NOW),
        lambda: ondemand_certificates.get_certificate(uow, others, done.certificate),
        lambda: ondemand_certificates.certificate_pdf(uow, others, done.certificate),
        lambda: ondemand_certificates.revoke_certificate(
            uow, others, done.certificate, {"reason": "x"}, ACTOR, now=NOW
        ),
        lambda: policies.get_policy(uow, others, done.window.policy_id),
    ):
        with pytest.raises(NotFound):
            attempt()
    status = ondemand_windows.get_cover_status(uow, others, "camera-1", now=NOW)
    assert status.state == "not_covered"


def test_a_person_pays_the_same_and_is_named_on_the_certificate(
    uow: SqlUnitOfWork, tenant: str, signer_issuer: CertificateIssuer
) -> None:
    person = verified_customer(uow, tenant, NOW, PERSON)
    sub = subscribe(uow, tenant, person, NOW, sum_insured="300")
    done = _activate(uow, tenant, sub.id, signer_issuer)
    cert = ondemand_certificates.get_certificate(uow, tenant, done.certificate)
    assert cert.content["insured"] == {"name": "Jeanne Martin", "siren_siret": None}
    assert cert.content["sums_insured"][0]["amount"] == "300.00"


def test_concurrent_activations_of_one_tenant_all_succeed(
    uow: SqlUnitOfWork, factory: Any, tenant: str, signer_issuer: CertificateIssuer
) -> None:
    customer = verified_customer(uow, tenant, NOW)
    subs = [
        subscribe(uow, tenant, customer, NOW, items=[{"ref": f"cam-{i}", "description": "cam"}]).id
        for i in range(3)
    ]
    barrier = threading.Barrier(len(subs))

    def activate(sub: str) -> str:
        barrier.wait(5)
        done = ondemand_windows.activate_window(
            SqlUnitOfWork(factory), tenant, sub, {"duration": "PT1H"}, ACTOR,
            issuer=signer_issuer, now=NOW,
        )  # fmt: skip
        return done.window.id

    with ThreadPoolExecutor(len(subs)) as pool:
        windows = list(pool.map(activate, subs))
    assert len(set(windows)) == len(subs)
    assert audit.verify_chain(uow, tenant).ok
