"""Quotes and the product catalogue over HTTP: ``POST /v1/quotes``, ``GET /v1/products[/{id}]``.

No API key is needed, like the calculators: a quote is a pure function of a public product file
(shipped with Polis) and of the risk sent in the request; it reads and writes no tenant data and is
not stored. Binding a quote to a policy (a tenant's data) will need a key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from polis.services import quotes
from polis.services.quotes import ProductSummary, QuoteRequest, QuoteView

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["quotes"])

_EXAMPLE = {
    "product": "home",
    "risk": {
        "dwelling": "house",
        "rebuild_value": "250000",
        "contents_value": "40000",
        "theft_option": True,
    },
    "as_of": "2025-09-01",
}


@router.post(
    "/quotes",
    response_model=QuoteView,
    summary="Rate a risk against a product",
    description="The risk's fields are declared by the product (`GET /v1/products/{id}`); the "
    "quote shows every line: pure premium per cover with its tariff steps, loadings, net premium, "
    "natural-catastrophe surcharge, taxes with their rate and legal reference, contributions, "
    "fees and the total. Quotes are computed, not stored.",
    openapi_extra={"requestBody": {"content": {"application/json": {"example": _EXAMPLE}}}},
)
def post_quote(request: QuoteRequest) -> QuoteView:
    return quotes.quote_request(request)


@router.get("/products", response_model=list[ProductSummary], summary="The product catalogue")
def list_products() -> list[ProductSummary]:
    return quotes.list_products()


@router.get(
    "/products/{product_id}",
    summary="One product (its full terms and the SHA-256 of this version)",
)
def get_product(
    product_id: str,
    version: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    return quotes.get_product(product_id, version)
