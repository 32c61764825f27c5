"""Calculators: pure functions with the stable JSON shapes of contracts.md.

``CALCULATORS`` lists them for the entrypoints: adding a calculator is one module here and one
entry in that table; the HTTP route and the CLI command follow.
"""

from polis.calc.crm import CrmRequest, CrmResponse, crm
from polis.calc.registry import Calculator

__all__ = ["CALCULATORS", "Calculator", "CrmRequest", "CrmResponse", "crm"]

CALCULATORS: dict[str, Calculator] = {
    "crm": Calculator(
        name="crm",
        summary="Bonus-malus (CRM) coefficient year by year",
        description="French coefficient de réduction-majoration (annex to art. A121-1 Code des "
        "assurances): the coefficient after each annual reference period, every step explained.",
        request=CrmRequest,
        response=CrmResponse,
        run=crm,
        example={
            "start": "1.00",
            "usage": "standard",
            "years_at_floor": 0,
            "periods": [
                {"claims": []},
                {"claims": [{"responsibility": "full"}]},
                {
                    "claims": [
                        {"responsibility": "partial"},
                        {"responsibility": "none", "neutral": True},
                    ]
                },
            ],
        },
    ),
}
