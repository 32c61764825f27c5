"""The product catalogue: every ``*.toml`` of ``polis/policies/catalogue/``, validated and indexed.

Products are indexed by ``id`` and ``version``. A published version is immutable: the catalogue
computes the SHA-256 of each file's **canonical content** — the parsed TOML as JSON with sorted keys
and no insignificant whitespace (so comments and layout do not count, every term does) — and a
policy can pin the exact terms it was sold on. Every line a product names must exist in the tax
table; a product file that breaks a rule is refused with its file name and the path of the problem.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from polis.kernel.errors import InvalidInput, NotFound, PolisError
from polis.policies.product import Product
from polis.rating.taxes import TaxTable, load_tax_table

__all__ = [
    "Catalogue",
    "CatalogueEntry",
    "ProductFileError",
    "ProductNotFound",
    "canonical_sha256",
    "default_catalogue",
    "load_catalogue",
    "parse_product",
]


class ProductNotFound(NotFound):
    code: ClassVar[str] = "product.not_found"


class ProductFileError(PolisError):
    """A product file is malformed (a data bug)."""

    code: ClassVar[str] = "product.invalid"


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    product: Product
    sha256: str
    source: str


def canonical_sha256(data: Mapping[str, Any]) -> str:
    """SHA-256 of ``json.dumps(data, sort_keys=True, separators=(",", ":"))`` (dates as ISO text)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "product"


def parse_product(text: str, source: str, taxes: TaxTable | None = None) -> CatalogueEntry:
    """Parse, validate and hash one product file; check its lines against the tax table."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProductFileError(f"{source}: not valid TOML: {e}") from e
    try:
        product = Product.model_validate(data)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        raise ProductFileError(f"{source}: {_location(tuple(first['loc']))}: {first['msg']}") from e
    table = taxes or load_tax_table()
    for line in product.lines:
        if line not in table.lines:
            raise ProductFileError(f"{source}: lines: {line!r} is not a line of the tax table")
    return CatalogueEntry(product, canonical_sha256(data), source)


class Catalogue:
    """Products by id and version."""

    def __init__(self, entries: Iterable[CatalogueEntry]) -> None:
        self._entries: dict[str, dict[str, CatalogueEntry]] = {}
        for entry in entries:
            versions = self._entries.setdefault(entry.product.id, {})
            if entry.product.version in versions:
                raise ProductFileError(
                    f"{entry.source}: {entry.product.id} {entry.product.version} is already "
                    f"defined in {versions[entry.product.version].source}"
                )
            versions[entry.product.version] = entry

    def ids(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[CatalogueEntry]:
        """Every product version, by id then version."""
        return [
            entry
            for pid in self.ids()
            for entry in sorted(self._entries[pid].values(), key=lambda e: e.product.version_key)
        ]

    def versions(self, product_id: str) -> list[CatalogueEntry]:
        return sorted(self._versions(product_id).values(), key=lambda e: e.product.version_key)

    def _versions(self, product_id: str) -> dict[str, CatalogueEntry]:
        try:
            return self._entries[product_id]
        except KeyError:
            known = ", ".join(self.ids())
            raise ProductNotFound(
                f"no product {product_id!r}; products: {known}", field="product"
            ) from None

    def get(
        self, product_id: str, version: str | None = None, *, as_of: date | None = None
    ) -> CatalogueEntry:
        """The given version, or the latest version valid on ``as_of`` (any date when None)."""
        versions = self._versions(product_id)
        if version is not None:
            if version not in versions:
                known = ", ".join(e.product.version for e in self.versions(product_id))
                raise ProductNotFound(
                    f"product {product_id} has no version {version!r}; versions: {known}",
                    field="version",
                )
            return versions[version]
        candidates = [
            e
            for e in self.versions(product_id)
            if as_of is None
            or (
                e.product.valid_from <= as_of
                and (e.product.valid_until is None or as_of < e.product.valid_until)
            )
        ]
        if not candidates:
            spans = ", ".join(
                f"{e.product.version} from {e.product.valid_from}"
                + (f" until {e.product.valid_until}" if e.product.valid_until else "")
                for e in self.versions(product_id)
            )
            raise InvalidInput(
                f"no version of product {product_id} is valid on {as_of} ({spans})", field="as_of"
            )
        return candidates[-1]


def _files(directory: Traversable) -> list[Traversable]:
    return sorted(
        (f for f in directory.iterdir() if f.is_file() and f.name.endswith(".toml")),
        key=lambda f: f.name,
    )


def load_catalogue(directory: Path | None = None, taxes: TaxTable | None = None) -> Catalogue:
    """The products of ``directory`` (default: the packaged ``polis/policies/catalogue``)."""
    folder: Traversable = (
        resources.files("polis.policies").joinpath("catalogue") if directory is None else directory
    )
    return Catalogue(
        parse_product(f.read_text(encoding="utf-8"), f.name, taxes) for f in _files(folder)
    )


@cache
def default_catalogue() -> Catalogue:
    """The packaged catalogue, loaded once."""
    return load_catalogue()
