"""The claim lifecycle: statuses, the allowed-transition table, refusal reasons.

Pure domain code: no I/O. The services persist the status; this module decides what may happen.

Statuses and transitions (anything not in :data:`TRANSITIONS` raises ``IllegalTransition``)::

    declared            → evidence_requested | under_assessment | withdrawn
    evidence_requested  → under_assessment | withdrawn
    under_assessment    → evidence_requested | offer_made | refused | withdrawn
    offer_made          → accepted | contested | under_assessment | withdrawn
    contested           → offer_made | under_assessment | refused | closed | withdrawn
    accepted            → paid
    paid                → closed
    closed | refused | withdrawn → reopened
    reopened            → evidence_requested | under_assessment | withdrawn

Some targets are reached only through their own use case, never by a plain status change
(:data:`ACTION_TARGETS`): ``offer_made`` (an offer computed by the settlement engine),
``accepted``/``contested`` (the insured's answer to that offer) and ``paid`` (a payment entry).

The declaration deadline (late = flagged, never refused) is :mod:`polis.claims.deadlines`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from polis.kernel.errors import IllegalTransition

__all__ = [
    "ACTION_TARGETS",
    "PAYMENT_STATUSES",
    "RECOVERY_STATUSES",
    "RESERVE_STATUSES",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "ClaimStatus",
    "RefusalReason",
    "allowed_targets",
    "transition",
]


class ClaimStatus(StrEnum):
    """Where a claim stands. Values are stored: never rename one."""

    DECLARED = "declared"
    EVIDENCE_REQUESTED = "evidence_requested"
    UNDER_ASSESSMENT = "under_assessment"
    OFFER_MADE = "offer_made"
    CONTESTED = "contested"
    ACCEPTED = "accepted"
    PAID = "paid"
    CLOSED = "closed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    REOPENED = "reopened"

    @property
    def is_open(self) -> bool:
        """Still being handled (not closed, refused or withdrawn)."""
        return self not in TERMINAL_STATUSES


S = ClaimStatus

#: The whole state machine: status → the statuses it may move to.
TRANSITIONS: Mapping[ClaimStatus, frozenset[ClaimStatus]] = {
    S.DECLARED: frozenset({S.EVIDENCE_REQUESTED, S.UNDER_ASSESSMENT, S.WITHDRAWN}),
    S.EVIDENCE_REQUESTED: frozenset({S.UNDER_ASSESSMENT, S.WITHDRAWN}),
    S.UNDER_ASSESSMENT: frozenset({S.EVIDENCE_REQUESTED, S.OFFER_MADE, S.REFUSED, S.WITHDRAWN}),
    S.OFFER_MADE: frozenset({S.ACCEPTED, S.CONTESTED, S.UNDER_ASSESSMENT, S.WITHDRAWN}),
    S.CONTESTED: frozenset({S.UNDER_ASSESSMENT, S.OFFER_MADE, S.REFUSED, S.CLOSED, S.WITHDRAWN}),
    S.ACCEPTED: frozenset({S.PAID}),
    S.PAID: frozenset({S.CLOSED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REFUSED: frozenset({S.REOPENED}),
    S.WITHDRAWN: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.EVIDENCE_REQUESTED, S.UNDER_ASSESSMENT, S.WITHDRAWN}),
}

#: Statuses in which the file is no longer handled (the outstanding reserve is released).
TERMINAL_STATUSES: frozenset[ClaimStatus] = frozenset({S.CLOSED, S.REFUSED, S.WITHDRAWN})

#: Targets reached only through their own use case (offer, answer, payment), with its name.
ACTION_TARGETS: Mapping[ClaimStatus, str] = {
    S.OFFER_MADE: "make an offer",
    S.ACCEPTED: "accept the offer",
    S.CONTESTED: "contest the offer",
    S.PAID: "record a payment",
}

#: A payment may be recorded once the offer is accepted (the first one moves the claim to ``paid``).
PAYMENT_STATUSES: frozenset[ClaimStatus] = frozenset({S.ACCEPTED, S.PAID})
#: Recoveries (subrogation, salvage, a stolen item found) come in after payment, even once closed.
RECOVERY_STATUSES: frozenset[ClaimStatus] = frozenset({S.PAID, S.CLOSED})
#: The reserve (estimated outstanding cost) is kept while money may still go out.
RESERVE_STATUSES: frozenset[ClaimStatus] = frozenset(
    {s for s in ClaimStatus if s not in TERMINAL_STATUSES}
)


class RefusalReason(StrEnum):
    """Why a claim is refused: stable codes, never renumbered or reused."""

    NOT_COVERED = "not_covered"  # the peril or the thing is not insured
    EXCLUDED = "excluded"  # an exclusion of the contract applies
    OUTSIDE_PERIOD = "outside_period"  # loss outside the cover period or window
    WAITING_PERIOD = "waiting_period"  # loss during the waiting period
    LATE_DECLARATION_PREJUDICE = "late_declaration_prejudice"  # late and it harmed the insurer
    NULLITY = "nullity"  # intentional misstatement, L113-8
    NO_EVIDENCE = "no_evidence"  # the loss could not be established
    BELOW_DEDUCTIBLE = "below_deductible"
    FRAUD = "fraud"


def allowed_targets(current: ClaimStatus) -> frozenset[ClaimStatus]:
    """The statuses ``current`` may move to."""
    return TRANSITIONS[current]


def transition(current: ClaimStatus, target: ClaimStatus) -> ClaimStatus:
    """``target`` when the table allows ``current → target``; else ``IllegalTransition`` naming both."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise IllegalTransition(
            f"a claim cannot go from {current.value!r} to {target.value!r} (allowed: {allowed})",
            field="status",
            from_status=current.value,
            to_status=target.value,
        )
    return target
