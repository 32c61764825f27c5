"""On-demand terms of a product: what the product file format does not say.

The product file (``catalogue/<id>.toml``) keeps the tariff: risk fields, covers, per-hour/day/act
prices, minimum charge, loadings, fees, taxes. Its schema forbids unknown tables and the catalogue
hashes and pins every published file, so the on-demand specifics live in a **sibling file**
``catalogue/ondemand/<id>.toml`` (the catalogue loader reads only the top folder) validated here:

- ``scope``: ``object`` | ``liability`` | ``place``; ``units`` offered (hour, day, act);
- ``unit_field`` / ``quantity_field``: the product's risk fields the window's unit and quantity
  go into (so a window prices like ``polis quote`` with that unit and quantity);
- ``sum_insured`` and ``deductible`` **options** (amounts; ``field`` names the risk field an option
  sets, absent when the option does not move the price);
- ``daily_cap`` (never more than the day price per Europe/Paris day), ``volume`` tiers, the
  ``refund`` rule of an early stop (``none`` | ``unused_hours`` | ``unused_days``, minus ``fee``);
- time rules: ``start_tolerance_minutes``, ``max_window_hours``, ``max_advance_days``,
  ``allowed_weekdays`` (local), ``act_max_hours``; ``geofence_required``;
- ``exclusions``: each with a title, a plain-language text, and what is / is not covered;
- ``cumul_clause`` (optional): when the module tops up an annual base contract covering the same
  loss, who pays first — ``primary`` | ``excess`` | ``contribution`` (:mod:`polis.claims.cumul`).

Decimals are TOML strings (a float is refused), like product files. The file's canonical SHA-256
goes into the terms snapshot of every subscription.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from polis.claims.cumul import CumulClause
from polis.kernel.errors import NotFound, PolisError
from polis.policies.catalogue import Catalogue, canonical_sha256, default_catalogue
from polis.policies.product import DecimalText, Product, Text
from polis.rating.pure import Unit

__all__ = [
    "WEEKDAYS",
    "Exclusion",
    "OnDemandTerms",
    "Option",
    "RefundRule",
    "RefundTerms",
    "Scope",
    "TermsBook",
    "TermsEntry",
    "TermsFileError",
    "TermsNotFound",
    "VolumeTerms",
    "VolumeTier",
    "check_terms",
    "default_terms",
    "load_terms",
    "parse_terms",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class TermsFileError(PolisError):
    code: ClassVar[str] = "ondemand.terms_invalid"


class TermsNotFound(NotFound):
    code: ClassVar[str] = "ondemand.terms_not_found"


class Scope(StrEnum):
    OBJECT = "object"
    LIABILITY = "liability"
    PLACE = "place"


class RefundRule(StrEnum):
    NONE = "none"
    UNUSED_HOURS = "unused_hours"
    UNUSED_DAYS = "unused_days"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """Amount options (sum insured or deductible); ``field`` is the risk field an option sets."""

    field: str | None = None
    options: list[DecimalText] = Field(min_length=1)
    default: DecimalText

    @model_validator(mode="after")
    def _coherent(self) -> Option:
        if len(set(self.options)) != len(self.options):
            raise ValueError("options must be distinct")
        if any(o < 0 for o in self.options):
            raise ValueError("options must not be negative")
        if self.default not in self.options:
            raise ValueError("the default must be one of the options")
        return self

    def risk_value(self, amount: Decimal) -> str:
        """The text the risk field receives (``"1000000"``: enums list the amounts as text)."""
        return format(amount.normalize(), "f")


class RefundTerms(_Strict):
    rule: RefundRule
    fee: DecimalText = Field(default=Decimal("0"), ge=0)


class VolumeTier(_Strict):
    """``discount`` from the ``from_``-th activation (or hour) of the Europe/Paris month."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: int = Field(alias="from", ge=1)
    discount: DecimalText = Field(ge=0, lt=1)


class VolumeTerms(_Strict):
    basis: Literal["activations", "hours"]
    tiers: list[VolumeTier] = Field(min_length=1)

    @model_validator(mode="after")
    def _increasing(self) -> VolumeTerms:
        starts = [t.from_ for t in self.tiers]
        if starts != sorted(set(starts)):
            raise ValueError("tiers must have strictly increasing 'from'")
        discounts = [t.discount for t in self.tiers]
        if discounts != sorted(discounts):
            raise ValueError("a higher tier may not give a smaller discount")
        return self

    def discount_for(self, volume: Decimal) -> Decimal:
        """The discount of the highest tier whose ``from`` ≤ ``volume`` (0 below the first)."""
        found = [t.discount for t in self.tiers if Decimal(t.from_) <= volume]
        return found[-1] if found else Decimal(0)


class Exclusion(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: Text
    text: Text
    covered: Text
    not_covered: Text


class OnDemandTerms(_Strict):
    product: str
    product_version: str
    scope: Scope
    units: list[Unit] = Field(min_length=1)
    unit_field: str | None = None
    quantity_field: str
    daily_cap: bool = False
    start_tolerance_minutes: int = Field(default=5, ge=0, le=60)
    max_window_hours: int = Field(default=720, ge=1, le=24 * 366)
    max_advance_days: int = Field(default=365, ge=0, le=3660)
    allowed_weekdays: list[Weekday] | None = None
    act_max_hours: int | None = Field(default=None, ge=1, le=48)
    geofence_required: bool = False
    sum_insured: Option
    deductible: Option
    refund: RefundTerms
    volume: VolumeTerms | None = None
    cumul_clause: CumulClause | None = None
    exclusions: list[Exclusion] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> OnDemandTerms:
        if Unit.YEAR in self.units:
            raise ValueError("on-demand units are hour, day or act (not year)")
        if Unit.ACT in self.units and self.act_max_hours is None:
            raise ValueError("a product sold per act says how long an act may last: act_max_hours")
        ids = [e.id for e in self.exclusions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"exclusion ids must be unique: {ids}")
        return self


@dataclass(frozen=True, slots=True)
class TermsEntry:
    terms: OnDemandTerms
    sha256: str
    source: str
    data: Mapping[str, Any]


def _risk_field_accepts(product: Product, field: str, option: Option, where: str) -> None:
    spec = product.risk.get(field)
    if spec is None:
        raise ValueError(f"{where}.field: product {product.id} has no risk field {field!r}")
    for amount in option.options:
        text = option.risk_value(amount)
        if spec.type == "enum" and text not in (spec.values or []):
            raise ValueError(f"{where}.options: {text} is not a value of risk field {field!r}")
        if spec.type in {"decimal", "integer"} and (
            (spec.min is not None and amount < spec.min)
            or (spec.max is not None and amount > spec.max)
        ):
            raise ValueError(f"{where}.options: {text} is outside the bounds of {field!r}")
        if spec.type not in {"enum", "decimal", "integer"}:
            raise ValueError(f"{where}.field: {field!r} must be an enum or a number")


def check_terms(terms: OnDemandTerms, product: Product) -> None:
    """Cross-checks against the product; raises ``ValueError`` naming the problem."""
    if (terms.product, terms.product_version) != (product.id, product.version):
        raise ValueError(f"these terms are for {terms.product} {terms.product_version}")
    for unit in terms.units:
        if unit not in product.units:
            raise ValueError(f"units: the product does not price per {unit.value}")
    for cover in product.covers:
        if cover.tariff.kind != "per_unit":
            raise ValueError(f"cover {cover.id}: on-demand covers are priced per unit")
        if cover.tariff.quantity_from != terms.quantity_field:
            raise ValueError(f"cover {cover.id}: quantity_from must be {terms.quantity_field!r}")
        if cover.tariff.unit_from != terms.unit_field:
            raise ValueError(f"cover {cover.id}: unit_from must be {terms.unit_field!r}")
        missing = [u.value for u in terms.units if u not in (cover.tariff.per_unit or {})]
        if missing:
            raise ValueError(f"cover {cover.id}: no per_unit price for {missing}")
        if terms.daily_cap and Unit.DAY not in (cover.tariff.per_unit or {}):
            raise ValueError(f"cover {cover.id}: a daily cap needs a per_unit day price")
    quantity = product.risk.get(terms.quantity_field)
    if quantity is None or quantity.type not in {"integer", "decimal"}:
        raise ValueError(f"quantity_field: {terms.quantity_field!r} is not a numeric risk field")
    if quantity.min is not None and quantity.min > 1:
        raise ValueError("quantity_field: the quantity must accept 1 (the unit price is read at 1)")
    for name in ("sum_insured", "deductible"):
        option: Option = getattr(terms, name)
        if option.field is not None:
            _risk_field_accepts(product, option.field, option, name)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "terms"


def parse_terms(text: str, source: str, catalogue: Catalogue | None = None) -> TermsEntry:
    """Parse, validate, cross-check against the product and hash one terms file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TermsFileError(f"{source}: not valid TOML: {e}") from e
    try:
        terms = OnDemandTerms.model_validate(data)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        raise TermsFileError(f"{source}: {_location(tuple(first['loc']))}: {first['msg']}") from e
    products = catalogue or default_catalogue()
    try:
        product = products.get(terms.product, terms.product_version).product
    except NotFound as e:
        raise TermsFileError(f"{source}: {e.message}") from e
    try:
        check_terms(terms, product)
    except ValueError as e:
        raise TermsFileError(f"{source}: {e}") from e
    return TermsEntry(terms, canonical_sha256(data), source, data)


class TermsBook:
    """On-demand terms by product id and version."""

    def __init__(self, entries: Iterable[TermsEntry]) -> None:
        self._entries: dict[tuple[str, str], TermsEntry] = {}
        for entry in entries:
            key = (entry.terms.product, entry.terms.product_version)
            if key in self._entries:
                raise TermsFileError(f"{entry.source}: {key[0]} {key[1]} has terms already")
            self._entries[key] = entry

    def products(self) -> list[tuple[str, str]]:
        return sorted(self._entries)

    def get(self, product_id: str, version: str) -> TermsEntry:
        try:
            return self._entries[(product_id, version)]
        except KeyError:
            raise TermsNotFound(
                f"product {product_id} {version} is not sold on demand (no on-demand terms)",
                field="product",
            ) from None


def _files(directory: Traversable) -> list[Traversable]:
    return sorted(
        (f for f in directory.iterdir() if f.is_file() and f.name.endswith(".toml")),
        key=lambda f: f.name,
    )


def load_terms(directory: Path | None = None, catalogue: Catalogue | None = None) -> TermsBook:
    """The terms files of ``directory`` (default: the packaged ``catalogue/ondemand``)."""
    folder: Traversable = (
        resources.files("polis.policies").joinpath("catalogue").joinpath("ondemand")
        if directory is None
        else directory
    )
    return TermsBook(
        parse_terms(f.read_text(encoding="utf-8"), f.name, catalogue) for f in _files(folder)
    )


@cache
def default_terms() -> TermsBook:
    """The packaged on-demand terms, loaded once (reading packaged data like the catalogue)."""
    return load_terms()
