"""A real browser on ``polis serve``, the "Done when" journey of issue 5: sign up, choose the
equipment product, activate for the next two hours, download the certificate and verify it,
connect an ICS calendar and see a window appear, declare a claim with a photo."""

from __future__ import annotations

import io
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from polis.kernel.time import PARIS
from polis.services import load_demo
from polis.store import SqlUnitOfWork, make_engine, session_factory
from tests.e2e.live import BROWSER_ARGS, require_chromium, serve

SCREENSHOT = Path(os.environ.get("POLIS_ONDEMAND_SCREENSHOT", "/tmp/ondemand.png"))


def _demo_tenant(database_url: str) -> None:
    """What ``make run`` does after migrating: ``polis demo`` (the tenant the pages act for)."""
    engine = make_engine(database_url)
    try:
        load_demo(SqlUnitOfWork(session_factory(engine)))
    finally:
        engine.dispose()


def _mission_tomorrow() -> bytes:
    """An ICS calendar with one confirmed mission tomorrow, 09:00–12:00 in Paris."""
    tomorrow = (datetime.now(PARIS) + timedelta(days=1)).strftime("%Y%m%d")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polis browser test//FR\r\n"
        "BEGIN:VEVENT\r\nUID:mariage-dupont@polis.test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID=Europe/Paris:{tomorrow}T090000\r\n"
        f"DTEND;TZID=Europe/Paris:{tomorrow}T120000\r\n"
        "SUMMARY:Mariage Dupont\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.browser
def test_sign_up_activate_download_verify_calendar_and_claim(tmp_path: Path) -> None:
    from playwright.sync_api import FilePayload, sync_playwright

    executable = require_chromium()
    with serve(tmp_path) as base:
        _demo_tenant(f"sqlite:///{tmp_path}/polis.db")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
            try:
                context = browser.new_context(accept_downloads=True, locale="fr-FR")
                page = context.new_page()

                # sign up (a person), then the demo shortcut verifies the identity
                page.goto(f"{base}/")
                page.click("#nav-ondemand")
                page.wait_for_selector("#product-equipment-micro")
                page.click("#go-signup")
                page.wait_for_selector("#signup-form")
                assert page.is_hidden("#business-fields")  # the few lines of inline JS
                page.fill("#name", "Jeanne Martin")
                page.fill("#email", "jeanne@martin.example")
                page.fill("#activity", "photographe de mariage")
                page.fill("#line1", "3 allée des Pins")
                page.fill("#postcode", "33000")
                page.fill("#city", "Bordeaux")
                page.click("#signup")
                page.wait_for_selector("#welcome")
                assert page.get_attribute("#verification", "data-status") == "pending"
                page.click("#verify")
                page.wait_for_selector('#verification[data-status="verified"]')

                # choose the equipment product: options, exclusions in plain words, subscribe
                page.click("#nav-catalogue")
                page.click("#choose-equipment-micro")
                page.wait_for_selector("#subscribe-form")
                assert page.locator(".od-exclusion").count() == 3
                page.fill("#description", "Canon EOS R6 et deux objectifs")
                page.fill("#serial", "R6-0042")
                page.select_option("#equipment", "camera")
                page.check("#accept")
                page.click("#subscribe-button")
                page.wait_for_selector("#subscribed")
                assert re.fullmatch(r"[0-9a-f]{64}", page.inner_text("#terms-hash"))
                subscription = page.url.split("?")[0]

                # activate for the next two hours: the price and the certificate
                page.fill("#hours", "2")
                page.click("#activate-now")
                page.wait_for_selector('#done[data-done="activated"]')
                assert page.get_attribute("#window", "data-phase") == "active"
                assert page.inner_text("#duration").startswith("2 h")
                assert page.inner_text("#total").endswith("€")
                assert page.locator('table.od-entry[data-reason="activation"]').count() == 1
                page.screenshot(path=str(SCREENSHOT), full_page=True)

                with page.expect_download() as download_info:
                    page.click("#certificate-pdf")
                download = download_info.value
                assert re.fullmatch(r"ATT-\d{4}-\d{6}\.pdf", download.suggested_filename)
                pdf = Path(download.path()).read_bytes()
                assert pdf.startswith(b"%PDF")

                page.click("#certificate-verify")
                page.wait_for_selector("#verdict")
                assert page.get_attribute("#verdict", "data-status") == "valid"
                assert "Attestation valide" in page.inner_text("#verdict-title")

                # connect a calendar with a mission tomorrow: a window appears
                page.goto(subscription)
                page.set_input_files(
                    "#ics",
                    files=[
                        FilePayload(
                            name="missions.ics",
                            mimeType="text/calendar",
                            buffer=_mission_tomorrow(),
                        )
                    ],
                )
                page.click("#calendar-sync")
                page.wait_for_selector("#calendar-windows")
                rows = page.locator("#calendar-windows tbody tr")
                assert rows.count() == 1
                assert rows.first.get_attribute("data-phase") == "scheduled"
                assert "09:00" in rows.first.inner_text()
                page.goto(subscription)
                assert page.locator('#windows tr[data-source="calendar"]').count() == 1
                assert "Mariage Dupont" in page.inner_text("#calendar")

                # declare a claim with a photo on the window in force
                page.click("#claim-link")
                page.wait_for_selector("#claim-form")
                page.select_option("#peril", "equipment:accidental_damage")
                page.fill("#description", "L'objectif est tombé du trépied pendant la séance.")
                page.fill("#estimated_amount", "450")
                page.set_input_files(
                    "#photos",
                    files=[
                        FilePayload(name="objectif.jpg", mimeType="image/jpeg", buffer=_photo())
                    ],
                )
                page.click("#declare")
                page.wait_for_selector("#claim-number")
                assert re.fullmatch(r"CLM-\d{4}-\d{6}", page.inner_text("#claim-number"))
                assert page.locator("#evidence li").count() == 1
                page.click("#insured-link")
                page.wait_for_selector("#claim-status")
                assert page.get_attribute("#claim-status", "data-status") == "declared"
            finally:
                browser.close()
