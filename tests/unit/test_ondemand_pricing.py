"""Pricing of on-demand windows: unit rates, minimum charge, daily cap, DST, overlaps, tiers, taxes.

Equipment camera kit worth ≤ 1,000 €: 0.35 × 1.30 = **0.455 €/h** and 2.20 × 1.30 = **2.86 €/day**
(pure), minimum charge **1.50**; loadings 30 % of pure and 20 % of net; cat-nat 20 %; TSCA 9 %;
activation fee 0.50; FGTI pro-rated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from polis.cli import app
from polis.kernel.time import Window, to_local
from polis.ondemand import (
    Activation,
    ChargeKind,
    Customer,
    CustomerHistory,
    CustomerLimits,
    LineKind,
    MonthVolume,
    OnDemandTerms,
    RateCard,
    Subscription,
    TermsNotFound,
    UsageBook,
    activate,
    default_terms,
    extend,
    limits_for,
    month_volume,
    open_window,
    parse_terms,
    price_time,
)
from polis.ondemand.intervals import by_local_day, length, union
from polis.ondemand.lines import total_of
from polis.ondemand.terms import TermsFileError
from polis.policies import Catalogue, default_catalogue, parse_product, quote_risk
from polis.rating.pure import Unit
from tests.unit.test_ondemand_windows import paris, subscription_of, utc, verified_business

D = Decimal
HOUR_RATE = D("0.455")
DAY_PRICE = D("2.86")
CATALOGUE_DIR = Path(__file__).resolve().parents[2] / "src" / "polis" / "policies" / "catalogue"
TERMS_DIR = CATALOGUE_DIR / "ondemand"
runner = CliRunner()


@dataclass(frozen=True)
class Seller:
    """A subscription ready to activate: the customer, limits, rate card and terms."""

    subscription: Subscription
    card: RateCard
    terms: OnDemandTerms
    customer: Customer
    limits: CustomerLimits

    def activate(
        self,
        start: datetime,
        end: datetime,
        *,
        book: UsageBook | None = None,
        volume: MonthVolume | None = None,
        wid: str = "W-1",
        ref: str | None = None,
    ) -> Activation:
        return activate(
            self.subscription,
            self.customer,
            self.limits,
            self.card,
            self.terms,
            window_id=wid,
            now=start - timedelta(minutes=1),
            book=book or UsageBook(),
            volume=volume,
            object_ref=ref,
            start=start,
            end=end,
        )


def seller(
    product_id: str = "equipment-micro",
    unit: Unit = Unit.HOUR,
    *,
    risk: Mapping[str, object] | None = None,
    items: tuple[str, ...] = ("camera-kit",),
    geofence_ref: str | None = None,
    sum_insured: Decimal | None = None,
) -> Seller:
    subscription, card, terms = subscription_of(
        product_id,
        unit=unit,
        risk=risk,
        items=items,
        geofence_ref=geofence_ref,
        sum_insured=sum_insured,
    )
    customer = verified_business()
    limits = limits_for(customer, CustomerHistory(), at=utc(2025, 1, 7))
    return Seller(subscription, card, terms, customer, limits)


EQUIPMENT = seller()


def risk_quote_total(hours: int, as_of: datetime, unit: str = "hour") -> Decimal:
    risk = {"equipment": "camera", "value": "1000", "unit": unit, "quantity": hours}
    product = default_catalogue().get("equipment-micro").product
    return quote_risk(product, risk, as_of=to_local(as_of).date()).total_premium


# ------------------------------------------------------------------------- products and terms


def test_every_on_demand_product_has_terms_with_plain_exclusions() -> None:
    book = default_terms()
    assert book.products() == [
        ("delivery-rounds-weekend", "2025.1"),
        ("equipment-micro", "2025.1"),
        ("equipment-topup", "2026.1"),
        ("event-liability-day", "2025.1"),
        ("warehouse-goods-day", "2025.1"),
    ]
    for product_id, version in book.products():
        terms = book.get(product_id, version).terms
        assert terms.exclusions
        for exclusion in terms.exclusions:
            for text in (exclusion.text, exclusion.covered, exclusion.not_covered):
                assert text.fr
                assert text.en


def test_a_product_not_sold_on_demand_has_no_terms() -> None:
    with pytest.raises(TermsNotFound) as error:
        default_terms().get("home", "2025.1")
    assert error.value.code == "ondemand.terms_not_found"


@pytest.mark.parametrize(
    ("product_id", "risk", "total"),
    [
        # 9.00 × 0.80 × 1.00 × 1.00 × 1.00 = 7.20 pure; net 7.20 × 1.25 / 0.85 = 10.59;
        # TSCA 9 % 0.95; fee 1.00 + 0.09 → 12.63
        (
            "event-liability-day",
            {"event": "photo_shoot", "attendees": 40, "limit": "1000000", "deductible": "150"},
            D("12.63"),
        ),
        # fire 0.40 × 1.7 × 0.9 = 0.61, theft 0.60 × 1.7 × 0.9 = 0.92 (pure); nets 0.89 and 1.35;
        # cat-nat 0.18 + 0.27; TSCA 12 % (fire, due after 2025-07-01) 0.13 and 9 % 0.15;
        # fee 0.50 + 0.06; FGTI 6.50 / 365 = 0.02 → 3.55
        (
            "warehouse-goods-day",
            {"goods": "dry_goods", "stock_value": "50000", "deductible": "1000"},
            D("3.55"),
        ),
        # 2.40 per round; net 2.40 × 1.20 / 0.85 = 3.39; TSCA 0.31 → 3.70
        (
            "delivery-rounds-weekend",
            {"vehicle": "bike", "limit": "500000", "unit": "act"},
            D("3.70"),
        ),
    ],
)
def test_the_new_products_quote_through_polis_quote(
    product_id: str, risk: dict[str, object], total: Decimal
) -> None:
    request = {**risk, "quantity": 1}
    result = runner.invoke(
        app,
        ["quote", product_id, "--input", "-", "--as-of", "2025-09-01"],
        input=json.dumps(request),
    )
    assert result.exit_code == 0, result.output
    assert D(json.loads(result.stdout)["total_premium"]) == total


def test_terms_files_are_checked_against_their_product() -> None:
    with open(TERMS_DIR / "equipment-micro.toml", encoding="utf-8") as f:
        text = f.read()
    assert parse_terms(text, "ok.toml").terms.daily_cap
    broken = {
        "float": text.replace('fee = "0.50"', "fee = 0.50"),
        "unknown product": text.replace('product = "equipment-micro"', 'product = "drone"'),
        "unit not sold": text.replace('units = ["hour", "day"]', 'units = ["hour", "act"]'),
        "year": text.replace('units = ["hour", "day"]', 'units = ["year"]'),
        "option out of bounds": text.replace('"300", "1000"', '"20", "1000"'),
        "default not offered": text.replace('default = "1000"', 'default = "2000"'),
        "unknown table": text + "\n[colour]\nname = 'red'\n",
        "not toml": text + "\n[[[",
        "tiers down": text.replace('discount = "0.10"', 'discount = "0.01"'),
    }
    for case, changed in broken.items():
        with pytest.raises(TermsFileError) as error:
            parse_terms(changed, f"{case}.toml")
        assert error.value.message.startswith(f"{case}.toml: "), case


def test_the_quantity_field_must_be_the_tariffs() -> None:
    with open(TERMS_DIR / "event-liability-day.toml", encoding="utf-8") as f:
        text = f.read()
    with pytest.raises(TermsFileError) as error:
        parse_terms(
            text.replace('quantity_field = "quantity"', 'quantity_field = "attendees"'), "x"
        )
    assert "quantity_from" in error.value.message


def test_a_daily_cap_needs_a_day_price() -> None:
    with open(CATALOGUE_DIR / "equipment-micro.toml", encoding="utf-8") as f:
        product_text = f.read()
    hourly = (
        product_text.replace(
            'per_unit = { hour = "0.35", day = "2.20" }', 'per_unit = { hour = "0.35" }'
        )
        .replace('units = ["hour", "day"]', 'units = ["hour"]')
        .replace('values = ["hour", "day"]', 'values = ["hour"]')
    )
    catalogue = Catalogue([parse_product(hourly, "equipment-micro.toml")])
    with open(TERMS_DIR / "equipment-micro.toml", encoding="utf-8") as f:
        terms_text = f.read().replace('units = ["hour", "day"]', 'units = ["hour"]')
    with pytest.raises(TermsFileError) as error:
        parse_terms(terms_text, "capped.toml", catalogue)
    assert "a daily cap needs a per_unit day price" in error.value.message
    uncapped = terms_text.replace("daily_cap = true", "daily_cap = false")
    assert not parse_terms(uncapped, "hourly.toml", catalogue).terms.daily_cap


# ------------------------------------------------------------------------------ unit rates


def test_the_rate_card_is_the_tariff_with_quantity_one_before_rounding() -> None:
    card = EQUIPMENT.card
    assert card.rate(Unit.HOUR) == HOUR_RATE
    assert card.rate(Unit.DAY) == DAY_PRICE
    assert card.rate(Unit.ACT) is None
    assert card.minimum == D("1.50")
    assert card.day_cap == DAY_PRICE
    assert [(f.name, f.key) for f in card.covers[0].factors] == [
        ("equipment", "camera"),
        ("value", "1000"),
    ]


@pytest.mark.parametrize("hours", [1, 3, 4, 5, 6])
def test_a_window_of_whole_hours_costs_what_polis_quote_says(hours: int) -> None:
    start = utc(2025, 9, 3, 8)
    charge = EQUIPMENT.activate(start, start + timedelta(hours=hours)).charge
    assert charge.total == risk_quote_total(hours, start)


def test_the_minimum_charge_applies_per_activation() -> None:
    charge = EQUIPMENT.activate(utc(2025, 9, 3, 8), utc(2025, 9, 3, 9)).charge
    assert charge.pure == D("1.50")
    assert any(d.topup == D("1.045") for d in charge.days)
    assert "minimum charge" in [e.step for e in charge.explanation]


def test_a_long_day_is_capped_at_the_day_price() -> None:
    charge = EQUIPMENT.activate(paris(2025, 9, 3, 8), paris(2025, 9, 3, 20)).charge
    assert charge.days[0].time_charge == 12 * HOUR_RATE
    assert charge.pure == DAY_PRICE
    day_quote = quote_risk(
        default_catalogue().get("equipment-micro").product,
        {"equipment": "camera", "value": "1000", "unit": "day", "quantity": 1},
        as_of=to_local(utc(2025, 9, 3)).date(),
    )
    assert charge.pure == day_quote.pure_premium
    assert "daily cap" in charge.explanation[1].formula


def test_each_local_day_of_a_night_window_is_capped_on_its_own() -> None:
    charge = EQUIPMENT.activate(paris(2025, 6, 14, 20), paris(2025, 6, 15, 8)).charge
    assert [(d.day.isoformat(), d.hours, d.charged) for d in charge.days] == [
        ("2025-06-14", D(4), 4 * HOUR_RATE),
        ("2025-06-15", D(8), DAY_PRICE),
    ]
    assert charge.pure == D("4.68")


def test_night_and_sunday_cost_the_same_as_a_weekday_afternoon() -> None:
    sunday_night = EQUIPMENT.activate(paris(2025, 6, 15, 2), paris(2025, 6, 15, 6)).charge
    wednesday = EQUIPMENT.activate(paris(2025, 6, 18, 14), paris(2025, 6, 18, 18)).charge
    assert sunday_night.total == wednesday.total
    assert sunday_night.pure == 4 * HOUR_RATE


# ------------------------------------------------------------------------------------- DST


def test_the_march_night_costs_its_five_real_hours() -> None:
    start, end = paris(2025, 3, 30, 0), paris(2025, 3, 30, 6)
    charge = EQUIPMENT.activate(start, end).charge
    assert charge.hours == 5
    assert charge.pure == D("2.28")  # 5 × 0.455 = 2.275
    assert charge.total == risk_quote_total(5, start - timedelta(minutes=1))


def test_the_october_night_costs_its_real_hours_with_the_hour_lived_twice() -> None:
    start, end = paris(2025, 10, 26, 1), paris(2025, 10, 26, 4)
    charge = EQUIPMENT.activate(start, end).charge
    assert charge.hours == 4
    assert charge.pure == D("1.82")
    assert charge.total == risk_quote_total(4, start - timedelta(minutes=1))


@pytest.mark.parametrize(("day", "hours"), [(30, 23), (29, 24)])
def test_a_whole_dst_day_of_23_or_25_hours_costs_one_day_price(day: int, hours: int) -> None:
    march = EQUIPMENT.activate(paris(2025, 3, day), paris(2025, 3, day + 1)).charge
    assert march.hours == hours
    assert march.pure == DAY_PRICE
    october = EQUIPMENT.activate(paris(2025, 10, 26), paris(2025, 10, 27)).charge
    assert october.hours == 25
    assert october.pure == DAY_PRICE


def test_a_day_product_counts_local_days_whatever_their_length() -> None:
    event = seller("event-liability-day", Unit.DAY, items=("wedding",))
    october = event.activate(paris(2025, 10, 25, 8), paris(2025, 10, 27)).charge
    assert [d.hours for d in october.days] == [16, 25]
    assert october.pure == 2 * D("7.20")
    evening = event.activate(paris(2025, 6, 14, 18), paris(2025, 6, 15, 2)).charge
    assert len(evening.days) == 2  # crossing midnight uses two local days (see docs/on-demand.md)


# --------------------------------------------------------------------------------- overlaps


def test_overlapping_windows_are_billed_for_the_uncovered_part_only() -> None:
    first = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 12), wid="A")
    assert first.charge.pure == D("1.50")  # 2 h = 0.91 < minimum
    second = EQUIPMENT.activate(
        paris(2025, 9, 3, 11), paris(2025, 9, 3, 14), book=first.book, wid="B"
    )
    assert second.charge.pieces == (Window(paris(2025, 9, 3, 12), paris(2025, 9, 3, 14)),)
    # 2 new hours = 0.91; the minimum tops it up only to the day's cap: 2.86 − 1.50 = 1.36
    assert second.charge.pure == D("1.36")
    third = EQUIPMENT.activate(
        paris(2025, 9, 3, 9), paris(2025, 9, 3, 15), book=second.book, wid="C"
    )
    assert third.charge.hours == 2
    assert third.charge.pure == 0  # the day is capped already
    assert third.charge.fee_day is None
    assert third.charge.total == 0


def test_a_window_inside_paid_cover_costs_nothing_and_has_no_lines() -> None:
    first = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 16))
    inside = EQUIPMENT.activate(paris(2025, 9, 3, 11), paris(2025, 9, 3, 12), book=first.book)
    assert inside.charge.pieces == ()
    assert inside.charge.lines == ()
    assert inside.charge.explanation[0].step == "already covered"


def test_another_object_is_priced_on_its_own() -> None:
    two = seller(items=("camera-kit", "drone"))
    first = two.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 12), ref="camera-kit")
    drone = two.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 12), ref="drone")
    assert first.charge.total == drone.charge.total
    assert drone.window.object_ref == "drone"


window_starts = st.integers(0, 4 * 24 * 4)  # quarter hours from Saturday 29 March 2025, 00:00 UTC
window_spans = st.integers(1, 30 * 4)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(window_starts, window_spans), min_size=1, max_size=7))
def test_overlapping_windows_are_never_billed_twice(spans: list[tuple[int, int]]) -> None:
    origin = utc(2025, 3, 29)
    book = UsageBook()
    windows, charges = [], []
    for i, (start, span) in enumerate(spans):
        window = Window(
            origin + timedelta(minutes=15 * start), origin + timedelta(minutes=15 * (start + span))
        )
        charge = price_time(
            EQUIPMENT.card,
            window,
            window_id=f"W-{i}",
            object_ref="camera-kit",
            kind=ChargeKind.ACTIVATION,
            book=book,
            discount=D(0),
            at=origin,
        )
        assert not any(p.overlaps(c) for p in charge.pieces for c in book.covered)
        book = book.with_charge(charge, window)
        windows.append(window)
        charges.append(charge)
    billed = [p for c in charges for p in c.pieces]
    assert sum((p.duration for p in billed), timedelta(0)) == length(windows)
    assert union(billed) == union(windows)
    per_day: dict[object, Decimal] = {}
    for charge in charges:
        assert charge.total >= 0
        assert total_of(charge.lines) == charge.total
        for day in charge.days:
            per_day[day.day] = per_day.get(day.day, D(0)) + day.charged
    assert all(amount <= DAY_PRICE for amount in per_day.values())
    assert {d for d, _ in by_local_day(windows)} == set(per_day)


# -------------------------------------------------------------------- fees, extension, tiers


def test_the_activation_fee_is_charged_once_per_object_and_local_day() -> None:
    morning = EQUIPMENT.activate(paris(2025, 9, 3, 8), paris(2025, 9, 3, 9), wid="A")
    evening = EQUIPMENT.activate(
        paris(2025, 9, 3, 18), paris(2025, 9, 3, 19), book=morning.book, wid="B"
    )
    tomorrow = EQUIPMENT.activate(
        paris(2025, 9, 4, 8), paris(2025, 9, 4, 9), book=evening.book, wid="C"
    )
    fees = [
        [line.amount for line in a.charge.lines if line.kind is LineKind.FEE]
        for a in (morning, evening, tomorrow)
    ]
    assert fees == [[D("0.50")], [], [D("0.50")]]
    notes = [e.formula for e in evening.charge.explanation if e.step == "activation fee"]
    assert notes == ["already paid for 2025-09-03: none"]


def test_an_extension_prices_the_added_time_only_without_minimum_or_fee() -> None:
    first = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 12))
    longer = extend(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        first.window,
        paris(2025, 9, 3, 14),
        now=paris(2025, 9, 3, 11),
        book=first.book,
    )
    assert longer.charge.kind is ChargeKind.EXTENSION
    assert longer.charge.pieces == (Window(paris(2025, 9, 3, 12), paris(2025, 9, 3, 14)),)
    assert longer.charge.pure == D("0.91")
    assert all(line.kind is not LineKind.FEE for line in longer.charge.lines)
    assert longer.window.end == paris(2025, 9, 3, 14)
    assert longer.book.covered == (Window(paris(2025, 9, 3, 10), paris(2025, 9, 3, 14)),)


@pytest.mark.parametrize(
    ("before", "discount", "pure"),
    [
        (0, D(0), D("1.82")),
        (8, D(0), D("1.82")),
        (9, D("0.05"), D("1.73")),
        (29, D("0.10"), D("1.64")),
    ],
)
def test_volume_tiers_discount_the_nth_activation_of_the_month(
    before: int, discount: Decimal, pure: Decimal
) -> None:
    charge = EQUIPMENT.activate(
        paris(2025, 9, 3, 10), paris(2025, 9, 3, 14), volume=MonthVolume(activations=before)
    ).charge
    assert charge.discount == discount
    assert charge.pure == pure  # 4 h × 0.455 = 1.82 × (1 − discount)


def test_hour_based_tiers_read_the_hours_already_covered_this_month() -> None:
    warehouse = seller("warehouse-goods-day", Unit.DAY, items=("hall-b",), geofence_ref="GEO-7")
    plain = warehouse.activate(paris(2025, 9, 3), paris(2025, 9, 4)).charge
    tier = warehouse.activate(
        paris(2025, 9, 3), paris(2025, 9, 4), volume=MonthVolume(3, D(240))
    ).charge
    assert plain.pure == D("1.53")  # fire 0.40 × 1.7 × 0.9 + theft 0.60 × 1.7 × 0.9
    assert tier.pure == D("1.45")  # × 0.95 = 1.4535


def test_month_volume_counts_activations_and_hours_of_the_local_month() -> None:
    a = EQUIPMENT.activate(paris(2025, 8, 31, 22), paris(2025, 9, 1, 2), wid="A").charge
    b = EQUIPMENT.activate(paris(2025, 9, 2, 10), paris(2025, 9, 2, 11), wid="B").charge
    assert month_volume([a, b], 2025, 9) == MonthVolume(1, D(3))
    assert month_volume([a, b], 2025, 8) == MonthVolume(1, D(2))


# ------------------------------------------------------------------------------- act, taxes


def test_a_round_priced_per_act_costs_the_act_whatever_its_length() -> None:
    rounds = seller("delivery-rounds-weekend", Unit.ACT, items=("round",))
    assert rounds.card.rate(Unit.ACT) == D("2.40")
    first = rounds.activate(paris(2025, 6, 14, 9), paris(2025, 6, 14, 12), wid="A")
    assert first.charge.pure == D("2.40")
    longer = extend(
        rounds.subscription,
        rounds.card,
        rounds.terms,
        first.window,
        paris(2025, 6, 14, 14),
        now=paris(2025, 6, 14, 10),
        book=first.book,
    )
    assert longer.charge.pure == 0  # an act is an act: its extension within 5 h costs nothing
    second = rounds.activate(
        paris(2025, 6, 14, 15), paris(2025, 6, 14, 17), book=longer.book, wid="B"
    )
    third = rounds.activate(
        paris(2025, 6, 14, 18), paris(2025, 6, 14, 20), book=second.book, wid="C"
    )
    assert (second.charge.pure, third.charge.pure) == (D("2.40"), D("1.20"))  # capped at 6.00


def test_taxes_are_itemised_cover_by_cover_at_the_rate_of_the_due_date() -> None:
    warehouse = seller("warehouse-goods-day", Unit.DAY, items=("hall-b",), geofence_ref="GEO-7")
    june = warehouse.activate(utc(2025, 6, 30, 8), utc(2025, 7, 1, 8)).charge
    july = warehouse.activate(utc(2025, 7, 1, 8), utc(2025, 7, 2, 8)).charge
    rate = {(line.cover, line.kind): line.rate for line in june.lines}
    assert rate[("fire", LineKind.TAX)] == D("0.07")
    assert rate[("theft", LineKind.TAX)] == D("0.09")
    assert {(line.cover, line.rate) for line in july.lines if line.kind is LineKind.TAX} == {
        ("fire", D("0.12")),
        ("theft", D("0.09")),
        (None, D("0.12")),  # the fee is taxed at the main line's rate
    }
    for charge in (june, july):
        assert total_of(charge.lines) == charge.total
        nets = [line.amount for line in charge.lines if line.kind is LineKind.PREMIUM]
        assert len(nets) == 2


def test_the_explanation_shows_each_local_day_and_ends_with_the_total() -> None:
    charge = EQUIPMENT.activate(paris(2025, 6, 14, 20), paris(2025, 6, 15, 8)).charge
    steps = [e.step for e in charge.explanation]
    assert "new cover on 2025-06-14" in steps
    assert "new cover on 2025-06-15" in steps
    assert steps[-1] == "total premium"
    assert charge.explanation[-1].amount == charge.total


def test_an_activation_opens_the_window_on_the_named_object() -> None:
    activation = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 12))
    assert activation.window == open_window(
        "W-1",
        "SUB-1",
        "camera-kit",
        Window(paris(2025, 9, 3, 10), paris(2025, 9, 3, 12)),
        now=paris(2025, 9, 3, 10) - timedelta(minutes=1),
    )
    assert activation.entry.total == activation.charge.total
