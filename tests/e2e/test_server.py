"""The real server process (`polis serve`) and a real browser (headless Chromium via Playwright)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`polis serve` on a fresh embedded database (migrated by the server at start)."""
    var = tmp_path_factory.mktemp("var")
    port = _free_port()
    env = os.environ | {
        "POLIS_DATABASE_URL": f"sqlite:///{var}/polis.db",
        "POLIS_VAR_DIR": str(var),
        "POLIS_PORT": str(port),
        "POLIS_LOG_FORMAT": "json",
    }
    script = Path(sys.executable).parent / "polis"
    log = (var / "server.log").open("w")
    process = subprocess.Popen(
        [str(script), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer /health: " + (var / "server.log").read_text())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_the_served_app_answers_health_docs_and_pages(server: str) -> None:
    health = httpx.get(f"{server}/health").json()
    assert health["status"] == "ok"
    assert health["database"] == "ok"
    assert "swagger" in httpx.get(f"{server}/docs").text.lower()
    assert "Polis" in httpx.get(f"{server}/").text
    assert httpx.get(f"{server}/crm").status_code == 200


def _require_chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return CHROMIUM


@pytest.mark.browser
def test_a_person_fills_a_claim_history_and_reads_the_coefficient(server: str) -> None:
    from playwright.sync_api import sync_playwright

    executable = _require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
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
