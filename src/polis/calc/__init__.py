"""Calculators: pure functions with the stable JSON shapes of contracts.md."""

from polis.calc.crm import CrmRequest, CrmResponse, crm

__all__ = ["CrmRequest", "CrmResponse", "crm"]
