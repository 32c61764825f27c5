"""Cover windows of on-demand subscriptions: activate (now or scheduled), extend, stop early,
cancel, cover status, and the ``window.expired`` events.

**One activation = one transaction**: the window, its ledger charge, its signed certificate
(canonical content, SHA-256, Ed25519 signature: checkable at once), the item's policy windows (what
a claim is checked against), the audit entry and the outbox events (``window.activated``,
``certificate.issued``) are committed together or not at all. The certificate's PDF, a pure
function of the signed record, is rendered at its first download
(:func:`polis.services.ondemand_certificates.certificate_pdf`), outside this transaction.
Activations of one subscription queue on its row (``SELECT … FOR UPDATE``), because each reads the
item's usage book (the time already paid for, charged per local day, the days whose fee is paid):
overlapping windows are never billed twice, even when activated at the same instant. The window
and certificate numbers are taken by blocks per process on PostgreSQL (unique, not gapless: no
counter row stays locked); the tenant's audit chain is appended under its advisory lock, last.

The ``*_row`` functions are the steps inside an open unit of work, shared with the triggers
(:mod:`polis.services.triggers`): they take ``now`` — the instant the decision takes
effect, which a trigger may date in the recent past (a geofence entry is confirmed a few minutes
after the first ping inside) — and never commit.

Certificates: an activation issues one; an extension issues one for the longer period (the earlier
one stays true for its own period); an early stop revokes the window's certificates at the stop
instant and a cancellation at once.

The package: :mod:`.views` (request bodies, answers, conversions), :mod:`.state` (what the steps
read and write: the item's windows and money, ledger, policy terms, certificates, audit and events;
:func:`retrying`), :mod:`.steps` (the ``*_row`` steps) and :mod:`.usecases` (one transaction each).
"""

from polis.services.ondemand_windows.state import CONTENTION, retrying
from polis.services.ondemand_windows.steps import (
    cancel_row,
    close_row,
    extend_row,
    open_row,
    stop_row,
)
from polis.services.ondemand_windows.usecases import (
    activate_window,
    add_window,
    cancel_window,
    extend_window,
    get_cover_status,
    get_window,
    list_windows,
    publish_expired,
    stop_window,
)
from polis.services.ondemand_windows.views import (
    ActivationIn,
    ActivationView,
    ChangeView,
    CoverStatusView,
    ExtendIn,
    LineView,
    PriceView,
    StopIn,
    WindowView,
    window_of,
    window_view,
)

__all__ = [
    "CONTENTION",
    "ActivationIn",
    "ActivationView",
    "ChangeView",
    "CoverStatusView",
    "ExtendIn",
    "LineView",
    "PriceView",
    "StopIn",
    "WindowView",
    "activate_window",
    "add_window",
    "cancel_row",
    "cancel_window",
    "close_row",
    "extend_row",
    "extend_window",
    "get_cover_status",
    "get_window",
    "list_windows",
    "open_row",
    "publish_expired",
    "retrying",
    "stop_row",
    "stop_window",
    "window_of",
    "window_view",
]
