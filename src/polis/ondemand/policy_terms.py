"""The policy of an on-demand subscription, as the claims side reads it (pure).

A subscription registers **one policy per insured item** in the policy register
(``polis.services.policies.add_policy``): a claim names a policy and a cover, and the cover check
must only see the windows of *that* item (a drone's window does not cover the camera). Each cover
of the product becomes a cover of the policy, with the fields of the ``settlement`` calculator:

- ``perils``: from :data:`COVER_PERILS` (the product files name covers, not perils), else from the
  cover's line (:data:`LINE_PERILS`), else the cover id itself;
- ``exclusions``: the on-demand terms' exclusions (code = the exclusion id, the plain text);
- ``windows``: the item's live windows as UTC instants, **joined** where they touch or overlap
  (the cover check only asks whether an instant is inside one; ``[start, end)`` half-open);
- money: ``sum_insured`` and ``limit`` (object and place covers) or ``limit`` (liability), the
  chosen deductible as an absolute amount per claim, and the terms' ``cumul_clause`` if any (the
  order of intervention with an annual base contract).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from polis.kernel.time import Window
from polis.ondemand.intervals import union
from polis.ondemand.subscription import InsuredItem, Subscription
from polis.ondemand.terms import OnDemandTerms, Scope
from polis.policies.product import Product

__all__ = [
    "COVER_PERILS",
    "LINE_PERILS",
    "perils_of",
    "policy_covers",
    "policy_holder",
    "windows_json",
]

#: perils of the demo products' covers
COVER_PERILS: Mapping[str, tuple[str, ...]] = {
    "equipment": ("accidental_damage", "theft"),
    "event_liability": ("liability",),
    "round_liability": ("liability",),
    "fire": ("fire", "explosion"),
    "theft": ("theft",),
}

#: perils by line of business, for covers not listed above
LINE_PERILS: Mapping[str, tuple[str, ...]] = {
    "liability": ("liability",),
    "other_damage": ("accidental_damage", "theft"),
    "fire_professional": ("fire", "explosion"),
    "fire_private": ("fire", "explosion"),
}


def perils_of(cover_id: str, line: str) -> tuple[str, ...]:
    """The perils a cover answers for (see the module docstring)."""
    return COVER_PERILS.get(cover_id) or LINE_PERILS.get(line) or (cover_id,)


def windows_json(windows: Iterable[Window]) -> list[dict[str, str]]:
    """The union of ``windows`` as ``[{"start", "end"}]`` (UTC, ISO 8601 with ``Z``)."""

    def iso(value: Any) -> str:
        return str(value.isoformat().replace("+00:00", "Z"))

    return [{"start": iso(w.start), "end": iso(w.end)} for w in union(windows)]


def policy_holder(customer_name: str, item: InsuredItem) -> str:
    """``Customer — item`` (the register's holder field, at most 200 characters)."""
    return f"{customer_name} — {item.description}"[:200]


def policy_covers(
    product: Product,
    terms: OnDemandTerms,
    subscription: Subscription,
    windows: Iterable[Window],
    *,
    lang: str = "fr",
) -> dict[str, dict[str, Any]]:
    """Cover id → its terms, for the policy of one item of ``subscription``."""
    shown = windows_json(windows)
    exclusions = [
        {"code": e.id, "text": e.text.fr if lang == "fr" else e.text.en, "perils": []}
        for e in terms.exclusions
    ]
    amount = format(subscription.sum_insured, "f")
    money: dict[str, Any] = (
        {"limit": amount}
        if subscription.scope is Scope.LIABILITY
        else {"sum_insured": amount, "limit": amount}
    )
    if subscription.deductible > 0:
        money["deductible"] = {"amount": format(subscription.deductible, "f"), "kind": "absolute"}
    if terms.cumul_clause is not None:
        money["cumul_clause"] = terms.cumul_clause.value
    return {
        cover.id: {
            "perils": list(perils_of(cover.id, cover.line)),
            "exclusions": exclusions,
            "windows": shown,
            **money,
        }
        for cover in product.covers
    }
