"""Event filters of an endpoint: an event type, a prefix wildcard (``window.*``) or ``*``."""

from __future__ import annotations

import re
from collections.abc import Collection

from polis.kernel.errors import InvalidInput

__all__ = ["matches"]

_FILTER = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")
_MAX_FILTERS = 50


def matches(filters: Collection[str], event_type: str) -> bool:
    """Whether an endpoint with ``filters`` wants ``event_type`` (no filter: every event).

    A filter is an event type (``window.activated``), a prefix wildcard (``window.*``) or ``*``.
    """
    if not filters:
        return True
    for pattern in filters:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def _check_filters(events: Collection[str]) -> list[str]:
    if isinstance(events, str):
        events = [events]
    if len(events) > _MAX_FILTERS:
        raise InvalidInput(f"at most {_MAX_FILTERS} event filters", field="events")
    clean: set[str] = set()
    for index, value in enumerate(events):
        text = value.strip()
        if len(text) > 64 or not _FILTER.match(text):
            raise InvalidInput(
                f"an event filter is an event type (window.activated), a prefix (window.*) or "
                f"*: {value!r}",
                field=f"events[{index}]",
            )
        clean.add(text)
    return sorted(clean)
