"""A real browser on ``polis serve``: the handler opens the queue, opens the claim and reads the
explained settlement offer."""

from __future__ import annotations

from pathlib import Path

import pytest

from polis.services import claim_settlement, claims, policies, tenants
from polis.store import SqlUnitOfWork, make_engine, session_factory
from tests.claim_fixtures import claim_payload, policy_payload
from tests.e2e.live import BROWSER_ARGS, require_chromium, serve


def _seed(database_url: str) -> tuple[str, str]:
    """A tenant, its API key and a claim with an offer made: (key, claim number)."""
    engine = make_engine(database_url)
    try:
        factory = session_factory(engine)

        def uow() -> SqlUnitOfWork:
            return SqlUnitOfWork(factory)

        tenant = tenants.create_tenant(uow(), "Assureur du navigateur", actor="test").id
        _, key = tenants.create_api_key(uow(), tenant, "browser", actor="test")
        policy = policies.register_policy(uow(), tenant, policy_payload(), actor="test").id
        claim = claims.declare_claim(uow(), tenant, claim_payload(policy), "test").claim.id
        claims.change_status(uow(), tenant, claim, "under_assessment", "test")
        facts = {"valuation": {"depreciation_rate": "0.20"}, "actual_value": "1500"}
        claim_settlement.make_offer(uow(), tenant, claim, facts, "test")
    finally:
        engine.dispose()
    return key, claim


@pytest.mark.browser
def test_the_handler_opens_the_queue_then_the_claim_and_reads_the_explained_offer(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with serve(tmp_path) as base:
        key, claim = _seed(f"sqlite:///{tmp_path}/polis.db")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"{base}/claims/queue")
                page.wait_for_selector("#login-form")  # no session yet: the sign-in page
                page.fill("#api_key", key)
                page.click("#login")
                page.wait_for_selector("#queue")
                row = page.locator(f'tr[data-claim="{claim}"]')
                assert "Offre faite" in row.inner_text()
                row.locator("a.claim-link").click()
                page.wait_for_selector("#offer")
                assert page.inner_text("#claim-status") == "Offre faite"
                assert page.inner_text("#indemnity") == "810,00 €"
                reasons = page.locator("#retained tbody tr").all_inner_texts()
                assert any("Vétusté" in r and "240,00 €" in r for r in reasons)
                assert any("Franchise" in r and "150,00 €" in r for r in reasons)
                steps = page.locator("#explanation tbody tr td:first-child").all_inner_texts()
                assert steps[0] == "dommage"  # the steps in the page's language
                assert steps[-1] == "indemnité"
                page.click("#lang-switch")
                page.wait_for_selector("#offer")
                assert page.inner_text("#indemnity") == "810.00 €"
                steps = page.locator("#explanation tbody tr td:first-child").all_inner_texts()
                assert (steps[0], steps[-1]) == ("loss", "indemnity")
                assert page.locator("html").get_attribute("lang") == "en"
            finally:
                browser.close()
