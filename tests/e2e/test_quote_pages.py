"""The quote pages: the catalogue, a form per product, the breakdown of the service's quote."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from polis.kernel.errors import InvalidInput
from polis.policies.catalogue import default_catalogue
from polis.policies.product import Product
from polis.services.quotes import quote
from polis.web.i18n import LANGS, translator
from polis.web.quote_form import (
    NBSP,
    NNBSP,
    Formatter,
    form_fields,
    form_values,
    normalise_number,
    parse_as_of,
    parse_risk,
)
from tests.e2e.live import BROWSER_ARGS, require_chromium, serve

ENTRIES = default_catalogue().entries()
PRODUCT_IDS = sorted({e.product.id for e in ENTRIES})
HOME_FORM = {
    "dwelling": "house",
    "zone": "B",
    "rebuild_value": "250000",
    "contents_value": "40000",
    "theft_option": "on",
    "as_of": "2025-09-01",
}
HOME_RISK: dict[str, Any] = {
    "dwelling": "house",
    "zone": "B",
    "rebuild_value": "250000",
    "contents_value": "40000",
    "theft_option": True,
    "legal_protection_option": False,
}


def _product(product_id: str) -> Product:
    return default_catalogue().get(product_id).product


def _no_labels(field: str, value: str) -> str | None:
    return None


def _text(page: str) -> str:
    """The visible text of a page, tags removed and spaces collapsed."""
    return html.unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", page)))


def _pre(page: str, element_id: str) -> str:
    found = re.search(rf'<pre id="{element_id}"><code>(.*?)</code></pre>', page, re.S)
    assert found, element_id
    return html.unescape(found.group(1))


def _rows(page: str, css_class: str) -> list[str]:
    """The text of each ``<tr class="css_class …">`` row."""
    return [
        _text(m.group(1))
        for m in re.finditer(rf'<tr class="{css_class}[^"]*"[^>]*>(.*?)</tr>', page, re.S)
    ]


def _sample_risk(product: Product) -> dict[str, Any]:
    """A valid risk: the middle of each range, the first enum value, every option taken."""
    risk: dict[str, Any] = {}
    for name, spec in product.risk.items():
        low = spec.min if spec.min is not None else Decimal(0)
        high = spec.max if spec.max is not None else low + 1000
        middle = (low + high) / 2
        if spec.type == "enum":
            risk[name] = (spec.values or [""])[0]
        elif spec.type == "boolean":
            risk[name] = True
        elif spec.type == "integer":
            risk[name] = int(middle)
        elif spec.type == "decimal":
            risk[name] = format(middle.quantize(Decimal(1)), "f")
        else:
            risk[name] = [format(middle.quantize(Decimal(1)), "f")] * max(spec.min_items, 1)
    return risk


def _as_form(risk: dict[str, Any], as_of: str) -> dict[str, str]:
    data = {"as_of": as_of}
    for name, value in risk.items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list):
            data[name] = "\n".join(value)
        else:
            data[name] = str(value)
    return data


# ------------------------------------------------------------------------ pure helpers (no app)


def test_amounts_are_written_the_french_way_in_french_and_the_english_way_in_english() -> None:
    fr, en = Formatter("fr"), Formatter("en")
    assert fr.money(Decimal("1234.56")) == f"1{NNBSP}234,56{NBSP}€"
    assert fr.money("1234567.8") == f"1{NNBSP}234{NNBSP}567,80{NBSP}€"
    assert fr.money(Decimal("0.005")) == f"0,01{NBSP}€"  # half-up to the cent
    assert fr.money("-6715.12") == f"-6{NNBSP}715,12{NBSP}€"
    assert en.money(Decimal("1234.56")) == "€1,234.56"
    assert en.money("-6715.12") == "-€6,715.12"
    assert en.money(12) == "€12.00"


def test_rates_factors_numbers_and_dates_follow_the_language() -> None:
    fr, en = Formatter("fr"), Formatter("en")
    assert fr.rate("0.30") == f"30{NNBSP}%"
    assert fr.rate("0.134") == f"13,4{NNBSP}%"
    assert fr.rate("0.00062") == f"0,062{NNBSP}%"
    assert en.rate("0.134") == "13.4%"
    assert fr.factor("1.1") == "× 1,10"
    assert fr.factor("0.875") == "× 0,875"
    assert fr.number("155.00000") == "155"
    assert fr.number("250000") == f"250{NNBSP}000"
    assert en.number("2.0475") == "2.0475"
    assert fr.date(dt.date(2025, 9, 1)) == "01/09/2025"
    assert en.date("2025-09-01") == "2025-09-01"


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("250 000", "250000"),
        ("0,5", "0.5"),
        ("1 200 €", "1200"),
        (f"1{NNBSP}234,5", "1234.5"),
        (f"3{NBSP}000{NBSP}000", "3000000"),
        ("12.5", "12.5"),
        ("1,234.5", "1,234.5"),  # ambiguous: left for the service to refuse with its field
        ("abc", "abc"),
    ],
)
def test_numbers_typed_the_french_way_are_read(typed: str, sent: str) -> None:
    assert normalise_number(typed) == sent


def test_the_form_of_a_product_is_generated_from_its_risk_fields() -> None:
    fields = {f.name: f for f in form_fields(_product("home"), "fr", _no_labels)}
    assert list(fields) == list(_product("home").risk)
    dwelling, zone, rebuild = fields["dwelling"], fields["zone"], fields["rebuild_value"]
    assert (dwelling.widget, dwelling.required, dwelling.default) == ("select", True, "")
    assert [o.value for o in dwelling.options] == ["house", "apartment"]
    assert (zone.required, zone.default) == (False, "B")
    assert (rebuild.widget, rebuild.min, rebuild.max, rebuild.step) == (
        "number",
        "20000",
        "3000000",
        "any",
    )
    assert rebuild.label == "Valeur de reconstruction à neuf (€)"
    assert (fields["occupants"].step, fields["occupants"].default) == ("1", "2")
    assert (fields["theft_option"].widget, fields["theft_option"].default) == ("checkbox", "")
    english = {f.name: f for f in form_fields(_product("home"), "en", _no_labels)}
    assert english["rebuild_value"].label == "Replacement-new value of the building (€)"
    stock = {f.name: f for f in form_fields(_product("stock-floating"), "fr", _no_labels)}
    assert (stock["declarations"].widget, stock["declarations"].max_items) == ("textarea", 12)


def test_a_posted_form_becomes_the_risk_of_the_api() -> None:
    fields = form_fields(_product("home"), "fr", _no_labels)
    posted = {
        "dwelling": "house",
        "zone": "",
        "rebuild_value": "250 000",
        "contents_value": "40 000,50",
        "occupants": "3",
        "theft_option": "on",
    }
    assert parse_risk(fields, posted) == {
        "dwelling": "house",
        "rebuild_value": "250000",
        "contents_value": "40000.50",
        "occupants": 3,
        "theft_option": True,
        "legal_protection_option": False,
    }
    assert form_values(fields, posted)["theft_option"] == "on"
    assert form_values(fields)["zone"] == "B"
    stock = form_fields(_product("stock-floating"), "fr", _no_labels)
    declared = parse_risk(stock, {"declarations": "2 800 000\n3 200 000\r\n\n3000000;3,5e6"})
    assert declared["declarations"] == ["2800000", "3200000", "3000000", "3.5e6"]


def test_the_quote_date_is_read_from_a_date_input_or_typed_the_french_way() -> None:
    today = dt.date(2026, 1, 15)
    assert parse_as_of("", today) == today
    assert parse_as_of("2025-07-01", today) == dt.date(2025, 7, 1)
    assert parse_as_of("01/07/2025", today) == dt.date(2025, 7, 1)
    with pytest.raises(InvalidInput) as caught:
        parse_as_of("31/02/2025", today)
    assert caught.value.field == "as_of"


def test_every_enum_value_of_the_demo_products_has_a_french_and_an_english_label() -> None:
    demo = {"home", "professional-liability", "stock-floating", "term-life-10", "equipment-micro"}
    for lang in LANGS:
        t = translator(lang)
        for entry in ENTRIES:
            if entry.product.id not in demo:
                continue
            for name, spec in entry.product.risk.items():
                for value in spec.values or []:
                    key = f"quote.value.{name}.{value}"
                    assert t(key) != key, (lang, key)


# ------------------------------------------------------------------------------- the pages


@pytest.mark.db
def test_the_catalogue_page_lists_every_product_in_french_then_in_english(
    client: TestClient,
) -> None:
    page = client.get("/quote")
    assert page.status_code == 200
    text = _text(page.text)
    for entry in ENTRIES:
        p = entry.product
        assert p.name.fr in text
        assert p.description is None or p.description.fr in text
        assert f'href="/quote/{p.id}' in page.text
        assert p.version in text
    assert "Mutuelle" in text
    assert "Société d'assurance" in text
    assert "01/01/2024" in text
    client.get("/lang/en")
    english = _text(client.get("/quote").text)
    for entry in ENTRIES:
        assert entry.product.name.en in english
    assert "Build a quote" in english
    assert "Mutual" in english
    client.get("/lang/fr")


@pytest.mark.db
@pytest.mark.parametrize("product_id", PRODUCT_IDS)
def test_each_product_form_shows_its_fields_with_labels_options_and_bounds(
    client: TestClient, product_id: str
) -> None:
    product = _product(product_id)
    page = client.get(f"/quote/{product_id}")
    assert page.status_code == 200
    for name, spec in product.risk.items():
        tag = re.search(rf'<(input|select|textarea)[^>]* name="{name}"[^>]*>', page.text)
        assert tag, name
        if spec.label:
            assert spec.label.fr in _text(page.text)
        for value in spec.values or []:
            assert f'<option value="{value}"' in page.text
        if spec.min is not None and spec.type != "decimal_list":
            assert f'min="{format(spec.min, "f")}"' in tag.group(0)
        if spec.max is not None and spec.type != "decimal_list":
            assert f'max="{format(spec.max, "f")}"' in tag.group(0)
    assert 'type="date" name="as_of"' in page.text


@pytest.mark.db
def test_the_form_prefills_defaults_and_today(client: TestClient) -> None:
    page = client.get("/quote/home").text
    assert '<option value="B" selected>' in page
    assert 'id="occupants" value="2"' in page
    assert re.search(r'id="as_of" value="\d{4}-\d{2}-\d{2}"', page)


@pytest.mark.db
def test_a_home_quote_shows_the_service_total_and_every_line(client: TestClient) -> None:
    page = client.post("/quote/home", data=HOME_FORM)
    assert page.status_code == 200, _text(page.text)[:2000]
    view = quote("home", HOME_RISK, as_of=dt.date(2025, 9, 1))
    fr = Formatter("fr")
    assert f'<output id="total" data-amount="{view.total_premium}">' in page.text
    assert f">{fr.money(view.total_premium)}</output>" in page.text
    text = _text(page.text)
    assert view.product_sha256
    assert view.product_sha256 in text
    assert "Incendie et dommages au bâtiment" in text
    assert "Vol et vandalisme" in text
    taxes = _rows(page.text, "tax")
    assert len(taxes) == len(view.taxes)
    for row, tax in zip(taxes, view.taxes, strict=True):
        assert fr.rate(tax.rate) in row
        assert fr.money(tax.amount) in row
        assert tax.reference in row
    surcharges = _rows(page.text, "surcharge")
    assert len(surcharges) == 3
    assert all(f"20{NNBSP}%" in row and "Soumise à la taxe" in row for row in surcharges)
    loadings = _rows(page.text, "loading")
    assert len(loadings) == len(view.loadings)
    assert any("frais de gestion" in row and "en % de la prime pure" in row for row in loadings)
    assert "Prime pure minimale" in text
    assert "non appliquée" in text
    assert "du 01/09/2025 au 01/09/2026 (exclu), 365 jours" in text
    assert [line.formula for line in view.explanation][-1] in text


@pytest.mark.db
def test_the_json_shown_is_the_api_response_for_the_request_shown(client: TestClient) -> None:
    page = client.post("/quote/home", data=HOME_FORM).text
    request = json.loads(_pre(page, "json-request"))
    assert request == {"product": "home", "risk": HOME_RISK, "as_of": "2025-09-01"}
    api = client.post("/v1/quotes", json=request)
    assert api.status_code == 200
    assert json.loads(_pre(page, "json-response")) == api.json()
    assert "/v1/quotes" in _pre(page, "curl")
    assert "polis quote home --input - --as-of 2025-09-01" in _pre(page, "cli")


@pytest.mark.db
@pytest.mark.parametrize("product_id", PRODUCT_IDS)
def test_every_product_quotes_on_the_page_as_in_the_service(
    client: TestClient, product_id: str
) -> None:
    risk = _sample_risk(_product(product_id))
    day = dt.date(2025, 9, 1)
    page = client.post(f"/quote/{product_id}", data=_as_form(risk, day.isoformat()))
    error: InvalidInput | None = None
    try:
        view = quote(product_id, risk, as_of=day)
    except InvalidInput as e:  # a life product without POLIS_DATA_DIR: same error, same field
        error = e
    if error is not None:
        assert page.status_code == 422
        assert f"<code>{error.field}</code>" in page.text
        return
    assert page.status_code == 200, _text(page.text)[:2000]
    assert f'data-amount="{view.total_premium}"' in page.text
    shown = json.loads(_pre(page.text, "json-response"))
    assert shown == view.model_dump(mode="json")


@pytest.mark.db
def test_french_decimal_commas_and_spaces_give_the_same_quote(client: TestClient) -> None:
    typed = HOME_FORM | {"rebuild_value": "250 000", "contents_value": "40 000,50"}
    page = client.post("/quote/home", data=typed)
    view = quote("home", HOME_RISK | {"contents_value": "40000.50"}, as_of=dt.date(2025, 9, 1))
    assert f'data-amount="{view.total_premium}"' in page.text


@pytest.mark.db
@pytest.mark.parametrize(
    ("change", "field", "input_name"),
    [
        ({"rebuild_value": "10"}, "risk.rebuild_value", "rebuild_value"),
        ({"rebuild_value": "beaucoup"}, "risk.rebuild_value", "rebuild_value"),
        ({"occupants": "2,5"}, "risk.occupants", "occupants"),
        ({"occupants": "40"}, "risk.occupants", "occupants"),
        ({"zone": "Z"}, "risk.zone", "zone"),
        ({"dwelling": ""}, "risk.dwelling", "dwelling"),
        ({"as_of": "2023-01-01"}, "as_of", "as_of"),
        ({"as_of": "demain"}, "as_of", "as_of"),
    ],
)
def test_a_bad_value_is_a_422_naming_the_field_next_to_the_form(
    client: TestClient, change: dict[str, str], field: str, input_name: str
) -> None:
    page = client.post("/quote/home", data=HOME_FORM | change)
    assert page.status_code == 422
    assert f"<code>{field}</code>" in page.text
    assert 'id="result"' not in page.text
    tag = re.search(rf'<(input|select)[^>]* (name|id)="{input_name}"[^>]*>', page.text)
    assert tag
    assert 'aria-invalid="true"' in tag.group(0)
    assert f'id="error-{input_name}"' in page.text
    assert 'id="quote-form"' in page.text  # the form is shown again with what was typed


@pytest.mark.db
def test_a_bad_declaration_names_its_line(client: TestClient) -> None:
    data = {"declarations": "2800000\n-5\n3000000", "as_of": "2025-09-01"}
    page = client.post("/quote/stock-floating", data=data)
    assert page.status_code == 422
    assert "<code>risk.declarations[1]</code>" in page.text
    assert "2800000\n-5\n3000000</textarea>" in page.text


@pytest.mark.db
def test_an_unknown_product_or_version_is_a_404_page(client: TestClient) -> None:
    for response in (
        client.get("/quote/car"),
        client.post("/quote/car", data={"as_of": "2025-09-01"}),
        client.get("/quote/home", params={"version": "0.1"}),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Produit introuvable" in response.text
        assert 'href="/quote"' in response.text


@pytest.mark.db
def test_a_pinned_version_is_kept_by_the_form(client: TestClient) -> None:
    version = default_catalogue().versions("home")[-1].product.version
    page = client.get("/quote/home", params={"version": version}).text
    assert f'<input type="hidden" name="version" value="{version}">' in page
    result = client.post("/quote/home", data=HOME_FORM | {"version": version})
    assert result.status_code == 200
    assert json.loads(_pre(result.text, "json-request"))["version"] == version


@pytest.mark.db
def test_the_quote_date_changes_the_professional_fire_tax_rate(client: TestClient) -> None:
    data = {"declarations": "2800000\n3200000\n3000000\n3500000", "storage": "warehouse"}
    before = client.post("/quote/stock-floating", data=data | {"as_of": "2025-06-30"}).text
    after = client.post("/quote/stock-floating", data=data | {"as_of": "2025-07-01"}).text
    [tax_before] = _rows(before, "tax")
    [tax_after] = _rows(after, "tax")
    assert f"7{NNBSP}%" in tax_before
    assert "7% for premiums due before 2025-07-01" in tax_before
    assert f"12{NNBSP}%" in tax_after
    assert "LF 2025 art. 113" in tax_after


@pytest.mark.db
def test_the_quote_date_changes_the_cat_nat_surcharge_and_the_fgti(client: TestClient) -> None:
    old = client.post("/quote/home", data=HOME_FORM | {"as_of": "2024-06-30"}).text
    new = client.post("/quote/home", data=HOME_FORM | {"as_of": "2025-01-01"}).text
    assert all(f"12{NNBSP}%" in row for row in _rows(old, "surcharge"))
    assert all(f"20{NNBSP}%" in row for row in _rows(new, "surcharge"))
    [fgti_old] = _rows(old, "contribution")
    [fgti_new] = _rows(new, "contribution")
    assert f"5,90{NBSP}€" in fgti_old
    assert f"6,50{NBSP}€" in fgti_new


@pytest.mark.db
def test_the_breakdown_is_in_english_after_the_switch(client: TestClient) -> None:
    client.get("/lang/en")
    page = client.post("/quote/home", data=HOME_FORM).text
    view = quote("home", HOME_RISK, as_of=dt.date(2025, 9, 1))
    assert f">{Formatter('en').money(view.total_premium)}</output>" in page
    text = _text(page)
    assert "Total premium (taxes included)" in text
    assert "Fire and damage to the building" in text
    assert "House" in text
    assert "Yes" in text
    client.get("/lang/fr")


# ------------------------------------------------------------------------------ the browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`polis serve` on a fresh embedded database."""
    with serve(tmp_path_factory.mktemp("var")) as base:
        yield base


@pytest.mark.browser
def test_a_person_builds_a_home_quote_and_reads_the_tax_lines(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    view = quote("home", HOME_RISK, as_of=dt.date(2025, 9, 1))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{server}/quote")
            page.click("#build-home")
            page.wait_for_selector("#quote-form")
            page.select_option("#dwelling", "house")
            page.fill("#rebuild_value", "250000")
            page.fill("#contents_value", "40000")
            page.check("#theft_option")
            page.fill("#as_of", "2025-09-01")
            page.click("#compute")
            page.wait_for_selector("#result")
            assert page.inner_text("#total") == Formatter("fr").money(view.total_premium)
            rates = page.locator("tr.tax td.rate").all_inner_texts()
            references = page.locator("tr.tax td.ref").all_inner_texts()
            assert rates == [Formatter("fr").rate(t.rate) for t in view.taxes]
            assert references == [t.reference for t in view.taxes]
            assert all("CGI art. 1001" in r for r in references)
            page.screenshot(path=str(tmp_path / "quote.png"), full_page=True)
        finally:
            browser.close()


def _explanation_steps(page: str) -> list[str]:
    """The first cell of each row of the explanation table."""
    table = re.search(
        r'<table class="explanation" id="explanation-table">(.*?)</table>', page, re.S
    )
    assert table, "no explanation table"
    rows = re.findall(r"<tr><td>(.*?)</td>", table.group(1), re.S)
    return [html.unescape(row) for row in rows]


@pytest.mark.db
def test_the_quote_explanation_shows_french_steps_then_english_ones(client: TestClient) -> None:
    french = client.post("/quote/home", data=HOME_FORM)
    assert french.status_code == 200
    steps = _explanation_steps(french.text)
    assert "prime nette" in steps
    assert "prime pure [building]" in steps
    assert "chargement de gestion" in steps
    assert "prime totale TTC" in steps
    assert "net premium" not in steps
    assert '"step": "net premium"' in html.unescape(
        french.text
    )  # the JSON shown keeps the contract

    client.get("/lang/en")
    try:
        english = _explanation_steps(client.post("/quote/home", data=HOME_FORM).text)
    finally:
        client.get("/lang/fr")
    assert "net premium" in english
    assert "pure premium [building]" in english
    assert "prime nette" not in english
    assert len(english) == len(steps)
