"""Plots rendered server-side with Matplotlib (object API, Agg canvas: thread-safe, no display)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["crm_plot"]

_LABELS = {
    "fr": {
        "title": "Coefficient de réduction-majoration par période",
        "x": "Période annuelle de référence",
        "y": "Coefficient",
        "neutral": "1,00 (neutre)",
        "floor": "plancher 0,50",
        "ceiling": "plafond 3,50",
    },
    "en": {
        "title": "Bonus-malus coefficient by period",
        "x": "Annual reference period",
        "y": "Coefficient",
        "neutral": "1.00 (neutral)",
        "floor": "floor 0.50",
        "ceiling": "ceiling 3.50",
    },
}


def crm_plot(
    start: Decimal,
    coefficients: Sequence[Decimal],
    *,
    labels: Sequence[str] | None = None,
    lang: Literal["fr", "en"] = "fr",
    fmt: Literal["svg", "png"] = "svg",
) -> bytes:
    """A step plot of the coefficient: the start value, then the value after each period."""
    text = _LABELS[lang]
    xs = list(range(len(coefficients) + 1))
    ys = [float(start), *(float(c) for c in coefficients)]
    figure = Figure(figsize=(7.5, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.step(xs, ys, where="post", color="#1f4e79", linewidth=2)
    axes.plot(xs, ys, "o", color="#1f4e79", markersize=4)
    for x, y in zip(xs, ys, strict=True):
        axes.annotate(f"{y:.2f}", (x, y), textcoords="offset points", xytext=(0, 6), fontsize=7)
    axes.axhline(1.0, color="#888888", linestyle="--", linewidth=0.8, label=text["neutral"])
    axes.axhline(0.5, color="#2e7d32", linestyle=":", linewidth=0.8, label=text["floor"])
    if max(ys) > 2.0:
        axes.axhline(3.5, color="#c62828", linestyle=":", linewidth=0.8, label=text["ceiling"])
    axes.set_xticks(xs, ["0", *(labels or [str(i) for i in xs[1:]])], fontsize=7)
    axes.set_xlabel(text["x"])
    axes.set_ylabel(text["y"])
    axes.set_title(text["title"], fontsize=10)
    axes.set_ylim(0.4, max(1.2, max(ys) + 0.2))
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=7, loc="upper right")
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()
