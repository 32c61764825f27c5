"""The break-even plot: yearly cost of on-demand cover vs an annual contract, by monthly usage.

Matplotlib object API on an Agg canvas (thread-safe, no display), like :mod:`polis.documents.plots`:
the on-demand cost as a step line, the annual premium as a flat line, the switching threshold as a
vertical line, and the customer's own usage as a marker.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["breakeven_plot"]

_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "À la demande ou contrat annuel : coût sur un an",
        "x_hour": "Heures par mois",
        "x_day": "Jours par mois",
        "y": "Coût annuel (€ TTC)",
        "on_demand": "À la demande",
        "annual": "Contrat annuel",
        "threshold": "Seuil de bascule : {value}",
        "you": "Votre usage",
    },
    "en": {
        "title": "On demand or annual contract: cost over a year",
        "x_hour": "Hours per month",
        "x_day": "Days per month",
        "y": "Yearly cost (€ incl. taxes)",
        "on_demand": "On demand",
        "annual": "Annual contract",
        "threshold": "Switching threshold: {value}",
        "you": "Your usage",
    },
}


def breakeven_plot(
    usages: Sequence[Decimal],
    on_demand_yearly: Sequence[Decimal],
    annual_premium: Decimal,
    *,
    unit: Literal["hour", "day"],
    threshold: Decimal | None = None,
    usage: Decimal | None = None,
    usage_cost: Decimal | None = None,
    lang: Literal["fr", "en"] = "fr",
    fmt: Literal["svg", "png"] = "svg",
) -> bytes:
    """Cost against constant monthly usage: both lines, the threshold marked, your usage shown."""
    if len(usages) != len(on_demand_yearly) or not usages:
        raise ValueError("one yearly cost per usage point, at least one point")
    text = _LABELS[lang]
    xs = [float(u) for u in usages]
    ys = [float(c) for c in on_demand_yearly]
    figure = Figure(figsize=(7.5, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.step(xs, ys, where="post", color="#1f4e79", linewidth=2, label=text["on_demand"])
    axes.axhline(float(annual_premium), color="#c62828", linewidth=1.6, label=text["annual"])
    if threshold is not None:
        shown = f"{threshold.normalize():f}".replace(".", "," if lang == "fr" else ".")
        axes.axvline(
            float(threshold),
            color="#2e7d32",
            linestyle="--",
            linewidth=1.2,
            label=text["threshold"].format(value=shown),
        )
    if usage is not None and usage_cost is not None:
        axes.plot([float(usage)], [float(usage_cost)], "o", color="#ef6c00", label=text["you"])
    axes.set_xlabel(text[f"x_{unit}"])
    axes.set_ylabel(text["y"])
    axes.set_title(text["title"], fontsize=10)
    axes.set_xlim(0, max(xs))
    axes.set_ylim(0, max([*ys, float(annual_premium)]) * 1.1 or 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()
