"""Geofence trigger: fence validation, metres around the fence, and the entry/exit state machine."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.kernel import InvalidInput, Window
from polis.ondemand.triggers_geofence import (
    EARTH_RADIUS_M,
    Geofence,
    GeofenceAction,
    GeofenceDecision,
    GeofenceRules,
    Ping,
    PingOutcome,
    TrackerPhase,
    TrackerState,
    advance_tracker,
    receive_pings,
    tick_tracker,
)

# a warehouse in Rungis, about 220 m by 220 m, with positions as GeoJSON writes them: [lon, lat]
WAREHOUSE_RING = [
    [2.350, 48.750],
    [2.353, 48.750],
    [2.353, 48.752],
    [2.350, 48.752],
    [2.350, 48.750],
]
WAREHOUSE = Geofence([[WAREHOUSE_RING]])
INSIDE = (48.751, 2.3515)  # (lat, lon)
OUTSIDE = (48.760, 2.3515)  # about 1 km north
T0 = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # the night of the March change, for good measure
RULES = GeofenceRules()  # dwell 2 min, gap 5 min, lateness 2 min, silence 1 h


def minute(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def ping(n: float, where: tuple[float, float], accuracy: float | None = None) -> Ping:
    return Ping(minute(n), where[0], where[1], accuracy)


def fresh() -> TrackerState:
    return TrackerState("POL-2025-000001", "tracker-7")


class Run:
    """Feeds deliveries to one tracker and keeps every decision."""

    def __init__(self, rules: GeofenceRules = RULES, fence: Geofence = WAREHOUSE) -> None:
        self.state = fresh()
        self.rules = rules
        self.fence = fence
        self.decisions: list[GeofenceDecision] = []
        self.outcomes: list[PingOutcome] = []

    def deliver(self, *pings: Ping) -> Run:
        step = receive_pings(self.state, pings, self.fence, self.rules)
        self.state = step.state
        self.decisions.extend(step.decisions)
        self.outcomes.extend(step.outcomes)
        return self

    def one_by_one(self, pings: Iterable[Ping]) -> Run:
        for p in pings:
            self.deliver(p)
        return self

    def tick(self, n: float) -> Run:
        step = tick_tracker(self.state, minute(n), self.fence, self.rules)
        self.state = step.state
        self.decisions.extend(step.decisions)
        return self

    def summary(self) -> list[tuple[str, datetime]]:
        return [(d.action.value, d.at) for d in self.decisions]


# --------------------------------------------------------------------------------------------
# Fences
# --------------------------------------------------------------------------------------------


def test_inside_outside_and_the_boundary() -> None:
    assert WAREHOUSE.contains(*INSIDE)
    assert not WAREHOUSE.contains(*OUTSIDE)
    assert WAREHOUSE.contains(48.750, 2.3515)  # on the southern edge: inside
    assert WAREHOUSE.contains(48.750, 2.350)  # a corner


def test_a_geojson_polygon_a_feature_and_a_multipolygon_are_accepted() -> None:
    polygon = Geofence.from_geojson({"type": "Polygon", "coordinates": [WAREHOUSE_RING]})
    feature = Geofence.from_geojson(
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [WAREHOUSE_RING]}}
    )
    annex = [[2.360, 48.750], [2.361, 48.750], [2.361, 48.751], [2.360, 48.750]]
    multi = Geofence.from_geojson(
        {"type": "MultiPolygon", "coordinates": [[WAREHOUSE_RING], [annex]]}
    )
    assert polygon.contains(*INSIDE)
    assert feature.contains(*INSIDE)
    assert multi.contains(*INSIDE)
    assert multi.contains(48.7502, 2.3605)
    assert not multi.contains(48.7505, 2.357)  # between the two buildings


def test_a_hole_is_outside() -> None:
    courtyard = [
        [2.351, 48.7505],
        [2.352, 48.7505],
        [2.352, 48.7515],
        [2.351, 48.7515],
        [2.351, 48.7505],
    ]
    fence = Geofence([[WAREHOUSE_RING, courtyard]])
    assert not fence.contains(48.751, 2.3515)
    assert fence.contains(48.7502, 2.3502)


BOW_TIE = [[2.350, 48.750], [2.353, 48.752], [2.353, 48.750], [2.350, 48.752], [2.350, 48.750]]
FAR_HOLE = [[2.36, 48.76], [2.37, 48.76], [2.37, 48.77], [2.36, 48.76]]


@pytest.mark.parametrize(
    ("polygons", "field", "words"),
    [
        ([[WAREHOUSE_RING[:-1]]], "geofence.coordinates[0][0]", "not closed"),
        (
            [[[[2.35, 48.75], [2.36, 48.75], [2.35, 48.75]]]],
            "geofence.coordinates[0][0]",
            "at least 4",
        ),
        (
            [[[[2.35, 48.75], [182.0, 48.75], [2.36, 48.76], [2.35, 48.75]]]],
            "geofence.coordinates[0][0][1]",
            "longitude 182.0 is outside [-180, 180]",
        ),
        (
            [[[[2.35, 148.75], [2.36, 48.75], [2.36, 48.76], [2.35, 148.75]]]],
            "geofence.coordinates[0][0][0]",
            "latitude 148.75",
        ),
        ([[BOW_TIE]], "geofence.coordinates[0]", "self-intersection at lon 2.3515, lat 48.751"),
        ([[WAREHOUSE_RING, FAR_HOLE]], "geofence.coordinates[0]", "hole lies outside shell"),
        (
            [[[[2.35, 48.75], [2.36, 48.75], [2.37, 48.75], [2.35, 48.75]]]],
            "geofence.coordinates[0]",
            "not valid",
        ),
        (
            [[[[2.35, 48.75], ["x", 48.75], [2.36, 48.76], [2.35, 48.75]]]],
            "geofence.coordinates[0][0][1][0]",
            "a number",
        ),
        (
            [[[[2.35, math.nan], [2.36, 48.75], [2.36, 48.76], [2.35, math.nan]]]],
            "geofence.coordinates[0][0][0][1]",
            "finite",
        ),
        (
            [[[[True, 48.75], [2.36, 48.75], [2.36, 48.76], [True, 48.75]]]],
            "geofence.coordinates[0][0][0][0]",
            "a number",
        ),
        ([[[2.35, 48.75]]], "geofence.coordinates[0][0][0]", "a position is [lon, lat]"),
        ([["a ring"]], "geofence.coordinates[0][0]", "list of [lon, lat] positions"),
        ([[]], "geofence.coordinates[0]", "list of rings"),
        ([], "geofence", "at least one polygon"),
    ],
)
def test_invalid_fences_are_refused_with_the_reason_and_the_field(
    polygons: list[object], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        Geofence(polygons)
    assert info.value.field == field
    assert words in info.value.message


def test_a_fence_wider_than_50_km_is_refused() -> None:
    huge = [[2.0, 48.5], [3.0, 48.5], [3.0, 49.0], [2.0, 49.0], [2.0, 48.5]]
    with pytest.raises(InvalidInput) as info:
        Geofence([[huge]])
    assert "split it" in info.value.message


@pytest.mark.parametrize(
    ("geometry", "field"),
    [
        ({"type": "Point", "coordinates": [2.35, 48.75]}, "geofence.type"),
        ({"type": "Polygon"}, "geofence.coordinates"),
        ({"type": "Feature", "geometry": None}, "geofence.geometry"),
    ],
)
def test_other_geojson_shapes_are_refused(geometry: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Geofence.from_geojson(geometry)
    assert info.value.field == field


@pytest.mark.parametrize("buffer", [-1.0, 6000.0, math.inf])
def test_the_buffer_is_between_0_and_5_km(buffer: float) -> None:
    with pytest.raises(InvalidInput) as info:
        Geofence([[WAREHOUSE_RING]], buffer_m=buffer)
    assert info.value.field == "buffer_m"


def east_of_the_warehouse(metres: float) -> tuple[float, float]:
    """A point ``metres`` due east of the warehouse's eastern wall, on the parallel 48.751."""
    lat = 48.751
    return lat, 2.353 + math.degrees(metres / (EARTH_RADIUS_M * math.cos(math.radians(lat))))


def test_a_buffer_in_metres_widens_inside() -> None:
    fence = Geofence([[WAREHOUSE_RING]], buffer_m=50)
    assert fence.contains(*east_of_the_warehouse(45))
    assert not fence.contains(*east_of_the_warehouse(55))
    assert not WAREHOUSE.contains(*east_of_the_warehouse(45))
    assert WAREHOUSE.distance_m(*east_of_the_warehouse(45)) == pytest.approx(45, rel=0.01)
    assert WAREHOUSE.distance_m(*INSIDE) == 0


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = (math.radians(v) for v in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(-60, 60),
    lon=st.floats(-170, 170),
    north=st.floats(-25_000, 25_000),
    east=st.floats(-25_000, 25_000),
)
def test_the_projection_errs_by_less_than_one_percent_within_25_km_below_60_degrees(
    lat: float, lon: float, north: float, east: float
) -> None:
    # a tiny fence (a 2 m triangle) at (lat, lon); a point up to 25 km away in each direction
    d = 1e-5
    corner = [[lon, lat], [lon + d, lat], [lon, lat + d], [lon, lat]]
    fence = Geofence([[corner]])
    target = (
        lat + math.degrees(north / EARTH_RADIUS_M),
        lon + math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(lat)))),
    )
    true = haversine_m((lat, lon), target)
    if true < 100:
        return
    assert abs(fence.distance_m(*target) - true) <= 0.01 * true + 3


# --------------------------------------------------------------------------------------------
# Pings and rules
# --------------------------------------------------------------------------------------------


def test_pings_are_validated() -> None:
    with pytest.raises(InvalidInput) as info:
        Ping(datetime(2025, 3, 30, 1, 0), 48.75, 2.35)
    assert info.value.field == "at"
    with pytest.raises(InvalidInput):
        Ping(T0, 148.75, 2.35)
    with pytest.raises(InvalidInput) as info:
        Ping(T0, 48.75, 2.35, -3)
    assert info.value.field == "accuracy_m"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dwell": timedelta(seconds=-1)}, "dwell"),
        ({"gap": timedelta(hours=2)}, "max_silence"),
        ({"lateness": timedelta(seconds=-1)}, "lateness"),
        ({"max_accuracy_m": 0.0}, "max_accuracy_m"),
    ],
)
def test_rules_are_validated(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        GeofenceRules(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


# --------------------------------------------------------------------------------------------
# Entry and exit
# --------------------------------------------------------------------------------------------


def stay(first: float, last: float, step: float = 1) -> list[Ping]:
    count = int((last - first) / step)
    return [ping(first + i * step, INSIDE) for i in range(count + 1)]


def away(first: float, last: float, step: float = 1) -> list[Ping]:
    count = int((last - first) / step)
    return [ping(first + i * step, OUTSIDE) for i in range(count + 1)]


def test_entry_opens_at_the_first_inside_ping_once_the_dwell_is_reached() -> None:
    run = Run().one_by_one(stay(0, 3))
    assert run.decisions == []  # minute 2 is not yet past the watermark (3 − 2 min of lateness)
    run.deliver(ping(4, INSIDE))
    assert run.summary() == [("open", minute(0))]
    assert run.decisions[0].reason == "entry"
    assert run.state.phase is TrackerPhase.INSIDE


def test_a_flap_shorter_than_the_dwell_opens_nothing() -> None:
    run = Run().one_by_one([ping(0, INSIDE), ping(1, INSIDE), ping(1.5, OUTSIDE), *away(2, 20)])
    assert run.decisions == []


def test_exit_closes_at_the_first_outside_ping_once_the_gap_is_reached() -> None:
    run = Run().one_by_one([*stay(0, 10), *away(11, 18)])
    assert run.summary() == [("open", minute(0)), ("close", minute(11))]
    close = run.decisions[1]
    assert close.window == Window(minute(0), minute(11))
    assert close.reason == "exit"
    assert (close.policy_ref, close.device_ref) == ("POL-2025-000001", "tracker-7")


def test_an_excursion_shorter_than_the_gap_closes_nothing() -> None:
    run = Run().one_by_one([*stay(0, 10), *away(11, 14), *stay(15, 30)])
    assert run.summary() == [("open", minute(0))]


def test_time_passing_without_pings_closes_after_the_gap() -> None:
    run = Run().one_by_one([*stay(0, 10), ping(11, OUTSIDE)])
    run.tick(17)  # watermark 15: the gap (11 → 16) is not over
    assert len(run.decisions) == 1
    run.tick(18)  # watermark 16
    assert run.summary() == [("open", minute(0)), ("close", minute(11))]


def test_silence_closes_an_open_window_after_max_silence() -> None:
    run = Run().one_by_one(stay(0, 5))
    run.tick(66)
    assert len(run.decisions) == 1  # watermark 64 < 5 + 60
    run.tick(67)
    close = run.decisions[-1]
    assert (close.action, close.at, close.reason) == (GeofenceAction.CLOSE, minute(65), "silence")


def test_silence_abandons_an_arrival_and_the_dwell_starts_again() -> None:
    run = Run().one_by_one([ping(0, INSIDE), ping(70, INSIDE), ping(71, INSIDE), ping(72, INSIDE)])
    run.tick(200)
    assert run.summary()[0] == ("open", minute(70))


def test_zero_dwell_and_zero_gap_follow_every_ping() -> None:
    eager = GeofenceRules(dwell=timedelta(0), gap=timedelta(0), lateness=timedelta(0))
    run = Run(eager).one_by_one(
        [ping(0, INSIDE), ping(1, OUTSIDE), ping(2, INSIDE), ping(3, OUTSIDE)]
    )
    assert run.summary() == [
        ("open", minute(0)),
        ("close", minute(1)),
        ("open", minute(2)),
        ("close", minute(3)),
    ]


def test_at_one_instant_outside_comes_before_inside() -> None:
    eager = GeofenceRules(dwell=timedelta(0), gap=timedelta(0))
    run = Run(eager).deliver(ping(0, INSIDE), ping(0, OUTSIDE)).tick(10)
    assert run.summary() == [("open", minute(0))]


def test_the_buffer_counts_as_inside() -> None:
    near = east_of_the_warehouse(30)
    fence = Geofence([[WAREHOUSE_RING]], buffer_m=50)
    run = Run(fence=fence).one_by_one([Ping(minute(n), *near) for n in range(6)])
    assert run.summary() == [("open", minute(0))]


# --------------------------------------------------------------------------------------------
# Late, duplicated, inaccurate and out-of-order pings
# --------------------------------------------------------------------------------------------


def test_pings_out_of_order_within_the_lateness_are_put_back_in_order() -> None:
    # inside at 0, 2, 3; the outside ping of minute 1 arrives after the one of minute 2: the
    # flap at minute 1 resets the dwell, so the window opens at 2, not at 0
    late = [ping(0, INSIDE), ping(2, INSIDE), ping(1, OUTSIDE), ping(3, INSIDE), ping(4, INSIDE)]
    run = Run().one_by_one(late).tick(10)
    assert run.summary() == [("open", minute(2))]
    assert run.outcomes == [PingOutcome.ACCEPTED] * 5


def test_a_ping_older_than_the_watermark_is_late_and_ignored() -> None:
    run = Run().one_by_one([*stay(0, 10), *away(11, 18)])
    closed = list(run.decisions)
    run.deliver(ping(12, INSIDE))  # would have cancelled the exit: too late, the window is closed
    assert run.outcomes[-1] is PingOutcome.LATE
    assert run.decisions == closed


def test_duplicate_pings_are_idempotent() -> None:
    first = Run().one_by_one([*stay(0, 10), *away(11, 18)])
    twice = Run()
    for p in [*stay(0, 10), *away(11, 18)]:
        twice.deliver(p, p)
    assert twice.decisions == first.decisions
    assert PingOutcome.DUPLICATE in twice.outcomes


def test_a_duplicate_delivered_after_processing_is_reported_late() -> None:
    run = Run().one_by_one(stay(0, 10))
    run.deliver(ping(1, INSIDE))
    assert run.outcomes[-1] is PingOutcome.LATE


def test_inaccurate_pings_are_ignored() -> None:
    strict = GeofenceRules(max_accuracy_m=100)
    run = Run(strict).one_by_one([ping(n, INSIDE, accuracy=500) for n in range(10)])
    assert run.decisions == []
    assert set(run.outcomes) == {PingOutcome.INACCURATE}
    accurate = Run(strict).one_by_one([ping(n, INSIDE, accuracy=20) for n in range(10)])
    assert accurate.summary() == [("open", minute(0))]


def test_the_watermark_never_moves_backwards() -> None:
    run = Run().one_by_one(stay(0, 10))
    state = run.state
    assert advance_tracker(state, minute(1), WAREHOUSE, RULES).state == state


def test_the_state_survives_json_mid_stream() -> None:
    run = Run().one_by_one([*stay(0, 10), ping(11, OUTSIDE), ping(10.5, INSIDE)])
    stored = json.loads(json.dumps(run.state.to_json()))
    assert TrackerState.from_json(stored) == run.state
    assert run.state.pending  # pings still in the reorder buffer are persisted too


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"device_ref": "x"}, "policy_ref"),
        ({"policy_ref": "p", "device_ref": "x", "phase": "floating"}, "phase"),
        ({"policy_ref": "p", "device_ref": "x", "pending": {}}, "pending"),
        ({"policy_ref": "p", "device_ref": "x", "run_start": 3}, "run_start"),
    ],
)
def test_a_damaged_state_is_refused(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        TrackerState.from_json(data)
    assert info.value.field == field


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

PLACES = [INSIDE, OUTSIDE, (48.7520, 2.3500), east_of_the_warehouse(30)]  # in, out, corner, near
GAPS_S = [0, 10, 30, 60, 90, 120, 240, 330, 600, 3700]
PROPERTY_RULES = GeofenceRules(
    dwell=timedelta(minutes=2),
    gap=timedelta(minutes=5),
    lateness=timedelta(minutes=3),
    max_silence=timedelta(hours=1),
)


@st.composite
def streams(draw: st.DrawFn) -> list[Ping]:
    """Pings in time order (equal instants allowed)."""
    pings: list[Ping] = []
    now = T0
    for _ in range(draw(st.integers(0, 40))):
        now += timedelta(seconds=draw(st.sampled_from(GAPS_S)))
        lat, lon = draw(st.sampled_from(PLACES))
        candidate = Ping(now, lat, lon)
        if candidate.identity not in {p.identity for p in pings}:
            pings.append(candidate)
    return pings


def replay(
    deliveries: Iterable[list[Ping]], end: datetime, rules: GeofenceRules = PROPERTY_RULES
) -> tuple[list[GeofenceDecision], TrackerState]:
    state = fresh()
    decisions: list[GeofenceDecision] = []
    for delivery in deliveries:
        step = receive_pings(state, delivery, WAREHOUSE, rules)
        state = step.state
        decisions.extend(step.decisions)
    final = tick_tracker(state, end, WAREHOUSE, rules)
    return decisions + list(final.decisions), final.state


def end_of(pings: list[Ping]) -> datetime:
    return (pings[-1].at if pings else T0) + timedelta(hours=3)


@settings(max_examples=400, deadline=None)
@given(pings=streams(), delays=st.lists(st.integers(0, 179), min_size=40, max_size=40))
def test_any_arrival_order_within_the_lateness_gives_the_same_decisions(
    pings: list[Ping], delays: list[int]
) -> None:
    arrival = sorted(
        range(len(pings)), key=lambda i: (pings[i].at + timedelta(seconds=delays[i]), i)
    )
    in_order, _ = replay([[p] for p in pings], end_of(pings))
    shuffled, _ = replay([[pings[i]] for i in arrival], end_of(pings))
    assert shuffled == in_order


@settings(max_examples=300, deadline=None)
@given(pings=streams(), copies=st.lists(st.integers(1, 3), min_size=40, max_size=40))
def test_duplicated_deliveries_give_the_same_decisions(
    pings: list[Ping], copies: list[int]
) -> None:
    once, _ = replay([[p] for p in pings], end_of(pings))
    repeated = [[p] for p, n in zip(pings, copies, strict=False) for _ in range(n)]
    assert replay(repeated, end_of(pings))[0] == once


@settings(max_examples=300, deadline=None)
@given(pings=streams())
def test_one_batch_gives_the_same_decisions_as_one_ping_at_a_time(pings: list[Ping]) -> None:
    assert (
        replay([list(reversed(pings))], end_of(pings))[0]
        == replay([[p] for p in pings], end_of(pings))[0]
    )


@settings(max_examples=300, deadline=None)
@given(pings=streams(), cut=st.integers(0, 40), ticks=st.booleans())
def test_resuming_from_the_json_state_gives_the_same_decisions(
    pings: list[Ping], cut: int, ticks: bool
) -> None:
    def run(interrupt: bool) -> list[GeofenceDecision]:
        state = fresh()
        decisions: list[GeofenceDecision] = []
        for index, p in enumerate(pings):
            if interrupt and index == cut:
                state = TrackerState.from_json(json.loads(json.dumps(state.to_json())))
            step = receive_pings(state, [p], WAREHOUSE, PROPERTY_RULES)
            state = step.state
            decisions.extend(step.decisions)
            if ticks:
                step = tick_tracker(state, p.at + timedelta(minutes=1), WAREHOUSE, PROPERTY_RULES)
                state = step.state
                decisions.extend(step.decisions)
        return decisions + list(
            tick_tracker(state, end_of(pings), WAREHOUSE, PROPERTY_RULES).decisions
        )

    assert run(interrupt=True) == run(interrupt=False)


@settings(max_examples=400, deadline=None)
@given(pings=streams())
def test_windows_alternate_open_close_and_are_dated_by_the_evidence(pings: list[Ping]) -> None:
    decisions, state = replay([[p] for p in pings], end_of(pings))
    inside_times = {p.at for p in pings if WAREHOUSE.contains(p.lat, p.lon)}
    outside_times = {p.at for p in pings if not WAREHOUSE.contains(p.lat, p.lon)}
    previous_end = None
    for index, decision in enumerate(decisions):
        expected = GeofenceAction.OPEN if index % 2 == 0 else GeofenceAction.CLOSE
        assert decision.action is expected
        if decision.action is GeofenceAction.OPEN:
            assert decision.at in inside_times
            assert previous_end is None or decision.at >= previous_end
        else:
            opened = decisions[index - 1].at
            assert decision.window == Window(opened, decision.at)
            assert decision.at in outside_times or decision.reason == "silence"
            previous_end = decision.at
    assert (len(decisions) % 2 == 1) == (state.phase in (TrackerPhase.INSIDE, TrackerPhase.LEAVING))
