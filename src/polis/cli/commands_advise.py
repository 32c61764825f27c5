"""``polis advise …``: advisory tools on the command line (same JSON as the calculators).

``polis advise on-demand-vs-annual --input FILE|- [--plot out.svg|png] [--lang fr|en]`` is the
``on-demand-vs-annual`` calculator (also ``polis calc on-demand-vs-annual`` and
``POST /v1/calc/on-demand-vs-annual``) with an optional plot of the yearly cost against the monthly
usage, the annual premium and the switching threshold.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from polis import calc
from polis.cli.base import InputOption, app, err, read_json_input, run_guarded
from polis.kernel.errors import InvalidInput

__all__ = ["advise_app", "on_demand_vs_annual_command"]

advise_app = typer.Typer(
    help="Advisory tools: compare options before buying (same JSON as the calculators).",
    no_args_is_help=True,
)
app.add_typer(advise_app, name="advise")

PlotOption = Annotated[
    Path | None,
    typer.Option("--plot", help="also write the cost plot (.svg or .png)"),
]


@advise_app.command("on-demand-vs-annual")
def on_demand_vs_annual_command(
    source: InputOption,
    plot: PlotOption = None,
    lang: Annotated[str, typer.Option(help="plot language: fr or en")] = "fr",
) -> None:
    """Yearly cost of on-demand cover vs an annual contract, and the switching threshold."""

    def action() -> dict[str, object]:
        if plot is not None and plot.suffix.lower() not in {".svg", ".png"}:
            raise InvalidInput("the plot file must end in .svg or .png", field="--plot")
        if lang not in {"fr", "en"}:
            raise InvalidInput("language must be fr or en", field="--lang")
        response = calc.on_demand_vs_annual(read_json_input(source))
        if plot is not None:
            from polis.documents.breakeven_plot import breakeven_plot

            usages = [Decimal(u) for u in response.usage_per_month]
            image = breakeven_plot(
                [Decimal(p.usage) for p in response.curve],
                [Decimal(p.on_demand_yearly) for p in response.curve],
                Decimal(response.annual_premium),
                unit="day" if response.unit == "day" else "hour",
                threshold=(
                    None
                    if response.threshold_per_month is None
                    else Decimal(response.threshold_per_month)
                ),
                usage=sum(usages, Decimal(0)) / len(usages),
                usage_cost=Decimal(response.on_demand_yearly),
                lang="en" if lang == "en" else "fr",
                fmt="png" if plot.suffix.lower() == ".png" else "svg",
            )
            plot.write_bytes(image)
            err.print(f"plot written to {plot}")
        return response.model_dump(mode="json")

    payload = run_guarded(action)
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
