"""The insurer's portfolio read from the store (SQLite and PostgreSQL): exposure, premiums, claims,
ratios and drift from real activations, refunds and claims; a tenant sees only its own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from tests.ondemand_fixtures import ACTOR, issuer, new_tenant
from tests.portfolio_fixtures import BOOKED_AT, LATER, book, claim, premium

from polis.kernel.errors import InvalidInput, NotFound
from polis.services import claims, ondemand_portfolio, ondemand_windows
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_portfolio import LineView, PortfolioView
from polis.store import SqlUnitOfWork

pytestmark = pytest.mark.db

D = Decimal


@pytest.fixture(scope="module")
def signer_issuer() -> CertificateIssuer:
    return issuer()


def _only(view: PortfolioView) -> LineView:
    assert [line.product for line in view.products] == ["equipment-micro"]
    return view.products[0]


def test_the_portfolio_adds_up_the_stored_windows_premiums_and_claims(
    uow: SqlUnitOfWork, signer_issuer: CertificateIssuer
) -> None:
    tenant = new_tenant(uow)
    used = book(uow, tenant, signer_issuer)
    claim(uow, tenant, used[0], "400")
    refused = claim(uow, tenant, used[1], "250")
    claims.change_status(uow, tenant, refused, "under_assessment", ACTOR)
    claims.change_status(uow, tenant, refused, "refused", ACTOR, refusal_reason="excluded")
    view = ondemand_portfolio.tenant_portfolio(uow, tenant, "2026-11-01", "2026-12-01", now=LATER)
    line = _only(view)
    written = sum((premium(u) for u in used), D(0))
    assert line.activations == 2  # the cancelled window is no activation
    assert line.exposure_hours == "8.00"
    assert D(line.written_premium) == written  # the cancellation nets to zero
    assert D(line.earned_premium) == written  # every window has ended: all earned
    assert D(line.earned_pure_premium) == sum((D(u.price.pure or "0") for u in used), D(0))
    # the refused claim is not counted and its reserve was released
    assert (line.claims, line.reserves, line.incurred) == (1, "400.00", "400.00")
    assert line.frequency_per_1000_hours == "125.0000"  # 1 claim / 8 h × 1000
    assert line.cost_per_hour == "50.0000"
    assert line.priced_cost_per_hour == "0.4550"  # camera ≤ 1,000 €: 0.35 × 1.30 per hour
    assert line.loss_ratio == f"{D(400) / written:.4f}"
    assert line.in_force_objects == 0
    assert view.total == line.model_copy(update={"product": None, "drift": None})
    assert [a.product for a in view.alerts] == ["equipment-micro"]
    alert = view.alerts[0]
    assert (alert.credibility, alert.direction) == ("0.0304", "under_priced")


def test_mid_window_only_the_elapsed_cover_is_earned_and_the_object_is_in_force(
    uow: SqlUnitOfWork, signer_issuer: CertificateIssuer
) -> None:
    tenant = new_tenant(uow)
    used = book(uow, tenant, signer_issuer)
    now = used[0].window.start + timedelta(hours=1)
    line = _only(ondemand_portfolio.tenant_portfolio(uow, tenant, "2026-11-01", None, now=now))
    assert line.exposure_hours == "1.00"
    assert D(line.earned_premium) == (premium(used[0]) / 4).quantize(D("0.01"))
    assert (line.in_force_objects, line.sums_insured_in_force) == (1, "1000.00")
    assert D(line.written_premium) == sum((premium(u) for u in used), D(0))
    assert D(line.earned_premium) <= D(line.written_premium)
    assert line.drift is not None
    assert line.drift.alert is False  # no claim: nothing to weigh


def test_a_tenant_sees_only_its_portfolio_and_the_operator_sees_every_partner(
    uow: SqlUnitOfWork, signer_issuer: CertificateIssuer
) -> None:
    mine, theirs = new_tenant(uow), new_tenant(uow)
    book(uow, mine, signer_issuer)
    claim(uow, theirs, book(uow, theirs, signer_issuer)[0], "90")
    view = ondemand_portfolio.tenant_portfolio(uow, mine, "2026-11-01", "2026-12-01", now=LATER)
    assert (view.scope, view.partners, view.cells) == ("tenant", [], [])
    assert (_only(view).exposure_hours, _only(view).claims) == ("8.00", 0)
    operator = ondemand_portfolio.operator_portfolio(uow, "2026-11-01", "2026-12-01", now=LATER)
    cells = {(c.partner, c.product): c for c in operator.cells}
    skip = {"partner", "drift"}
    mine_cell = cells[(mine, "equipment-micro")]
    assert mine_cell.model_dump(exclude=skip) == _only(view).model_dump(exclude=skip)
    assert mine_cell.partner == mine
    assert (
        cells[(theirs, "equipment-micro")].claims,
        cells[(theirs, "equipment-micro")].incurred,
    ) == (1, "90.00")
    partners = {p.partner: p for p in operator.partners}
    assert (partners[theirs].incurred, partners[theirs].product) == ("90.00", None)
    # every line is a sum of cells: per product, per partner and in total
    for figure in ("written_premium", "earned_premium", "incurred", "exposure_hours"):
        total = D(getattr(operator.total, figure))
        assert sum(D(getattr(c, figure)) for c in operator.cells) == total
        assert sum(D(getattr(p, figure)) for p in operator.products) == total
        assert sum(D(getattr(p, figure)) for p in operator.partners) == total


def test_a_period_is_checked_and_an_unknown_tenant_is_not_found(uow: SqlUnitOfWork) -> None:
    with pytest.raises(InvalidInput) as raised:
        ondemand_portfolio.tenant_portfolio(uow, "TEN-2026-999999", "2026-12-01", "2026-11-01")
    assert raised.value.field == "to"
    with pytest.raises(InvalidInput) as raised:
        ondemand_portfolio.tenant_portfolio(uow, "TEN-2026-999999", "2026-02-30", None)
    assert raised.value.field == "from"
    with pytest.raises(NotFound):
        ondemand_portfolio.tenant_portfolio(uow, "TEN-2026-999999", now=BOOKED_AT)
    empty = ondemand_portfolio.tenant_portfolio(uow, new_tenant(uow), now=BOOKED_AT)
    assert (empty.products, empty.alerts) == ([], [])
    assert (empty.total.exposure_hours, empty.total.loss_ratio) == ("0.00", None)


def test_an_early_stop_nets_its_refund_and_earns_the_kept_premium_over_the_shorter_cover(
    uow: SqlUnitOfWork, signer_issuer: CertificateIssuer
) -> None:
    tenant = new_tenant(uow)
    used = book(uow, tenant, signer_issuer)
    first = used[0]
    stopped_at = first.window.start + timedelta(minutes=90)
    stop = ondemand_windows.stop_window(uow, tenant, first.window.id, {}, ACTOR, now=stopped_at)
    refunded = sum(
        (D(x.amount) for x in stop.refund.lines if x.kind in {"premium", "surcharge"}), D(0)
    )
    assert refunded < 0  # two of the four hours given back (every started hour is due)
    line = _only(
        ondemand_portfolio.tenant_portfolio(uow, tenant, "2026-11-01", "2026-12-01", now=LATER)
    )
    assert line.exposure_hours == "5.50"  # 1 h 30 of the stopped window + 4 h
    written = premium(first) + refunded + premium(used[1])
    assert D(line.written_premium) == written
    assert D(line.earned_premium) == written  # the stopped window ended: all it kept is earned
