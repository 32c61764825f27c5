"""Geofence state machine: buffer pings, process them in time order, open and close windows.

Hysteresis (``dwell``, ``gap``, ``max_silence``) and ordering (``lateness`` watermark) are described
in :mod:`polis.ondemand.triggers_geofence`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from polis.kernel.time import Window, ensure_utc
from polis.ondemand.geofence_fence import Geofence
from polis.ondemand.geofence_pings import GeofenceRules, Ping
from polis.ondemand.geofence_state import (
    GeofenceAction,
    GeofenceDecision,
    GeofenceStep,
    PingOutcome,
    TrackerPhase,
    TrackerState,
)

__all__ = ["advance_tracker", "receive_pings", "tick_tracker"]


class _Machine:
    """Mutable working copy of a :class:`TrackerState` while one call runs."""

    def __init__(self, state: TrackerState, rules: GeofenceRules) -> None:
        self.state = state
        self.rules = rules
        self.decisions: list[GeofenceDecision] = []

    def _decide(self, action: GeofenceAction, at: datetime, reason: str) -> None:
        s = self.state
        window = None
        if action is GeofenceAction.CLOSE:
            assert s.run_start is not None
            window = Window(s.run_start, at)
        self.decisions.append(
            GeofenceDecision(action, s.policy_ref, s.device_ref, at, reason, window)
        )

    def expire(self, now: datetime) -> None:
        """Fire the timers due at ``now`` (nothing was seen between the last ping and ``now``)."""
        s, rules = self.state, self.rules
        if s.phase is TrackerPhase.LEAVING:
            assert s.outside_since is not None
            if now >= s.outside_since + rules.gap:
                self._decide(GeofenceAction.CLOSE, s.outside_since, "exit")
                self.state = replace(
                    s, phase=TrackerPhase.OUTSIDE, run_start=None, outside_since=None
                )
            return
        if rules.max_silence is None or s.last_ping is None:
            return
        if s.phase is TrackerPhase.INSIDE and now >= s.last_ping + rules.max_silence:
            assert s.last_inside is not None
            self._decide(GeofenceAction.CLOSE, s.last_inside + rules.max_silence, "silence")
            self.state = replace(s, phase=TrackerPhase.OUTSIDE, run_start=None)
        elif s.phase is TrackerPhase.ARRIVING and now >= s.last_ping + rules.max_silence:
            self.state = replace(s, phase=TrackerPhase.OUTSIDE, run_start=None)

    def observe(self, at: datetime, inside: bool) -> None:
        self.expire(at)
        s, rules = self.state, self.rules
        if inside:
            if s.phase is TrackerPhase.OUTSIDE:
                s = replace(s, phase=TrackerPhase.ARRIVING, run_start=at)
            s = replace(s, last_inside=at, outside_since=None, last_ping=at)
            if s.phase is TrackerPhase.LEAVING:
                s = replace(s, phase=TrackerPhase.INSIDE)
            self.state = s
            if s.phase is TrackerPhase.ARRIVING:
                assert s.run_start is not None
                if at - s.run_start >= rules.dwell:
                    self._decide(GeofenceAction.OPEN, s.run_start, "entry")
                    self.state = replace(s, phase=TrackerPhase.INSIDE)
            return
        s = replace(s, last_ping=at)
        if s.phase is TrackerPhase.ARRIVING:
            s = replace(s, phase=TrackerPhase.OUTSIDE, run_start=None)
        elif s.phase is TrackerPhase.INSIDE:
            s = replace(s, phase=TrackerPhase.LEAVING, outside_since=at)
        self.state = s
        if s.phase is TrackerPhase.LEAVING:
            self.expire(at)  # a zero gap closes at once


def _key(ping: Ping, fence: Geofence) -> tuple[datetime, bool, float, float]:
    return (ping.at, fence.contains(ping.lat, ping.lon), ping.lat, ping.lon)


def advance_tracker(
    state: TrackerState, until: datetime, fence: Geofence, rules: GeofenceRules
) -> GeofenceStep:
    """Process the buffered pings up to ``until`` (inclusive) and fire the timers due at ``until``.

    From then on, pings at or before ``until`` are late. ``until`` never moves backwards.
    """
    limit = ensure_utc(until, field="until")
    if state.processed_until is not None and limit <= state.processed_until:
        return GeofenceStep(state)
    machine = _Machine(state, rules)
    due = sorted((p for p in state.pending if p.at <= limit), key=lambda p: _key(p, fence))
    for ping in due:
        machine.observe(ping.at, fence.contains(ping.lat, ping.lon))
    machine.expire(limit)
    remaining = tuple(p for p in state.pending if p.at > limit)
    new_state = replace(machine.state, pending=remaining, processed_until=limit)
    return GeofenceStep(new_state, tuple(machine.decisions))


def receive_pings(
    state: TrackerState, pings: Iterable[Ping], fence: Geofence, rules: GeofenceRules
) -> GeofenceStep:
    """Take a delivery of pings (any order, duplicates allowed), then advance to the watermark."""
    pending = {p.identity: p for p in state.pending}
    latest = state.latest_seen
    outcomes: list[PingOutcome] = []
    for ping in pings:
        if (
            rules.max_accuracy_m is not None
            and ping.accuracy_m is not None
            and ping.accuracy_m > rules.max_accuracy_m
        ):
            outcomes.append(PingOutcome.INACCURATE)
        elif ping.identity in pending:
            outcomes.append(PingOutcome.DUPLICATE)
        elif state.processed_until is not None and ping.at <= state.processed_until:
            outcomes.append(PingOutcome.LATE)
        else:
            pending[ping.identity] = ping
            latest = ping.at if latest is None else max(latest, ping.at)
            outcomes.append(PingOutcome.ACCEPTED)
    buffered = replace(
        state, pending=tuple(sorted(pending.values(), key=lambda p: p.identity)), latest_seen=latest
    )
    if latest is None:
        return GeofenceStep(buffered, (), tuple(outcomes))
    step = advance_tracker(buffered, latest - rules.lateness, fence, rules)
    return GeofenceStep(step.state, step.decisions, tuple(outcomes))


def tick_tracker(
    state: TrackerState, now: datetime, fence: Geofence, rules: GeofenceRules
) -> GeofenceStep:
    """Time passes without pings (a scheduler calls this): advance to ``now − lateness``."""
    return advance_tracker(state, ensure_utc(now, field="now") - rules.lateness, fence, rules)
