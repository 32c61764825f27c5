"""The portfolio plot: loss ratio per product, and the observed vs priced cost per hour of cover.

Matplotlib object API on an Agg canvas (thread-safe, no display), like
:mod:`polis.documents.breakeven_plot`. Left: the loss ratio of each product as a bar, 100 % marked.
Right: per product, the observed cost per hour next to the pure premium per hour the tariff
charged, and the credibility-weighted rate as a marker; a product with a drift alert is drawn in
red. Each bar carries its figure, so a tiny bar next to a tall one still reads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from polis.ondemand.portfolio import PortfolioLine

__all__ = ["portfolio_plot"]

_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "title_ratio": "Sinistres / primes acquises",
        "title_cost": "Coût par heure couverte (€)",
        "ratio": "S/P",
        "observed": "Coût observé",
        "priced": "Prime pure du tarif",
        "suggested": "Taux pondéré par la crédibilité",
        "alert": "alerte",
        "empty": "Aucune exposition sur la période",
    },
    "en": {
        "title_ratio": "Loss ratio (incurred / earned premium)",
        "title_cost": "Cost per hour covered (€)",
        "ratio": "Loss ratio",
        "observed": "Observed cost",
        "priced": "Tariff pure premium",
        "suggested": "Credibility-weighted rate",
        "alert": "alert",
        "empty": "No exposure in the period",
    },
}
_BLUE, _RED, _GREY, _GREEN = "#1f4e79", "#c62828", "#9e9e9e", "#2e7d32"


def _number(value: float, lang: str, places: int) -> str:
    text = f"{value:.{places}f}"
    return text.replace(".", ",") if lang == "fr" else text


def _value(value: Decimal | None) -> float:
    return 0.0 if value is None else float(value)


def _loss_ratios(
    axes: Axes, lines: Sequence[PortfolioLine], text: dict[str, str], lang: str
) -> None:
    names = [line.product or "—" for line in lines]
    ratios = [_value(line.loss_ratio) * 100 for line in lines]
    colours = [_RED if line.drift is not None and line.drift.alert else _BLUE for line in lines]
    bars = axes.bar(names, ratios, color=colours)
    for bar, value in zip(bars, ratios, strict=True):
        axes.annotate(
            f"{_number(value, lang, 1)} %",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    axes.axhline(100, color=_GREY, linestyle="--", linewidth=1)
    axes.set_ylabel(f"{text['ratio']} (%)")
    axes.set_title(text["title_ratio"], fontsize=9)
    axes.set_ylim(0, max([*ratios, 100.0]) * 1.15)


def _costs(axes: Axes, lines: Sequence[PortfolioLine], text: dict[str, str], lang: str) -> None:
    xs = list(range(len(lines)))
    width = 0.38
    observed = [_value(line.cost_per_hour) for line in lines]
    priced = [_value(line.priced_per_hour) for line in lines]
    left = axes.bar(
        [x - width / 2 for x in xs], observed, width, color=_RED, label=text["observed"]
    )
    right = axes.bar([x + width / 2 for x in xs], priced, width, color=_BLUE, label=text["priced"])
    for bar in (*left, *right):
        axes.annotate(
            _number(bar.get_height(), lang, 2),
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    suggested = [
        (x, line.drift.suggested_per_hour) for x, line in zip(xs, lines, strict=True) if line.drift
    ]
    if suggested:
        axes.plot(
            [x for x, _ in suggested],
            [float(s) for _, s in suggested],
            "D",
            color=_GREEN,
            label=text["suggested"],
        )
    axes.set_xticks(xs, [line.product or "—" for line in lines])
    axes.set_title(text["title_cost"], fontsize=9)
    axes.set_ylim(0, max([*observed, *priced, 0.01]) * 1.2)
    axes.legend(fontsize=7, loc="upper right")


def portfolio_plot(
    lines: Sequence[PortfolioLine],
    *,
    lang: Literal["fr", "en"] = "fr",
    fmt: Literal["svg", "png"] = "svg",
) -> bytes:
    """The two panels for the product lines of a portfolio (an empty portfolio says so)."""
    text = _LABELS[lang]
    figure = Figure(figsize=(9.0, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    if not lines:
        axes = figure.add_subplot()
        axes.text(0.5, 0.5, text["empty"], ha="center", va="center")
        axes.set_axis_off()
    else:
        ratio_axes, cost_axes = figure.subplots(1, 2)
        _loss_ratios(ratio_axes, lines, text, lang)
        _costs(cost_axes, lines, text, lang)
        for axes in (ratio_axes, cost_axes):
            axes.grid(alpha=0.3, axis="y")
            axes.tick_params(axis="x", labelsize=7, rotation=15)
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()
