"""``polis portfolio report``: the insurer's side of on-demand cover from the shell.

``polis portfolio report [--tenant T] [--from 2026-11-01] [--to 2026-12-01] [--json]
[--plot out.svg|png] [--lang fr|en] [--at INSTANT]`` — with ``--tenant``, that tenant's portfolio per product
(what ``GET /v1/portfolio`` answers); without, the **operator's view**: every tenant, each partner
per product with its subtotal, then every product over all partners, then the total. A Rich table
(or the JSON of the HTTP API with ``--json``), then the drift alerts. Bad input exits 2 naming the
field; an unknown tenant exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from polis.cli.base import app, err, out, run_guarded, settings_of
from polis.documents.portfolio_plot import portfolio_plot
from polis.kernel.errors import InvalidInput
from polis.kernel.time import parse_instant, to_local, utc_now
from polis.services.ondemand_portfolio import (
    DriftView,
    LineView,
    PortfolioView,
    load_portfolio,
    parse_period,
    portfolio_view,
)
from polis.store import SqlUnitOfWork, make_engine, session_factory

__all__ = ["portfolio_app", "report"]

portfolio_app = typer.Typer(
    help="The insurer's side of on-demand cover: exposure, loss ratios, price drift alerts.",
    no_args_is_help=True,
)
app.add_typer(portfolio_app, name="portfolio")

_COLUMNS = (
    ("product", "left"),
    ("activations", "right"),
    ("hours", "right"),
    ("written €", "right"),
    ("earned €", "right"),
    ("in force", "right"),
    ("insured €", "right"),
    ("claims", "right"),
    ("freq./1000 h", "right"),
    ("incurred €", "right"),
    ("cost €/h", "right"),
    ("priced €/h", "right"),
    ("loss ratio", "right"),
)


def _percent(value: str | None) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f} %"


def _cells(line: LineView, name: str) -> list[str]:
    return [
        name,
        str(line.activations),
        line.exposure_hours,
        line.written_premium,
        line.earned_premium,
        str(line.in_force_objects),
        line.sums_insured_in_force,
        str(line.claims),
        line.frequency_per_1000_hours or "—",
        line.incurred,
        line.cost_per_hour or "—",
        line.priced_cost_per_hour or "—",
        _percent(line.loss_ratio),
    ]


def _table(view: PortfolioView) -> Table:
    period = (
        f"{to_local(view.period_from):%Y-%m-%d %H:%M} → {to_local(view.period_to):%Y-%m-%d %H:%M}"
    )
    title = f"On-demand portfolio ({'every partner' if view.scope == 'operator' else view.tenant_id}), {period} Europe/Paris"
    operator = view.scope == "operator"
    table = Table(title=title, show_lines=False)
    if operator:
        table.add_column("partner", no_wrap=True)
    for name, justify in _COLUMNS:
        left = justify == "left"
        # a figure is folded onto two lines rather than cut short with an ellipsis
        table.add_column(name, justify="left" if left else "right", no_wrap=left, overflow="fold")

    def row(line: LineView, name: str, partner: str = "", style: str | None = None) -> None:
        prefix = [partner] if operator else []
        table.add_row(*prefix, *_cells(line, name), style=style)

    if operator:
        for partner in view.partners:
            for cell in (c for c in view.cells if c.partner == partner.partner):
                row(cell, cell.product or "", partner.partner or "")
            row(partner, "all products", partner.partner or "", style="bold")
            table.add_section()
        for line in view.products:
            row(line, line.product or "", "all partners")
        table.add_section()
    else:
        for line in view.products:
            row(line, line.product or "")
    row(view.total, "total", "all partners" if operator else "", style="bold")
    return table


def _alert_line(alert: DriftView) -> str:
    change = f"{float(alert.drift) * 100:+.1f} %"
    return (
        f"ALERT {alert.product} ({alert.direction}): observed {alert.observed_per_hour} €/h vs "
        f"priced {alert.priced_per_hour} €/h, {alert.claims} claim(s), credibility Z = "
        f"{alert.credibility}, suggested {alert.suggested_per_hour} €/h ({change})"
    )


@portfolio_app.command("report")
def report(
    ctx: typer.Context,
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="one tenant (default: every tenant)")
    ] = None,
    period_from: Annotated[
        str | None, typer.Option("--from", help="start: 2026-11-01 (default: 12 months before)")
    ] = None,
    period_to: Annotated[
        str | None, typer.Option("--to", help="end, excluded: 2026-12-01 (default: now)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the JSON of GET /v1/portfolio")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="also write the plot (.svg or .png)")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="plot language: fr or en")] = "fr",
    at: Annotated[
        str | None,
        typer.Option("--at", help="valuation instant, ISO 8601 with an offset (default: now)"),
    ] = None,
) -> None:
    """Activations, exposure, premiums, claims, loss ratios and price drift alerts per product."""
    run_guarded(lambda: _check_options(plot, lang))
    now = utc_now() if at is None else run_guarded(lambda: parse_instant(at, field="--at"))
    engine = make_engine(settings_of(ctx).database_url)
    try:
        period = run_guarded(lambda: parse_period(period_from, period_to, now=now))
        uow = SqlUnitOfWork(session_factory(engine))
        portfolio = run_guarded(lambda: load_portfolio(uow, tenant, period, now=now))
    finally:
        engine.dispose()
    view = portfolio_view(portfolio, tenant_id=tenant)
    if plot is not None:
        image = portfolio_plot(
            portfolio.products,
            lang="en" if lang == "en" else "fr",
            fmt="png" if plot.suffix.lower() == ".png" else "svg",
        )
        plot.parent.mkdir(parents=True, exist_ok=True)
        plot.write_bytes(image)
        err.print(f"plot written to {plot}")
    if as_json:
        sys.stdout.write(view.model_dump_json(indent=2) + "\n")
        return
    # piped output (a file, a test) is not cut to 80 columns: the table needs about 200
    console = out if out.is_terminal else Console(highlight=False, width=max(out.width, 220))
    console.print(_table(view))
    for alert in view.alerts:
        console.print(_alert_line(alert), style="bold red", soft_wrap=True)
    if not view.alerts:
        console.print("no price drift alert", style="green")


def _check_options(plot: Path | None, lang: str) -> None:
    if plot is not None and plot.suffix.lower() not in {".svg", ".png"}:
        raise InvalidInput("the plot file must end in .svg or .png", field="--plot")
    if lang not in {"fr", "en"}:
        raise InvalidInput("language must be fr or en", field="--lang")
