"""``polis quote PRODUCT --input RISK.json|-`` and ``polis products list|show``.

``polis quote`` prints the quote JSON (the same as ``POST /v1/quotes``); ``--tax-table PATH``
replaces the packaged tax table by a TOML file of the same format, ``--tax-override KEY=VALUE``
overrides one entry (e.g. ``contribution.fgao=0.01``, ``cat_nat_taxed=false``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from polis.cli.base import InputOption, app, out, read_json_input, run_guarded
from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.rating.taxes import load_tax_table
from polis.services import quotes

products_app = typer.Typer(help="The product catalogue (products as data).", no_args_is_help=True)
app.add_typer(products_app, name="products")

VersionOption = Annotated[
    str | None, typer.Option("--version", help="product version (default: the latest valid)")
]


def _emit(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def _as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise InvalidInput(f"not a date (YYYY-MM-DD): {text!r}", field="--as-of") from e


def _overrides(items: list[str]) -> dict[str, Decimal | bool]:
    result: dict[str, Decimal | bool] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"expected KEY=VALUE, got {item!r}", field="--tax-override")
        if value.lower() in {"true", "false"}:
            result[key] = value.lower() == "true"
        else:
            result[key] = to_decimal(value, field=f"--tax-override {key}")
    return result


@app.command("quote")
def quote_command(
    product: Annotated[str, typer.Argument(help="product id (see `polis products list`)")],
    source: InputOption,
    version: VersionOption = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="premium due date YYYY-MM-DD (default: today)")
    ] = None,
    tax_table: Annotated[
        Path | None, typer.Option("--tax-table", help="a TOML tax table replacing the packaged one")
    ] = None,
    tax_override: Annotated[
        list[str] | None,
        typer.Option("--tax-override", help="KEY=VALUE, e.g. contribution.fgao=0.01 (repeatable)"),
    ] = None,
) -> None:
    """Rate a risk (JSON object of the product's risk fields) against a product."""

    def action() -> dict[str, object]:
        risk = read_json_input(source)
        if not isinstance(risk, dict):
            raise InvalidInput("the risk must be a JSON object", field="--input")
        view = quotes.quote(
            product,
            risk,
            version=version,
            as_of=_as_of(as_of),
            tax_overrides=_overrides(tax_override or []),
            taxes=None if tax_table is None else load_tax_table(tax_table),
        )
        result: dict[str, object] = view.model_dump(mode="json")
        return result

    _emit(run_guarded(action))


@products_app.command("list")
def products_list() -> None:
    """List the products of the catalogue."""
    rows = run_guarded(quotes.list_products)
    table = Table(title="Products (polis products show ID for the terms and the hash)")
    table.add_column("id", no_wrap=True, min_width=max((len(p.id) for p in rows), default=2))
    for column in ("version", "insurer", "valid from"):
        table.add_column(column, no_wrap=True)
    table.add_column("name")
    for p in rows:
        table.add_row(p.id, p.version, p.insurer, p.valid_from.isoformat(), p.name_en)
    out.print(table)


@products_app.command("show")
def products_show(
    product_id: Annotated[str, typer.Argument(help="product id")],
    version: VersionOption = None,
) -> None:
    """Print one product (its terms as JSON, with the SHA-256 of the version)."""
    _emit(run_guarded(lambda: quotes.get_product(product_id, version)))
