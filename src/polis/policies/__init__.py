"""Products as data (TOML), the catalogue, tariffs and quotes.

A product file declares its risk fields, covers, tariff tables, loadings, fees and contributions;
``quote_risk`` rates a risk against it through :mod:`polis.rating`.
"""

from polis.policies.catalogue import (
    Catalogue,
    CatalogueEntry,
    ProductFileError,
    ProductNotFound,
    canonical_sha256,
    default_catalogue,
    load_catalogue,
    parse_product,
)
from polis.policies.product import (
    AgeBandSpec,
    BandSpec,
    BasisSpec,
    CoverSpec,
    FactorSpec,
    FeeSpec,
    LifeSpec,
    LoadingSpec,
    Product,
    RiskField,
    TariffSpec,
    Text,
)
from polis.policies.quote import Quote, quote_risk
from polis.policies.risk import RiskValue, resolve_risk
from polis.policies.tariff import (
    CoverTariff,
    FactorValue,
    LifeCoverSpec,
    LifePricer,
    LifePricerMissing,
    evaluate_cover,
    evaluate_tariff,
    factor_value,
    included_covers,
)

__all__ = [
    "AgeBandSpec",
    "BandSpec",
    "BasisSpec",
    "Catalogue",
    "CatalogueEntry",
    "CoverSpec",
    "CoverTariff",
    "FactorSpec",
    "FactorValue",
    "FeeSpec",
    "LifeCoverSpec",
    "LifePricer",
    "LifePricerMissing",
    "LifeSpec",
    "LoadingSpec",
    "Product",
    "ProductFileError",
    "ProductNotFound",
    "Quote",
    "RiskField",
    "RiskValue",
    "TariffSpec",
    "Text",
    "canonical_sha256",
    "default_catalogue",
    "evaluate_cover",
    "evaluate_tariff",
    "factor_value",
    "included_covers",
    "load_catalogue",
    "parse_product",
    "quote_risk",
    "resolve_risk",
]
