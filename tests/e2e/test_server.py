"""The real server process (`polis serve`) and a real browser (headless Chromium via Playwright)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.live import BROWSER_ARGS, require_chromium, serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`polis serve` on a fresh embedded database (migrated by the server at start)."""
    with serve(tmp_path_factory.mktemp("var")) as base:
        yield base


def test_the_served_app_answers_health_docs_and_pages(server: str) -> None:
    health = httpx.get(f"{server}/health").json()
    assert health["status"] == "ok"
    assert health["database"] == "ok"
    assert "swagger" in httpx.get(f"{server}/docs").text.lower()
    assert "Polis" in httpx.get(f"{server}/").text
    assert httpx.get(f"{server}/crm").status_code == 200


@pytest.mark.browser
def test_a_person_fills_a_claim_history_and_reads_the_coefficient(server: str) -> None:
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=BROWSER_ARGS,
        )
        try:
            page = browser.new_page()
            page.goto(f"{server}/crm")
            assert page.locator("html").get_attribute("lang") == "fr"
            page.fill("#start", "0,68")
            page.fill("#full_1", "2")
            page.fill("#reference_premium", "500")
            page.click("#compute")
            page.wait_for_selector("#result")
            # 0.68 → 0.85 → 1.06 in period 1, then 1.00, 0.95, 0.90, 0.85
            assert page.inner_text("#final") == "0.85"
            cells = page.locator("#result-table td.coef").all_inner_texts()
            assert cells == ["1.06", "1.00", "0.95", "0.90", "0.85"]
            assert page.locator("#plot svg").count() == 1
            page.click("#lang-switch")
            assert page.locator("html").get_attribute("lang") == "en"
        finally:
            browser.close()
