"""Monthly statements from the stored ledger: windows, durations, prices, taxes, refunds; a window
across two months split at local midnight; a quiet month costs nothing; the PDF; isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.ondemand_fixtures import ACTOR, issuer, new_tenant, subscribe, utc, verified_customer

from polis.kernel.errors import InvalidInput, NotFound
from polis.services import ondemand_billing, ondemand_windows
from polis.services.ondemand_certificates import CertificateIssuer
from polis.store import SqlUnitOfWork

pytestmark = pytest.mark.db

NOW = utc(2026, 11, 20, 9)
D = Decimal


@pytest.fixture(scope="module")
def signer_issuer() -> CertificateIssuer:
    return issuer()


@pytest.fixture
def tenant(uow: SqlUnitOfWork) -> str:
    return new_tenant(uow)


def test_a_month_lists_each_window_and_its_money_and_a_quiet_month_costs_nothing(
    uow: SqlUnitOfWork, tenant: str, signer_issuer: CertificateIssuer
) -> None:
    customer = verified_customer(uow, tenant, NOW)
    sub = subscribe(uow, tenant, customer, NOW).id

    def activate(body: dict[str, str]) -> ondemand_windows.ActivationView:
        return ondemand_windows.activate_window(
            uow, tenant, sub, body, ACTOR, issuer=signer_issuer, now=NOW
        )

    used = activate({"start": "2026-11-21T10:00", "end": "2026-11-21T14:00"})
    across = activate({"start": "2026-11-30T22:00", "end": "2026-12-01T03:00"})
    cancelled = activate({"start": "2026-11-25T10:00", "duration": "PT2H"})
    ondemand_windows.cancel_window(uow, tenant, cancelled.window.id, ACTOR, now=NOW)
    november = ondemand_billing.statement(uow, tenant, customer, "2026-11")
    rows = {r["window_id"]: r for r in november["windows"]}
    assert set(rows) == {used.window.id, across.window.id, cancelled.window.id}
    assert rows[used.window.id]["duration_hours"] == "4"
    assert rows[used.window.id]["total"] == used.price.total
    assert rows[across.window.id]["duration_hours"] == "2"  # 22:00 → midnight, local time
    assert rows[across.window.id]["end"] == "2026-12-01T00:00:00+01:00"
    assert rows[cancelled.window.id]["total"] == "0.00"  # charged then fully refunded
    december = ondemand_billing.statement(uow, tenant, customer, "2026-12")
    assert [r["duration_hours"] for r in december["windows"]] == ["3"]
    split = D(rows[across.window.id]["total"]) + D(december["windows"][0]["total"])
    assert split == D(across.price.total)  # no cent lost or created across the months
    quiet = ondemand_billing.statement(uow, tenant, customer, "2027-02")
    assert quiet["windows"] == []
    assert quiet["totals"] == {
        "windows": 0,
        "hours": "0",
        "price": "0.00",
        "taxes": "0.00",
        "refunds": "0.00",
        "total": "0.00",
    }
    pdf = ondemand_billing.statement_pdf(uow, tenant, customer, "2026-11", now=NOW)
    assert pdf.startswith(b"%PDF")
    assert ondemand_billing.statement_pdf(uow, tenant, customer, "2027-02", lang="en").startswith(
        b"%PDF"
    )
    ledger = ondemand_billing.customer_ledger(uow, tenant, customer)
    assert [(e.kind, e.reason) for e in ledger] == [
        ("charge", "activation"),
        ("charge", "activation"),
        ("charge", "activation"),
        ("refund", "cancel"),
    ]
    assert sum(D(e.total) for e in ledger) == D(used.price.total) + D(across.price.total)


def test_statements_name_a_month_and_stay_within_the_tenant(
    uow: SqlUnitOfWork, tenant: str
) -> None:
    customer = verified_customer(uow, tenant, NOW)
    for bad in ("2026-13", "2026/11", "11-2026"):
        with pytest.raises(InvalidInput) as raised:
            ondemand_billing.statement(uow, tenant, customer, bad)
        assert raised.value.field == "month"
    other = new_tenant(uow)
    with pytest.raises(NotFound):
        ondemand_billing.statement(uow, other, customer, "2026-11")
    with pytest.raises(NotFound):
        ondemand_billing.customer_ledger(uow, other, customer)
