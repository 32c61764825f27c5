"""Partner trigger: start/stop calls from a partner platform, one state machine per ``partner_ref``.

Pure domain code: a call and the persisted :class:`PartnerRefState` come in, a
:class:`PartnerDecision` and the new state come out. See ``docs/triggers.md``.

Statuses and transitions (``at`` is the partner's instant of the start or stop)::

    new           --start-->  open            decision open [at, …)
    new           --stop--->  stop_pending    decision hold (the stop is remembered)
    stop_pending  --start-->  closed          decision open_closed [start, remembered stop)
    stop_pending  --timeout-> stop_orphaned   decision flag (a stop without a start: for a human)
    stop_orphaned --start-->  closed          decision open_closed (the rental did happen)
    open          --stop--->  closed          decision close [start, at)
    closed        --start-->  open            only if the policy allows re-opening and the new
                                              start is not before the previous end; else refused

Anything else is refused with a reason (``already_started``, ``already_stopped``,
``stop_before_start``, ``ref_already_used``, ``overlaps_previous_window``), the state unchanged.

Idempotency: a call whose idempotency key was seen returns the decision given the first time (a
key reused for a *different* call is refused: ``idempotency_key_reused``); a call identical to an
earlier one under another key (same kind and instant: a duplicate delivery) returns the earlier
decision too (and its key is remembered). Both are flagged ``replayed``: no window changes. Keys are scoped to the
``partner_ref`` here; the service's idempotency table scopes them to the tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.time import Window, ensure_utc, parse_instant

__all__ = [
    "PartnerAction",
    "PartnerCall",
    "PartnerCallKind",
    "PartnerDecision",
    "PartnerRefState",
    "PartnerRules",
    "PartnerStatus",
    "PartnerStep",
    "check_partner_timeout",
    "handle_partner_call",
]


class PartnerCallKind(StrEnum):
    START = "start"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class PartnerCall:
    """One call from the partner: ``at`` is when it happened for the partner, ``received_at`` when
    Polis got it."""

    kind: PartnerCallKind
    partner_ref: str
    idempotency_key: str
    at: datetime
    received_at: datetime

    def __post_init__(self) -> None:
        if not self.partner_ref:
            raise InvalidInput("partner_ref is required", field="partner_ref")
        if not self.idempotency_key:
            raise InvalidInput("an idempotency key is required", field="idempotency_key")
        object.__setattr__(self, "at", ensure_utc(self.at, field="at"))
        object.__setattr__(self, "received_at", ensure_utc(self.received_at, field="received_at"))

    @property
    def fingerprint(self) -> tuple[PartnerCallKind, datetime]:
        """What makes two calls the same call (the key and the reception time aside)."""
        return (self.kind, self.at)


class PartnerStatus(StrEnum):
    """Values are stored: never rename one."""

    NEW = "new"
    STOP_PENDING = "stop_pending"
    STOP_ORPHANED = "stop_orphaned"
    OPEN = "open"
    CLOSED = "closed"


class PartnerAction(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    OPEN_CLOSED = "open_closed"
    HOLD = "hold"
    REFUSE = "refuse"
    FLAG = "flag"


@dataclass(frozen=True, slots=True)
class PartnerDecision:
    """What to do: open at ``start``; close ``[start, end)``; record the closed window
    ``[start, end)``; hold a stop at ``end``; refuse (``reason``); flag an orphan stop."""

    action: PartnerAction
    partner_ref: str
    start: datetime | None = None
    end: datetime | None = None
    reason: str = ""

    @property
    def window(self) -> Window | None:
        if self.start is None or self.end is None:
            return None
        return Window(self.start, self.end)

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "partner_ref": self.partner_ref,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PartnerDecision:
        try:
            action = PartnerAction(str(data.get("action")))
        except ValueError as e:
            raise InvalidInput("unknown action", field="action") from e
        return cls(
            action,
            _text(data, "partner_ref"),
            _instant(data, "start"),
            _instant(data, "end"),
            str(data.get("reason", "")),
        )


@dataclass(frozen=True, slots=True)
class PartnerRules:
    """Per partner (tenant) or product: may a reference be re-opened; when is a lone stop flagged."""

    allow_reopen: bool = False
    orphan_stop_after: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.orphan_stop_after <= timedelta(0):
            raise InvalidInput("the timeout must be positive", field="orphan_stop_after")


@dataclass(frozen=True, slots=True)
class _Answer:
    idempotency_key: str
    kind: PartnerCallKind
    at: datetime
    decision: PartnerDecision


@dataclass(frozen=True, slots=True)
class PartnerRefState:
    """The memory for one ``partner_ref``: serialisable with :meth:`to_json`."""

    partner_ref: str
    status: PartnerStatus = PartnerStatus.NEW
    start: datetime | None = None
    end: datetime | None = None
    stop_received_at: datetime | None = None
    earlier: tuple[Window, ...] = ()
    answers: tuple[_Answer, ...] = ()

    @property
    def window(self) -> Window | None:
        """The latest window when it is closed."""
        if self.status is PartnerStatus.CLOSED and self.start and self.end:
            return Window(self.start, self.end)
        return None

    def to_json(self) -> dict[str, object]:
        return {
            "partner_ref": self.partner_ref,
            "status": self.status.value,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "stop_received_at": _iso(self.stop_received_at),
            "earlier": [[w.start.isoformat(), w.end.isoformat()] for w in self.earlier],
            "answers": [
                {
                    "idempotency_key": a.idempotency_key,
                    "kind": a.kind.value,
                    "at": a.at.isoformat(),
                    "decision": a.decision.to_json(),
                }
                for a in self.answers
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PartnerRefState:
        try:
            status = PartnerStatus(str(data.get("status", "new")))
        except ValueError as e:
            raise InvalidInput("unknown status", field="status") from e
        earlier_raw = data.get("earlier", [])
        answers_raw = data.get("answers", [])
        if not isinstance(earlier_raw, list) or not isinstance(answers_raw, list):
            raise InvalidInput("expected lists", field="answers")
        earlier = []
        for pair in earlier_raw:
            if not isinstance(pair, list) or len(pair) != 2:
                raise InvalidInput("expected [start, end]", field="earlier")
            earlier.append(
                Window(
                    parse_instant(str(pair[0]), field="earlier"),
                    parse_instant(str(pair[1]), field="earlier"),
                )
            )
        answers = []
        for item in answers_raw:
            if not isinstance(item, Mapping) or not isinstance(item.get("decision"), Mapping):
                raise InvalidInput("expected an answer object", field="answers")
            at = _instant(item, "at")
            if at is None:
                raise InvalidInput("an answer needs its instant", field="answers.at")
            try:
                kind = PartnerCallKind(str(item.get("kind")))
            except ValueError as e:
                raise InvalidInput("unknown call kind", field="answers.kind") from e
            decision = item["decision"]
            assert isinstance(decision, Mapping)
            answers.append(
                _Answer(
                    _text(item, "idempotency_key"), kind, at, PartnerDecision.from_json(decision)
                )
            )
        return cls(
            partner_ref=_text(data, "partner_ref"),
            status=status,
            start=_instant(data, "start"),
            end=_instant(data, "end"),
            stop_received_at=_instant(data, "stop_received_at"),
            earlier=tuple(earlier),
            answers=tuple(answers),
        )


@dataclass(frozen=True, slots=True)
class PartnerStep:
    state: PartnerRefState
    decision: PartnerDecision
    replayed: bool = False


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _instant(data: Mapping[str, object], name: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("expected an ISO 8601 instant", field=name)
    return parse_instant(value, field=name)


def _text(data: Mapping[str, object], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput("expected a non-empty text", field=name)
    return value


def _transition(
    state: PartnerRefState, call: PartnerCall, rules: PartnerRules
) -> tuple[PartnerRefState, PartnerDecision]:
    ref, at, status = state.partner_ref, call.at, state.status

    def refuse(reason: str) -> tuple[PartnerRefState, PartnerDecision]:
        return state, PartnerDecision(PartnerAction.REFUSE, ref, reason=reason)

    if call.kind is PartnerCallKind.START:
        if status is PartnerStatus.NEW:
            opened = replace(state, status=PartnerStatus.OPEN, start=at, end=None)
            return opened, PartnerDecision(PartnerAction.OPEN, ref, start=at)
        if status in (PartnerStatus.STOP_PENDING, PartnerStatus.STOP_ORPHANED):
            assert state.end is not None
            if at >= state.end:
                return refuse("stop_before_start")
            closed = replace(state, status=PartnerStatus.CLOSED, start=at, stop_received_at=None)
            return closed, PartnerDecision(PartnerAction.OPEN_CLOSED, ref, start=at, end=state.end)
        if status is PartnerStatus.OPEN:
            return refuse("already_started")
        assert state.start is not None
        assert state.end is not None
        if not rules.allow_reopen:
            return refuse("ref_already_used")
        if at < state.end:
            return refuse("overlaps_previous_window")
        reopened = replace(
            state,
            status=PartnerStatus.OPEN,
            start=at,
            end=None,
            earlier=(*state.earlier, Window(state.start, state.end)),
        )
        return reopened, PartnerDecision(PartnerAction.OPEN, ref, start=at)
    if status is PartnerStatus.NEW:
        held = replace(
            state, status=PartnerStatus.STOP_PENDING, end=at, stop_received_at=call.received_at
        )
        return held, PartnerDecision(PartnerAction.HOLD, ref, end=at)
    if status is PartnerStatus.OPEN:
        assert state.start is not None
        if at <= state.start:
            return refuse("stop_before_start")
        closed = replace(state, status=PartnerStatus.CLOSED, end=at)
        return closed, PartnerDecision(PartnerAction.CLOSE, ref, start=state.start, end=at)
    return refuse("already_stopped")


def handle_partner_call(
    state: PartnerRefState, call: PartnerCall, rules: PartnerRules = PartnerRules()
) -> PartnerStep:
    """Apply one call to the state of its ``partner_ref`` (see the module docstring)."""
    if call.partner_ref != state.partner_ref:
        raise InvalidInput(
            f"call for {call.partner_ref!r} given the state of {state.partner_ref!r}",
            field="partner_ref",
        )
    for answer in state.answers:
        if answer.idempotency_key == call.idempotency_key:
            if (answer.kind, answer.at) == call.fingerprint:
                return PartnerStep(state, answer.decision, replayed=True)
            refusal = PartnerDecision(
                PartnerAction.REFUSE, state.partner_ref, reason="idempotency_key_reused"
            )
            return PartnerStep(state, refusal)
    for answer in state.answers:
        if (answer.kind, answer.at) == call.fingerprint:
            remembered = _Answer(call.idempotency_key, call.kind, call.at, answer.decision)
            return PartnerStep(
                replace(state, answers=(*state.answers, remembered)), answer.decision, replayed=True
            )
    new_state, decision = _transition(state, call, rules)
    answer = _Answer(call.idempotency_key, call.kind, call.at, decision)
    return PartnerStep(replace(new_state, answers=(*new_state.answers, answer)), decision)


def check_partner_timeout(
    state: PartnerRefState, now: datetime, rules: PartnerRules = PartnerRules()
) -> PartnerStep | None:
    """Flag a stop that has waited ``orphan_stop_after`` for its start (once); ``None`` otherwise."""
    moment = ensure_utc(now, field="now")
    if state.status is not PartnerStatus.STOP_PENDING:
        return None
    assert state.stop_received_at is not None
    if moment < state.stop_received_at + rules.orphan_stop_after:
        return None
    flagged = replace(state, status=PartnerStatus.STOP_ORPHANED)
    return PartnerStep(
        flagged,
        PartnerDecision(
            PartnerAction.FLAG, state.partner_ref, end=state.end, reason="stop_without_start"
        ),
    )
