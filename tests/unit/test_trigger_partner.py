"""Partner trigger: start/stop calls per partner reference, idempotent and tolerant of disorder."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.kernel import InvalidInput, Window
from polis.ondemand.triggers_partner import (
    PartnerAction,
    PartnerCall,
    PartnerCallKind,
    PartnerDecision,
    PartnerRefState,
    PartnerRules,
    PartnerStatus,
    PartnerStep,
    check_partner_timeout,
    handle_partner_call,
)

REF = "location-8841"  # the rental's reference on the marketplace
HANDED_OVER = datetime(2025, 10, 25, 22, 0, tzinfo=UTC)  # a Saturday night rental, across DST
RETURNED = datetime(2025, 10, 26, 10, 0, tzinfo=UTC)
STRICT = PartnerRules()
REOPEN = PartnerRules(allow_reopen=True)

START = PartnerCallKind.START
STOP = PartnerCallKind.STOP


def call(
    kind: PartnerCallKind,
    at: datetime,
    key: str | None = None,
    *,
    received: datetime | None = None,
    ref: str = REF,
) -> PartnerCall:
    return PartnerCall(kind, ref, key or f"{kind.value}-{at:%H%M}", at, received or at)


def play(
    *calls: PartnerCall, rules: PartnerRules = STRICT, state: PartnerRefState | None = None
) -> tuple[PartnerRefState, list[PartnerStep]]:
    current = state or PartnerRefState(REF)
    steps = []
    for c in calls:
        step = handle_partner_call(current, c, rules)
        current = step.state
        steps.append(step)
    return current, steps


def test_start_opens_and_stop_closes() -> None:
    state, (opened, closed) = play(call(START, HANDED_OVER), call(STOP, RETURNED))
    assert (opened.decision.action, opened.decision.start) == (PartnerAction.OPEN, HANDED_OVER)
    assert closed.decision.action is PartnerAction.CLOSE
    assert closed.decision.window == Window(HANDED_OVER, RETURNED)
    assert closed.decision.window.hours() == 12
    assert state.status is PartnerStatus.CLOSED
    assert state.window == Window(HANDED_OVER, RETURNED)


def test_a_retried_call_with_the_same_key_returns_the_same_decision() -> None:
    first = call(START, HANDED_OVER, "idem-1")
    _, (original, retry) = play(first, first)
    assert retry.decision == original.decision
    assert retry.replayed
    assert retry.state == original.state


def test_a_duplicate_delivery_under_another_key_returns_the_same_decision() -> None:
    state, (original, duplicate) = play(
        call(START, HANDED_OVER, "idem-1"), call(START, HANDED_OVER, "idem-2")
    )
    assert duplicate.decision == original.decision
    assert duplicate.replayed
    assert state.status is PartnerStatus.OPEN
    # the second key is remembered: retrying it is a replay too
    again = handle_partner_call(state, call(START, HANDED_OVER, "idem-2"))
    assert again.replayed
    assert again.state == state


def test_a_duplicate_stop_returns_the_same_close() -> None:
    _, steps = play(call(START, HANDED_OVER), call(STOP, RETURNED, "a"), call(STOP, RETURNED, "b"))
    assert steps[2].decision == steps[1].decision
    assert steps[2].replayed


def test_a_key_reused_for_another_call_is_refused_and_changes_nothing() -> None:
    state, _ = play(call(START, HANDED_OVER, "idem-1"))
    step = handle_partner_call(state, call(STOP, RETURNED, "idem-1"))
    assert (step.decision.action, step.decision.reason) == (
        PartnerAction.REFUSE,
        "idempotency_key_reused",
    )
    assert step.state == state


def test_a_second_start_at_another_time_is_refused() -> None:
    state, (_, second) = play(
        call(START, HANDED_OVER), call(START, HANDED_OVER + timedelta(hours=1))
    )
    assert second.decision.reason == "already_started"
    assert state.start == HANDED_OVER


def test_a_stop_before_the_start_is_remembered_and_applied_when_the_start_arrives() -> None:
    state, (held, opened) = play(
        call(STOP, RETURNED, received=RETURNED), call(START, HANDED_OVER, received=RETURNED)
    )
    assert (held.decision.action, held.decision.end) == (PartnerAction.HOLD, RETURNED)
    assert opened.decision.action is PartnerAction.OPEN_CLOSED
    assert opened.decision.window == Window(HANDED_OVER, RETURNED)
    assert state.window == Window(HANDED_OVER, RETURNED)


def test_a_start_after_the_remembered_stop_is_refused() -> None:
    state, (_, start) = play(call(STOP, HANDED_OVER), call(START, RETURNED))
    assert start.decision.reason == "stop_before_start"
    assert state.status is PartnerStatus.STOP_PENDING


def test_a_stop_at_or_before_the_start_is_refused() -> None:
    _, (_, stop) = play(call(START, RETURNED), call(STOP, HANDED_OVER))
    assert stop.decision.reason == "stop_before_start"
    _, (_, same) = play(call(START, RETURNED), call(STOP, RETURNED))
    assert same.decision.reason == "stop_before_start"


def test_a_second_stop_at_another_time_is_refused() -> None:
    _, steps = play(
        call(START, HANDED_OVER), call(STOP, RETURNED), call(STOP, RETURNED + timedelta(hours=1))
    )
    assert steps[2].decision.reason == "already_stopped"
    _, pending = play(call(STOP, RETURNED), call(STOP, RETURNED + timedelta(hours=1)))
    assert pending[1].decision.reason == "already_stopped"


def test_a_stop_without_start_is_flagged_once_after_the_timeout_and_still_settles() -> None:
    received = RETURNED + timedelta(minutes=1)
    state, _ = play(call(STOP, RETURNED, received=received))
    assert check_partner_timeout(state, received + timedelta(hours=23)) is None
    flagged = check_partner_timeout(state, received + timedelta(hours=24))
    assert flagged is not None
    assert (flagged.decision.action, flagged.decision.reason) == (
        PartnerAction.FLAG,
        "stop_without_start",
    )
    assert flagged.state.status is PartnerStatus.STOP_ORPHANED
    assert check_partner_timeout(flagged.state, received + timedelta(days=3)) is None
    late_start = handle_partner_call(flagged.state, call(START, HANDED_OVER))
    assert late_start.decision.action is PartnerAction.OPEN_CLOSED
    assert late_start.state.window == Window(HANDED_OVER, RETURNED)


def test_a_start_after_a_stop_is_refused_unless_reopening_is_allowed() -> None:
    next_rental = RETURNED + timedelta(days=1)
    _, steps = play(call(START, HANDED_OVER), call(STOP, RETURNED), call(START, next_rental))
    assert steps[2].decision.reason == "ref_already_used"
    state, steps = play(
        call(START, HANDED_OVER),
        call(STOP, RETURNED),
        call(START, next_rental),
        call(STOP, next_rental + timedelta(hours=3)),
        rules=REOPEN,
    )
    assert steps[2].decision.action is PartnerAction.OPEN
    assert state.earlier == (Window(HANDED_OVER, RETURNED),)
    assert state.window == Window(next_rental, next_rental + timedelta(hours=3))


def test_a_reopening_cannot_overlap_the_previous_window() -> None:
    _, steps = play(
        call(START, HANDED_OVER),
        call(STOP, RETURNED),
        call(START, RETURNED - timedelta(hours=1)),
        rules=REOPEN,
    )
    assert steps[2].decision.reason == "overlaps_previous_window"


def test_a_retry_of_the_first_start_after_a_reopening_is_still_a_replay() -> None:
    next_rental = RETURNED + timedelta(days=1)
    first = call(START, HANDED_OVER, "first-start")
    state, steps = play(first, call(STOP, RETURNED), call(START, next_rental), rules=REOPEN)
    retry = handle_partner_call(state, first, REOPEN)
    assert retry.replayed
    assert retry.decision == steps[0].decision
    assert retry.state == state


def test_calls_are_validated() -> None:
    with pytest.raises(InvalidInput) as info:
        PartnerCall(START, "", "k", HANDED_OVER, HANDED_OVER)
    assert info.value.field == "partner_ref"
    with pytest.raises(InvalidInput) as info:
        PartnerCall(START, REF, "", HANDED_OVER, HANDED_OVER)
    assert info.value.field == "idempotency_key"
    with pytest.raises(InvalidInput) as info:
        PartnerCall(START, REF, "k", datetime(2025, 10, 26, 2, 30), HANDED_OVER)
    assert info.value.field == "at"
    with pytest.raises(InvalidInput) as info:
        handle_partner_call(PartnerRefState(REF), call(START, HANDED_OVER, ref="other"))
    assert info.value.field == "partner_ref"
    with pytest.raises(InvalidInput):
        PartnerRules(orphan_stop_after=timedelta(0))


def test_the_state_and_decisions_survive_json() -> None:
    state, _ = play(
        call(START, HANDED_OVER),
        call(STOP, RETURNED),
        call(START, RETURNED + timedelta(days=1)),
        rules=REOPEN,
    )
    assert PartnerRefState.from_json(json.loads(json.dumps(state.to_json()))) == state
    pending, _ = play(call(STOP, RETURNED, received=RETURNED + timedelta(seconds=3)))
    assert PartnerRefState.from_json(json.loads(json.dumps(pending.to_json()))) == pending


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"partner_ref": REF, "status": "lost"}, "status"),
        ({"status": "new"}, "partner_ref"),
        ({"partner_ref": REF, "answers": {}}, "answers"),
        ({"partner_ref": REF, "earlier": [["2025-10-25T22:00Z"]]}, "earlier"),
        ({"partner_ref": REF, "answers": [{"idempotency_key": "k", "kind": "start"}]}, "answers"),
        (
            {
                "partner_ref": REF,
                "answers": [
                    {
                        "idempotency_key": "k",
                        "kind": "pause",
                        "at": "2025-10-25T22:00Z",
                        "decision": {},
                    }
                ],
            },
            "answers.kind",
        ),
    ],
)
def test_a_damaged_state_is_refused(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        PartnerRefState.from_json(data)
    assert info.value.field == field


def test_a_damaged_decision_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        PartnerDecision.from_json({"action": "explode", "partner_ref": REF})
    assert info.value.field == "action"


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

HOUR = timedelta(hours=1)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[datetime, datetime, list[PartnerCall]]:
    """One rental's start and stop, each delivered 1-3 times under retried or fresh keys, in any order."""
    start = HANDED_OVER + HOUR * draw(st.integers(-48, 48))
    stop = start + timedelta(minutes=draw(st.integers(1, 72 * 60)))
    calls = []
    for kind, at in ((START, start), (STOP, stop)):
        for copy in range(draw(st.integers(1, 3))):
            key = f"{kind.value}-{draw(st.integers(0, copy))}"
            calls.append(PartnerCall(kind, REF, key, at, stop + timedelta(minutes=copy)))
    random.Random(draw(st.integers(0, 10_000))).shuffle(calls)
    return start, stop, calls


@settings(max_examples=300, deadline=None)
@given(deliveries())
def test_any_order_and_any_duplicates_give_the_one_window(
    case: tuple[datetime, datetime, list[PartnerCall]],
) -> None:
    start, stop, calls = case
    state, steps = play(*calls)
    assert state.window == Window(start, stop)
    assert not any(s.decision.action is PartnerAction.REFUSE for s in steps)
    decided = [s.decision for s in steps if not s.replayed]
    assert [d.action for d in decided] in (
        [PartnerAction.OPEN, PartnerAction.CLOSE],
        [PartnerAction.HOLD, PartnerAction.OPEN_CLOSED],
    )


@settings(max_examples=300, deadline=None)
@given(deliveries())
def test_replaying_every_call_again_changes_no_window(
    case: tuple[datetime, datetime, list[PartnerCall]],
) -> None:
    _, _, calls = case
    state, steps = play(*calls)
    again, replays = play(*calls, state=state)
    assert all(r.replayed for r in replays)
    assert again.window == state.window
    assert again.status is state.status
    first_answer = {
        c.idempotency_key: s.decision for c, s in reversed(list(zip(calls, steps, strict=True)))
    }
    assert [r.decision for r in replays] == [first_answer[c.idempotency_key] for c in calls]


kinds = st.sampled_from([START, STOP])
moments = st.integers(-6, 30).map(lambda n: HANDED_OVER + HOUR * n)


@st.composite
def sessions(draw: st.DrawFn) -> list[tuple[str, PartnerCall | datetime]]:
    """Any mix of calls (with reused keys) and timeout checks, in arrival order."""
    events: list[tuple[str, PartnerCall | datetime]] = []
    clock = HANDED_OVER
    for _ in range(draw(st.integers(0, 12))):
        clock += timedelta(minutes=draw(st.integers(0, 600)))
        if draw(st.integers(0, 4)) == 0:
            events.append(("check", clock + timedelta(hours=draw(st.integers(0, 30)))))
        else:
            key = f"k{draw(st.integers(0, 5))}"
            events.append(("call", PartnerCall(draw(kinds), REF, key, draw(moments), clock)))
    return events


def run_session(
    events: list[tuple[str, PartnerCall | datetime]], rules: PartnerRules, cut: int | None
) -> list[tuple[PartnerDecision, bool]]:
    state = PartnerRefState(REF)
    seen: list[tuple[PartnerDecision, bool]] = []
    for index, (kind, payload) in enumerate(events):
        if index == cut:  # interrupted: the state is read back from storage
            state = PartnerRefState.from_json(json.loads(json.dumps(state.to_json())))
        if kind == "check":
            assert isinstance(payload, datetime)
            flagged = check_partner_timeout(state, payload, rules)
            if flagged is not None:
                state = flagged.state
                seen.append((flagged.decision, flagged.replayed))
        else:
            assert isinstance(payload, PartnerCall)
            step = handle_partner_call(state, payload, rules)
            state = step.state
            seen.append((step.decision, step.replayed))
    return seen


@settings(max_examples=300, deadline=None)
@given(sessions(), st.integers(0, 12), st.booleans())
def test_resuming_from_the_json_state_gives_the_same_decisions(
    events: list[tuple[str, PartnerCall | datetime]], cut: int, reopen: bool
) -> None:
    rules = PartnerRules(allow_reopen=reopen)
    assert run_session(events, rules, cut) == run_session(events, rules, None)


@settings(max_examples=300, deadline=None)
@given(sessions(), st.booleans())
def test_windows_are_always_well_formed_and_never_overlap(
    events: list[tuple[str, PartnerCall | datetime]], reopen: bool
) -> None:
    rules = PartnerRules(allow_reopen=reopen)
    windows: list[Window] = []
    for decision, replayed in run_session(events, rules, None):
        if replayed:
            continue
        if decision.action in (PartnerAction.CLOSE, PartnerAction.OPEN_CLOSED):
            assert decision.window is not None
            windows.append(decision.window)
    for earlier, later in itertools.pairwise(windows):
        assert earlier.end <= later.start
