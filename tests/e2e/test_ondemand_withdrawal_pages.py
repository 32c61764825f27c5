"""The insured's space shows the withdrawal deadline of each subscription and a "Renoncer" button
that works (French and English); after the deadline, or for a business, no button; a refusal is
shown in plain words."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.e2e.test_ondemand_pages import (
    NOW,
    Clock,
    _error,
    _space,
    _subscribe,
    _window,
    app,
    clock,
    tenant,
    web,
)

pytestmark = pytest.mark.db

__all__ = ["app", "clock", "tenant", "web"]  # fixtures used here


def _block(html: str, sub_id: str) -> str:
    match = re.search(rf'<div class="od-withdrawal" id="withdrawal-{sub_id}".*?</div>', html, re.S)
    assert match is not None, html
    return match.group(0)


def test_the_space_shows_the_deadline_and_the_button_withdraws(
    web: TestClient, clock: Clock
) -> None:
    csrf = _space(web)
    sub_page = _subscribe(web, csrf)
    sub_id = sub_page.rsplit("/", 1)[1]
    _window(web, csrf, sub_page)  # running now, for 2 hours
    space = web.get("/ondemand/me").text
    block = _block(space, sub_id)
    assert 'data-state="open"' in block
    assert 'data-last-day="2026-06-24"' in block
    assert "jusqu&#39;au 24/06/2026 inclus" in block
    assert "L112-2-1" in block
    assert ">Renoncer</button>" in block

    clock.now = NOW + timedelta(hours=1)
    done = web.post(
        f"/ondemand/me/subscriptions/{sub_id}/withdraw", data={"csrf": csrf}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(f"/ondemand/me?withdrawn={sub_id}")
    after = web.get(done.headers["location"]).text
    block = _block(after, sub_id)
    assert 'data-state="withdrawn"' in block
    assert 'class="od-notice"' in block
    assert "Vous avez renoncé à ce contrat le" in block
    assert "Renoncer" not in block

    again = web.post(f"/ondemand/me/subscriptions/{sub_id}/withdraw", data={"csrf": csrf})
    code, _, text = _error(again, 409)
    assert code == "withdrawal.already_withdrawn"
    assert text == "Vous avez déjà renoncé à ce contrat."


def test_after_the_deadline_there_is_no_button_and_a_late_post_is_refused(
    web: TestClient, clock: Clock
) -> None:
    csrf = _space(web)
    sub_id = _subscribe(web, csrf).rsplit("/", 1)[1]
    clock.now = NOW + timedelta(days=15)
    block = _block(web.get("/ondemand/me").text, sub_id)
    assert 'data-state="closed"' in block
    assert "a pris fin le 24/06/2026" in block
    assert "withdraw-form" not in block
    late = web.post(f"/ondemand/me/subscriptions/{sub_id}/withdraw", data={"csrf": csrf})
    code, field, text = _error(late, 409)
    assert (code, field) == ("withdrawal.out_of_time", "at")
    assert text == "Le délai de renonciation de 14 jours est écoulé."


def test_the_space_in_english_and_a_bad_csrf_token(web: TestClient) -> None:
    csrf = _space(web)
    sub_id = _subscribe(web, csrf).rsplit("/", 1)[1]
    web.get("/lang/en?next=/ondemand/me")
    block = _block(web.get("/ondemand/me").text, sub_id)
    assert "until 2026-06-24 included" in block
    assert ">Withdraw</button>" in block
    forged = web.post(f"/ondemand/me/subscriptions/{sub_id}/withdraw", data={"csrf": "x"})
    assert forged.status_code in {403, 422}
    assert 'data-state="open"' in _block(web.get("/ondemand/me").text, sub_id)


def test_another_space_cannot_withdraw_my_subscription(web: TestClient, app: object) -> None:
    csrf = _space(web)
    sub_id = _subscribe(web, csrf).rsplit("/", 1)[1]
    with TestClient(app) as other:  # type: ignore[arg-type]
        other_csrf = _space(other)
        response = other.post(
            f"/ondemand/me/subscriptions/{sub_id}/withdraw", data={"csrf": other_csrf}
        )
        assert response.status_code == 404
    assert 'data-state="open"' in _block(web.get("/ondemand/me").text, sub_id)
