"""``polis calc <name> --input FILE|-``: the calculators of contracts.md on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from polis import calc
from polis.cli.base import InputOption, calc_app, err, read_json_input, run_guarded
from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal

PlotOption = Annotated[
    Path | None,
    typer.Option("--plot", help="also write a plot of the result (.svg or .png)"),
]


def _emit(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def _generic(name: str) -> None:
    """Register ``polis calc NAME --input FILE|-`` for a calculator without extra options."""
    calculator = calc.CALCULATORS[name]

    def command(source: InputOption) -> None:
        _emit(run_guarded(lambda: calculator.run(read_json_input(source)).model_dump(mode="json")))

    command.__doc__ = f"{calculator.summary}."
    calc_app.command(name)(command)


for _name in calc.CALCULATORS:
    if _name != "crm":  # crm has its own command (with --plot)
        _generic(_name)


@calc_app.command("crm")
def crm_command(
    source: InputOption,
    plot: PlotOption = None,
    lang: Annotated[str, typer.Option(help="plot language: fr or en")] = "fr",
) -> None:
    """Bonus-malus coefficient (CRM) year by year from a claim history."""

    def action() -> dict[str, object]:
        if plot is not None and plot.suffix.lower() not in {".svg", ".png"}:
            raise InvalidInput("the plot file must end in .svg or .png", field="--plot")
        if lang not in {"fr", "en"}:
            raise InvalidInput("language must be fr or en", field="--lang")
        response = calc.crm(read_json_input(source))
        result: dict[str, object] = response.model_dump(mode="json")
        if plot is not None:
            from polis.documents import crm_plot

            start = to_decimal(response.periods[0].start_coefficient) if response.periods else None
            image = crm_plot(
                start if start is not None else to_decimal(response.final),
                [to_decimal(c) for c in response.coefficients],
                lang="en" if lang == "en" else "fr",
                fmt="png" if plot.suffix.lower() == ".png" else "svg",
            )
            plot.write_bytes(image)
            err.print(f"plot written to {plot}")
        return result

    _emit(run_guarded(action))
