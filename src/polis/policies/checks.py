"""Cross-field checks of a product file: every reference to a risk field exists and has the right
type, factor tables cover the values they can meet, lines and units are declared, a mutual has no
profit loading. Raised as ``ValueError`` so that Pydantic reports them with the product's path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polis.rating.loadings import InsurerKind, LoadingType
from polis.rating.pure import Unit

if TYPE_CHECKING:
    from polis.policies.product import CoverSpec, FactorSpec, LoadingSpec, Product, RiskField

__all__ = ["check_product"]

NUMERIC = {"decimal", "integer"}


def _field(product: Product, name: str | None, types: set[str], where: str) -> RiskField | None:
    if name is None:
        return None
    field = product.risk.get(name)
    if field is None:
        raise ValueError(f"{where}: no risk field {name!r} (declared: {sorted(product.risk)})")
    if field.type not in types:
        raise ValueError(f"{where}: risk field {name!r} is {field.type}, expected {sorted(types)}")
    return field


def _check_factor(product: Product, factor: FactorSpec, where: str) -> None:
    types = {"enum", "boolean", "integer"} if factor.kind == "table" else NUMERIC
    field = _field(product, factor.field, types, f"{where}.field")
    assert field is not None
    if factor.kind != "table" or factor.default is not None:
        return
    expected: set[str] | None = None
    if field.type == "enum":
        expected = set(field.values or [])
    elif field.type == "boolean":
        expected = {"true", "false"}
    if expected is None:
        raise ValueError(f"{where}: a table on an integer field needs a default factor")
    missing = expected - set(factor.table or {})
    if missing:
        raise ValueError(f"{where}.table: no factor for {sorted(missing)} (add them or a default)")


def _check_basis(product: Product, cover: CoverSpec, where: str) -> None:
    basis = cover.basis
    if basis is None:
        return
    _field(product, basis.amount_from, NUMERIC, f"{where}.amount_from")
    valuation = _field(product, basis.valuation_from, {"enum"}, f"{where}.valuation_from")
    if valuation is not None:
        allowed = {"replacement_new", "use_value", "market", "agreed"}
        if not set(valuation.values or []) <= allowed:
            raise ValueError(f"{where}.valuation_from: values must be among {sorted(allowed)}")
    _field(product, basis.depreciation_rate_from, {"decimal"}, f"{where}.depreciation_rate_from")
    _field(product, basis.age_from, NUMERIC, f"{where}.age_from")
    _field(product, basis.values_from, {"decimal_list"}, f"{where}.values_from")
    _field(
        product, basis.provisional_premium_from, {"decimal"}, f"{where}.provisional_premium_from"
    )


def _check_tariff(product: Product, cover: CoverSpec, where: str) -> set[Unit]:
    tariff = cover.tariff
    _field(product, tariff.quantity_from, NUMERIC, f"{where}.quantity_from")
    _field(product, tariff.exposure_from, NUMERIC, f"{where}.exposure_from")
    units = {tariff.unit} if tariff.unit is not None else {Unit.YEAR}
    unit_field = _field(product, tariff.unit_from, {"enum"}, f"{where}.unit_from")
    if unit_field is not None:
        units = {Unit(v) for v in unit_field.values or [] if v in set(Unit)}
        if len(units) != len(unit_field.values or []) or not units <= set(tariff.per_unit or {}):
            raise ValueError(f"{where}.unit_from: every value must be a unit priced in per_unit")
    for i, factor in enumerate(tariff.factors):
        _check_factor(product, factor, f"{where}.factors[{i}]")
    if tariff.life is not None:
        life = tariff.life
        _field(product, life.age_from, {"integer"}, f"{where}.life.age_from")
        _field(product, life.sum_assured_from, {"decimal"}, f"{where}.life.sum_assured_from")
        _field(product, life.birth_year_from, {"integer"}, f"{where}.life.birth_year_from")
        table_field = _field(product, life.table_from, {"enum"}, f"{where}.life.table_from")
        if table_field is not None and set(table_field.values or []) - set(life.tables or {}):
            raise ValueError(f"{where}.life.tables: every value of {life.table_from} needs a table")
    return units


def _check_loadings(product: Product, loadings: list[LoadingSpec], where: str) -> None:
    if product.insurer is not InsurerKind.MUTUAL:
        return
    for i, loading in enumerate(loadings):
        if loading.type is LoadingType.PROFIT or loading.name == "profit":
            raise ValueError(f"{where}[{i}]: a mutual prices at cost: no profit loading")


def check_product(product: Product) -> None:
    """All cross-field rules of a product; the first broken one raises ``ValueError``."""
    if product.tax_line not in product.lines:
        raise ValueError(f"tax_line {product.tax_line!r} is not among lines {product.lines}")
    if product.valid_until is not None and product.valid_until <= product.valid_from:
        raise ValueError("valid_until must be after valid_from")
    ids = [c.id for c in product.covers]
    if len(set(ids)) != len(ids):
        raise ValueError(f"cover ids must be unique: {ids}")
    used_units: set[Unit] = set()
    for i, cover in enumerate(product.covers):
        where = f"covers[{i}]"
        if cover.line not in product.lines:
            raise ValueError(f"{where}.line: {cover.line!r} is not among lines {product.lines}")
        _field(product, cover.included_when, {"boolean"}, f"{where}.included_when")
        _check_basis(product, cover, f"{where}.basis")
        used_units |= _check_tariff(product, cover, f"{where}.tariff")
        _check_loadings(product, cover.loadings or [], f"{where}.loadings")
    _check_loadings(product, product.loadings, "loadings")
    if not used_units <= set(product.units):
        raise ValueError(f"units: the covers price per {sorted(used_units)}, declare them all")
