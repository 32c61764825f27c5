"""Subscriptions (terms snapshot) and windows: plan, extend, stop, cancel, cover status, DST."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polis.kernel.errors import Conflict, IllegalTransition, InvalidInput
from polis.kernel.time import PARIS, Window
from polis.ondemand import (
    Address,
    CoverPhase,
    CoverState,
    CoverWindow,
    Customer,
    CustomerHistory,
    InsuredItem,
    OnDemandTerms,
    RateCard,
    Refused,
    Subscription,
    SubscriptionChoice,
    VerificationStatus,
    WindowState,
    cancel_window,
    cover_status,
    default_terms,
    extend_window,
    limits_for,
    local_instant,
    new_business,
    open_window,
    parse_when,
    plan_window,
    stop_window,
    subscribe,
    subscription_rate_card,
    transition,
)
from polis.ondemand.intervals import (
    by_local_day,
    difference,
    hours_of,
    intersect,
    length,
    local_days,
    union,
)
from polis.policies import default_catalogue
from polis.rating.pure import Unit

D = Decimal
CATALOGUE = default_catalogue()
TERMS = default_terms()
SIGNED_UP = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Europe/Paris wall-clock time (first occurrence when ambiguous) as a UTC instant."""
    return local_instant(datetime(year, month, day, hour, minute), field="test")


def verified_business(customer_id: str = "CUS-1") -> Customer:
    customer = new_business(
        customer_id,
        name="Studio Lumière",
        activity="event photography",
        address=Address("5 quai de la Loire", "75019", "Paris"),
        siren="732829320",
        created_at=SIGNED_UP,
    )
    return transition(customer, VerificationStatus.VERIFIED, at=SIGNED_UP)


def terms_of(product_id: str) -> OnDemandTerms:
    return TERMS.get(product_id, "2025.1").terms


def subscription_of(
    product_id: str = "equipment-micro",
    *,
    unit: Unit = Unit.HOUR,
    risk: Mapping[str, object] | None = None,
    sum_insured: Decimal | None = None,
    deductible: Decimal | None = None,
    items: tuple[str, ...] = ("camera-kit",),
    geofence_ref: str | None = None,
    customer: Customer | None = None,
    history: CustomerHistory | None = None,
) -> tuple[Subscription, RateCard, OnDemandTerms]:
    """A subscription of a verified business, its rate card and its terms."""
    owner = customer or verified_business()
    entry = CATALOGUE.get(product_id, "2025.1")
    terms = TERMS.get(product_id, "2025.1")
    default_risk: dict[str, Mapping[str, object]] = {
        "equipment-micro": {"equipment": "camera"},
        "event-liability-day": {"event": "photo_shoot", "attendees": 40},
        "warehouse-goods-day": {"goods": "dry_goods"},
        "delivery-rounds-weekend": {"vehicle": "bike"},
    }
    choice = SubscriptionChoice(
        unit=unit,
        items=tuple(InsuredItem(ref, f"the {ref}") for ref in items),
        sum_insured=sum_insured,
        deductible=deductible,
        risk=default_risk[product_id] if risk is None else risk,
        geofence_ref=geofence_ref,
    )
    limits = limits_for(owner, history or CustomerHistory(), at=SIGNED_UP)
    subscription = subscribe(
        "SUB-1", owner, limits, entry, terms, choice, accepted_at=SIGNED_UP + timedelta(hours=1)
    )
    return (
        subscription,
        subscription_rate_card(entry.product, terms.terms, subscription),
        terms.terms,
    )


def booked(
    start: datetime, end: datetime, ref: str = "camera-kit", wid: str = "W-1"
) -> CoverWindow:
    return open_window(wid, "SUB-1", ref, Window(start, end), now=start - timedelta(hours=1))


# -------------------------------------------------------------------------- local wall time


def test_a_local_time_in_the_spring_gap_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_when("2025-03-30T02:30", field="start")
    assert error.value.field == "start"
    assert error.value.code == "time.nonexistent"
    assert "02:00 to 03:00" in error.value.message


def test_an_ambiguous_autumn_time_takes_its_first_occurrence() -> None:
    first = parse_when("2025-10-26T02:30", field="start")
    assert first == utc(2025, 10, 26, 0, 30)  # summer time, +02:00
    second = parse_when("2025-10-26T02:30:00+01:00", field="start")
    assert second == utc(2025, 10, 26, 1, 30)
    assert second - first == timedelta(hours=1)


def test_instants_with_an_offset_or_z_are_taken_as_given() -> None:
    assert parse_when("2025-06-14T07:00:00Z", field="start") == utc(2025, 6, 14, 7)
    with pytest.raises(InvalidInput) as error:
        parse_when("14/06/2025 09:00", field="end")
    assert error.value.field == "end"


# ----------------------------------------------------------------------------------- plan


NOW = utc(2025, 6, 14, 8, 0)  # Saturday 10:00 in Paris


def test_a_window_starts_now_when_no_start_is_given() -> None:
    window = plan_window(
        terms_of("equipment-micro"), now=NOW, unit=Unit.HOUR, duration=timedelta(hours=2)
    )
    assert window == Window(NOW, NOW + timedelta(hours=2))


def test_a_start_just_behind_the_clock_is_moved_to_now_never_backdated() -> None:
    window = plan_window(
        terms_of("equipment-micro"),
        now=NOW,
        unit=Unit.HOUR,
        start=NOW - timedelta(minutes=3),
        end=NOW + timedelta(hours=1),
    )
    assert window.start == NOW


def test_a_start_in_the_past_beyond_the_tolerance_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        plan_window(
            terms_of("equipment-micro"),
            now=NOW,
            unit=Unit.HOUR,
            start=NOW - timedelta(minutes=6),
            duration=timedelta(hours=1),
        )
    assert (error.value.field, error.value.code) == ("start", "window.start_in_past")


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        (
            {"start": NOW + timedelta(days=366), "duration": timedelta(hours=1)},
            "start",
            "window.too_far_ahead",
        ),
        ({"end": NOW - timedelta(hours=1)}, "end", "window.end_before_start"),
        ({"end": NOW + timedelta(hours=1), "duration": timedelta(hours=1)}, "end", "input.invalid"),
        ({}, "end", "input.invalid"),
        ({"duration": timedelta(0)}, "duration", "input.invalid"),
        ({"duration": timedelta(hours=721)}, "duration", "window.too_long"),
        ({"end": NOW + timedelta(days=31)}, "end", "window.too_long"),
    ],
)
def test_a_bad_window_is_refused_naming_the_field(
    kwargs: dict[str, object], field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        plan_window(terms_of("equipment-micro"), now=NOW, unit=Unit.HOUR, **kwargs)  # type: ignore[arg-type]
    assert (error.value.field, error.value.code) == (field, code)


def test_activation_at_night_and_on_sunday_is_allowed() -> None:
    sunday_night = paris(2025, 6, 15, 3, 0)
    window = plan_window(
        terms_of("equipment-micro"),
        now=sunday_night - timedelta(minutes=1),
        unit=Unit.HOUR,
        start=datetime(2025, 6, 15, 3, 0),
        end=datetime(2025, 6, 15, 5, 30),
    )
    assert window.start == sunday_night
    assert window.hours() == D("2.5")


def test_a_weekend_only_product_refuses_a_wednesday_naming_the_start() -> None:
    with pytest.raises(InvalidInput) as error:
        plan_window(
            terms_of("delivery-rounds-weekend"),
            now=NOW,
            unit=Unit.HOUR,
            start=datetime(2025, 6, 18, 18, 0),
            duration=timedelta(hours=2),
        )
    assert (error.value.field, error.value.code) == ("start", "window.day_not_allowed")
    assert "wednesday" in error.value.message


def test_a_weekend_round_past_sunday_midnight_is_refused_naming_the_end() -> None:
    terms = terms_of("delivery-rounds-weekend")
    saturday_night = plan_window(
        terms,
        now=NOW,
        unit=Unit.HOUR,
        start=datetime(2025, 6, 14, 22),
        end=datetime(2025, 6, 15, 2),
    )
    assert saturday_night.hours() == 4
    with pytest.raises(InvalidInput) as error:
        plan_window(
            terms,
            now=NOW,
            unit=Unit.HOUR,
            start=datetime(2025, 6, 15, 22),
            end=datetime(2025, 6, 16, 1),
        )
    assert error.value.field == "end"


def test_a_round_priced_per_act_lasts_at_most_act_max_hours() -> None:
    terms = terms_of("delivery-rounds-weekend")
    plan_window(terms, now=NOW, unit=Unit.ACT, duration=timedelta(hours=5))
    with pytest.raises(InvalidInput) as error:
        plan_window(terms, now=NOW, unit=Unit.ACT, duration=timedelta(hours=5, minutes=1))
    assert error.value.code == "window.too_long"
    assert "round" in error.value.message


def test_windows_across_dst_last_their_real_elapsed_time() -> None:
    terms = terms_of("equipment-micro")
    spring = plan_window(
        terms,
        now=utc(2025, 3, 29, 12),
        unit=Unit.HOUR,
        start=datetime(2025, 3, 30, 0, 0),
        end=datetime(2025, 3, 30, 6, 0),
    )
    autumn = plan_window(
        terms,
        now=utc(2025, 10, 25, 12),
        unit=Unit.HOUR,
        start=datetime(2025, 10, 26, 0, 0),
        end=datetime(2025, 10, 26, 6, 0),
    )
    assert spring.hours() == 5  # 00:00 → 06:00 on the wall clock, one hour skipped
    assert autumn.hours() == 7  # one hour lived twice


def test_a_window_ending_in_the_spring_gap_is_refused_naming_the_end() -> None:
    with pytest.raises(InvalidInput) as error:
        plan_window(
            terms_of("equipment-micro"),
            now=utc(2025, 3, 29, 12),
            unit=Unit.HOUR,
            start=datetime(2025, 3, 30, 0, 0),
            end=datetime(2025, 3, 30, 2, 15),
        )
    assert (error.value.field, error.value.code) == ("end", "time.nonexistent")


# ---------------------------------------------------------------------------- transitions


def test_a_window_has_a_phase_at_each_instant() -> None:
    window = booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 10))
    assert window.phase(utc(2025, 6, 14, 7, 59)) is CoverPhase.SCHEDULED
    assert window.phase(utc(2025, 6, 14, 8)) is CoverPhase.ACTIVE
    assert window.phase(utc(2025, 6, 14, 10)) is CoverPhase.ENDED


def test_an_extension_returns_the_added_time_only() -> None:
    window = booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 10))
    extended, added = extend_window(
        window,
        utc(2025, 6, 14, 12),
        now=utc(2025, 6, 14, 9),
        terms=terms_of("equipment-micro"),
        unit=Unit.HOUR,
    )
    assert (extended.end, extended.sold_end) == (utc(2025, 6, 14, 12), utc(2025, 6, 14, 12))
    assert added == Window(utc(2025, 6, 14, 10), utc(2025, 6, 14, 12))


def test_an_extension_must_end_later_and_come_before_the_end() -> None:
    terms = terms_of("equipment-micro")
    window = booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 10))
    with pytest.raises(InvalidInput) as error:
        extend_window(
            window, utc(2025, 6, 14, 10), now=utc(2025, 6, 14, 9), terms=terms, unit=Unit.HOUR
        )
    assert (error.value.field, error.value.code) == ("end", "window.extend_not_later")
    with pytest.raises(Conflict) as ended:
        extend_window(
            window, utc(2025, 6, 14, 12), now=utc(2025, 6, 14, 10), terms=terms, unit=Unit.HOUR
        )
    assert ended.value.code == "window.ended"


def test_stopping_early_ends_the_window_now() -> None:
    window = booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 12))
    stopped = stop_window(window, now=utc(2025, 6, 14, 9, 20), terms=terms_of("equipment-micro"))
    assert stopped.state is WindowState.STOPPED
    assert stopped.end == utc(2025, 6, 14, 9, 20)
    assert stopped.sold_end == utc(2025, 6, 14, 12)


def test_a_stop_in_the_recent_past_is_moved_to_now() -> None:
    window = booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 12))
    stopped = stop_window(
        window,
        now=utc(2025, 6, 14, 9),
        terms=terms_of("equipment-micro"),
        at=utc(2025, 6, 14, 8, 57),
    )
    assert stopped.end == utc(2025, 6, 14, 9)


def test_a_later_stop_instant_may_be_given() -> None:
    window = booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 12))
    stopped = stop_window(
        window, now=utc(2025, 6, 14, 9), terms=terms_of("equipment-micro"), at=utc(2025, 6, 14, 11)
    )
    assert stopped.end == utc(2025, 6, 14, 11)


@pytest.mark.parametrize(
    ("now", "code"),
    [(utc(2025, 6, 14, 7), "window.not_started"), (utc(2025, 6, 14, 12), "window.ended")],
)
def test_only_a_running_window_can_be_stopped(now: datetime, code: str) -> None:
    window = booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 12))
    with pytest.raises(Conflict) as error:
        stop_window(window, now=now, terms=terms_of("equipment-micro"))
    assert error.value.code == code


def test_cancel_only_until_the_start() -> None:
    window = booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 12))
    assert cancel_window(window, now=utc(2025, 6, 14, 8)).state is WindowState.CANCELLED
    with pytest.raises(Conflict) as error:
        cancel_window(window, now=utc(2025, 6, 14, 8, 0, 1))
    assert error.value.code == "window.started"


def test_a_stopped_or_cancelled_window_is_final() -> None:
    terms = terms_of("equipment-micro")
    window = booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 12))
    stopped = stop_window(window, now=utc(2025, 6, 14, 9), terms=terms)
    cancelled = cancel_window(window, now=utc(2025, 6, 14, 7))
    with pytest.raises(IllegalTransition):
        extend_window(
            stopped, utc(2025, 6, 14, 13), now=utc(2025, 6, 14, 9, 30), terms=terms, unit=Unit.HOUR
        )
    with pytest.raises(IllegalTransition):
        stop_window(cancelled, now=utc(2025, 6, 14, 9), terms=terms)
    with pytest.raises(IllegalTransition):
        cancel_window(cancelled, now=utc(2025, 6, 14, 7))
    assert cancelled.phase(utc(2025, 6, 14, 9)) is CoverPhase.CANCELLED


# ---------------------------------------------------------------------------- cover status


def test_cover_status_is_covered_at_the_exact_start_and_not_at_the_exact_end() -> None:
    windows = [booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 10))]
    assert cover_status(windows, "camera-kit", utc(2025, 6, 14, 8)).state is CoverState.COVERED
    at_end = cover_status(windows, "camera-kit", utc(2025, 6, 14, 10))
    assert at_end.state is CoverState.NOT_COVERED
    assert at_end.current == ()
    assert at_end.until is None


def test_cover_status_says_scheduled_with_the_next_start() -> None:
    windows = [booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 10))]
    status = cover_status(windows, "camera-kit", utc(2025, 6, 14, 7))
    assert status.state is CoverState.SCHEDULED
    assert status.next_start == utc(2025, 6, 14, 8)


def test_cover_status_until_runs_across_touching_and_overlapping_windows() -> None:
    windows = [
        booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 10), wid="A"),
        booked(utc(2025, 6, 14, 10), utc(2025, 6, 14, 11), wid="B"),
        booked(utc(2025, 6, 14, 10, 30), utc(2025, 6, 14, 13), wid="C"),
        booked(utc(2025, 6, 14, 15), utc(2025, 6, 14, 16), wid="D"),
        booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 20), ref="drone", wid="E"),
    ]
    status = cover_status(windows, "camera-kit", utc(2025, 6, 14, 9))
    assert [w.id for w in status.current] == ["A"]
    assert status.until == utc(2025, 6, 14, 13)
    assert [w.id for w in status.upcoming] == ["B", "C", "D"]


def test_cancelled_windows_give_no_cover() -> None:
    window = cancel_window(
        booked(utc(2025, 6, 14, 8), utc(2025, 6, 14, 10)), now=utc(2025, 6, 14, 7)
    )
    status = cover_status([window], "camera-kit", utc(2025, 6, 14, 9))
    assert status.state is CoverState.NOT_COVERED


# ----------------------------------------------------------------------------------- sets


def test_local_days_have_23_24_or_25_hours() -> None:
    march = Window(paris(2025, 3, 29, 0), paris(2025, 4, 1, 0))
    october = Window(paris(2025, 10, 25, 0), paris(2025, 10, 28, 0))
    assert [hours_of(length(parts)) for _, parts in by_local_day([march])] == [24, 23, 24]
    assert [hours_of(length(parts)) for _, parts in by_local_day([october])] == [24, 25, 24]


def test_the_end_instant_belongs_to_no_day() -> None:
    window = Window(paris(2025, 6, 14, 22), paris(2025, 6, 15, 0))
    assert [d.isoformat() for d in local_days(window)] == ["2025-06-14"]


def test_union_merges_touching_windows() -> None:
    a = Window(utc(2025, 1, 1, 8), utc(2025, 1, 1, 10))
    b = Window(utc(2025, 1, 1, 10), utc(2025, 1, 1, 12))
    assert union([b, a]) == (Window(utc(2025, 1, 1, 8), utc(2025, 1, 1, 12)),)


def test_difference_cuts_holes() -> None:
    whole = Window(utc(2025, 1, 1, 8), utc(2025, 1, 1, 18))
    holes = [
        Window(utc(2025, 1, 1, 9), utc(2025, 1, 1, 10)),
        Window(utc(2025, 1, 1, 17), utc(2025, 1, 1, 19)),
    ]
    assert difference([whole], holes) == (
        Window(utc(2025, 1, 1, 8), utc(2025, 1, 1, 9)),
        Window(utc(2025, 1, 1, 10), utc(2025, 1, 1, 17)),
    )


minutes = st.integers(0, 3 * 24 * 60)
windows = st.builds(
    lambda start, span: Window(
        utc(2025, 3, 29) + timedelta(minutes=start),
        utc(2025, 3, 29) + timedelta(minutes=start + span),
    ),
    minutes,
    st.integers(1, 24 * 60),
)


@given(st.lists(windows, max_size=6), st.lists(windows, max_size=6))
def test_a_set_is_what_is_covered_plus_what_is_not(
    these: list[Window], covered: list[Window]
) -> None:
    outside = difference(these, covered)
    inside = intersect(these, covered)
    assert length(outside) + length(inside) == length(these)
    assert length(union([*covered, *these])) == length(covered) + length(outside)
    assert intersect(outside, covered) == ()


@given(st.lists(windows, min_size=1, max_size=6))
def test_cutting_by_local_day_keeps_every_second(these: list[Window]) -> None:
    days = by_local_day(these)
    assert sum((length(parts) for _, parts in days), timedelta(0)) == length(these)
    for day, parts in days:
        for part in parts:
            assert part.start.astimezone(PARIS).date() == day


# ------------------------------------------------------------------------------ subscribe


def test_a_subscription_keeps_the_options_and_a_hashed_terms_snapshot() -> None:
    subscription, card, _ = subscription_of(sum_insured=D("3000"))
    assert subscription.unit is Unit.HOUR
    assert (subscription.sum_insured, subscription.deductible) == (D("3000"), D("50"))
    assert subscription.risk == {"equipment": "camera"}
    snapshot = subscription.snapshot
    assert snapshot.content["product"]["id"] == "equipment-micro"
    assert snapshot.content["product"]["sha256"] == subscription.product_sha256
    assert snapshot.content["ondemand"]["sha256"] == subscription.terms_sha256
    assert snapshot.content["options"]["sum_insured"] == "3000"
    exclusions = snapshot.content["ondemand"]["terms"]["exclusions"]
    assert {"covered", "not_covered", "text", "title", "id"} <= set(exclusions[0])
    assert len(snapshot.sha256) == 64
    assert card.rate(Unit.HOUR) == D("0.35") * D("1.30") * D("1.50")


def test_the_snapshot_hash_depends_on_every_option_and_nothing_else() -> None:
    first, _, _ = subscription_of(sum_insured=D("1000"))
    again, _, _ = subscription_of(sum_insured=D("1000"))
    other, _, _ = subscription_of(sum_insured=D("3000"))
    assert first.snapshot.sha256 == again.snapshot.sha256
    assert first.snapshot.sha256 != other.snapshot.sha256
    import hashlib

    assert hashlib.sha256(first.snapshot.text.encode()).hexdigest() == first.snapshot.sha256


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"unit": Unit.ACT}, "unit"),
        ({"sum_insured": D("2000")}, "sum_insured"),
        ({"deductible": D("100")}, "deductible"),
        ({"risk": {"equipment": "tank"}}, "risk.equipment"),
        ({"risk": {"equipment": "camera", "value": "500"}}, "risk.value"),
        ({"risk": {"equipment": "camera", "colour": "red"}}, "risk.colour"),
        ({"items": ()}, "items"),
        ({"items": ("a", "a")}, "items"),
    ],
)
def test_a_bad_choice_is_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        subscription_of(**kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


def test_a_sum_insured_above_the_customer_limit_is_refused() -> None:
    with pytest.raises(Refused) as error:
        subscription_of(
            "warehouse-goods-day",
            unit=Unit.DAY,
            sum_insured=D("100000"),
            items=("hall-b",),
            geofence_ref="GEO-7",
        )
    assert error.value.code == "limit.sum_insured_exceeded"
    assert error.value.field == "sum_insured"


def test_a_pending_customer_cannot_subscribe() -> None:
    pending = new_business(
        "CUS-9",
        name="X",
        activity="shop",
        address=Address("1 rue X", "75001", "Paris"),
        siren="542107651",
        created_at=SIGNED_UP,
    )
    with pytest.raises(Refused) as error:
        subscription_of(customer=pending)
    assert error.value.code == "customer.not_verified"


def test_a_place_cover_needs_its_geofence() -> None:
    with pytest.raises(InvalidInput) as error:
        subscription_of("warehouse-goods-day", unit=Unit.DAY, items=("hall-b",))
    assert error.value.field == "geofence_ref"
    subscription, _, terms = subscription_of(
        "warehouse-goods-day", unit=Unit.DAY, items=("hall-b",), geofence_ref="GEO-7"
    )
    assert subscription.scope.value == "place"
    assert terms.geofence_required


def test_an_event_liability_is_checked_against_the_liability_ceiling() -> None:
    subscription, _, _ = subscription_of(
        "event-liability-day", unit=Unit.DAY, sum_insured=D("1000000"), items=("wedding",)
    )
    assert subscription.scope.value == "liability"
    with pytest.raises(Refused):
        subscription_of("event-liability-day", unit=Unit.DAY, sum_insured=D("2000000"))


def test_the_item_of_a_window_is_named_or_the_only_one() -> None:
    single, _, _ = subscription_of()
    assert single.item(None).ref == "camera-kit"
    several, _, _ = subscription_of(items=("drone", "camera-kit"))
    with pytest.raises(InvalidInput) as error:
        several.item(None)
    assert error.value.field == "object_ref"
    with pytest.raises(InvalidInput):
        several.item("tripod")
    assert several.item("drone").description == "the drone"
