"""Web pages through the real app: language, the bonus-malus form, errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.db


def _form(**fields: str) -> dict[str, str]:
    base = {"start": "1.00", "usage": "standard", "years_at_floor": "0", "rows": "3"}
    for i in range(1, 4):
        for kind in ("full", "partial", "none", "neutral"):
            base[f"{kind}_{i}"] = "0"
    return base | fields


def test_the_home_page_speaks_french_by_default_and_says_what_polis_does(
    client: TestClient,
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert "Bonus-malus" in page.text
    assert "/crm" in page.text


def test_the_language_switch_remembers_english(client: TestClient) -> None:
    switched = client.get("/lang/en?next=/crm", follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/crm"
    page = client.get("/crm")
    assert '<html lang="en">' in page.text
    assert "Compute" in page.text
    client.get("/lang/fr")
    assert "Calculer" in client.get("/crm").text


def test_the_language_switch_never_redirects_off_site(client: TestClient) -> None:
    response = client.get("/lang/en?next=//evil.example/", follow_redirects=False)
    assert response.headers["location"] == "/"


def test_the_crm_form_computes_year_by_year_with_a_plot(client: TestClient) -> None:
    page = client.post("/crm", data=_form(full_2="1", reference_premium="600"))
    assert page.status_code == 200
    assert '<output id="final">1.12</output>' in page.text  # 1.00 → 0.95 → 1.18 → 1.12
    assert "<svg" in page.text
    assert "708.00 €" in page.text  # 600 × 1.18


def test_adding_a_period_keeps_what_was_typed(client: TestClient) -> None:
    page = client.post("/crm", data=_form(full_1="2", action="add"))
    assert 'name="full_4"' in page.text
    assert 'id="full_1" value="2"' in page.text


def test_a_bad_form_value_is_shown_with_its_field(client: TestClient) -> None:
    page = client.post("/crm", data=_form(full_2="many"))
    assert page.status_code == 422
    assert "full_2" in page.text
    out_of_bounds = client.post("/crm", data=_form(start="7"))
    assert out_of_bounds.status_code == 422
    assert "<code>start</code>" in out_of_bounds.text


def test_static_files_are_served_locally(client: TestClient) -> None:
    css = client.get("/static/polis.css")
    assert css.status_code == 200
    assert "--accent" in css.text
    assert "http" not in client.get("/crm").text.split("<body>")[0].replace("http-equiv", "")


def test_the_home_page_leads_to_the_insurers_portfolio_in_both_languages(
    client: TestClient,
) -> None:
    french = client.get("/")
    assert 'href="/portfolio"' in french.text
    assert "Voir le portefeuille" in french.text
    client.get("/lang/en?next=/", follow_redirects=False)
    english = client.get("/")
    assert '<html lang="en">' in english.text
    assert "See the portfolio" in english.text
