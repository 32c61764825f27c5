"""Billing of on-demand cover: the ledger (charges and refunds, as stored by the window use cases)
and the monthly statement of a customer, as JSON and PDF.

The statement is :func:`polis.ondemand.billing.monthly_statement` over the customer's windows with
time in the Europe/Paris month or an entry dated in it, and every ledger entry of those windows
(a window spanning two months is split at local midnight of the 1st; no cent is lost). A quiet
month has no rows and totals of 0.00: nothing is billed when nothing was covered.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from polis.documents.statements import render_statement_pdf
from polis.kernel.errors import InvalidInput
from polis.kernel.time import ensure_utc, utc_now
from polis.ondemand.billing import (
    LedgerEntry,
    charge_entry,
    monthly_statement,
    refund_entry,
    statement_json,
)
from polis.ondemand.codec import charge_from_json, refund_from_json
from polis.ondemand.intervals import month_window
from polis.services.ondemand_customers import require_customer
from polis.services.ondemand_windows import window_of
from polis.store.tables_ondemand import OnDemandLedgerRow
from polis.store.uow import UnitOfWork

__all__ = [
    "LedgerEntryView",
    "customer_ledger",
    "ledger_entry",
    "parse_month",
    "statement",
    "statement_pdf",
]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class LedgerEntryView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    reason: str
    window_id: str
    subscription_id: str
    object_ref: str
    at: datetime
    total: str
    taxes: str
    entry: dict[str, Any]


def parse_month(text: str, *, field: str = "month") -> tuple[int, int]:
    """``2026-11`` → ``(2026, 11)``."""
    match = _MONTH.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(f"a month is written YYYY-MM (2026-11), got {text!r}", field=field)
    return int(match.group(1)), int(match.group(2))


def ledger_entry(row: OnDemandLedgerRow) -> LedgerEntry:
    """The domain ledger entry of a stored charge or refund."""
    detail = json.loads(row.detail)
    if row.kind == "charge":
        return charge_entry(row.subscription_id, charge_from_json(detail))
    return refund_entry(row.subscription_id, refund_from_json(detail))


def statement(
    uow: UnitOfWork,
    tenant_id: str,
    customer_id: str,
    month: str,
) -> dict[str, Any]:
    """The monthly statement of a customer (``statement_json`` shape, plus the customer's name)."""
    year, number = parse_month(month)
    period = month_window(year, number)
    with uow:
        customer = require_customer(uow, tenant_id, customer_id)
        rows = uow.ondemand.windows_for_month(customer.id, period.start, period.end)
        entries = uow.ondemand.entries_of_windows([r.id for r in rows])
        result = monthly_statement(
            customer.id,
            year,
            number,
            [window_of(r) for r in rows],
            [ledger_entry(e) for e in entries],
        )
        data = statement_json(result)
        data["customer_name"] = customer.name
        data["language"] = customer.language
        return data


def statement_pdf(
    uow: UnitOfWork,
    tenant_id: str,
    customer_id: str,
    month: str,
    *,
    lang: Literal["fr", "en"] | None = None,
    now: datetime | None = None,
) -> bytes:
    """The monthly statement as a PDF (the customer's language unless ``lang`` is given)."""
    data = statement(uow, tenant_id, customer_id, month)
    language: Literal["fr", "en"] = lang or ("en" if data.get("language") == "en" else "fr")
    issued = ensure_utc(now, field="now") if now is not None else utc_now()
    return render_statement_pdf(data, lang=language, issued_at=issued)


def customer_ledger(uow: UnitOfWork, tenant_id: str, customer_id: str) -> list[LedgerEntryView]:
    """Every charge and refund of a customer, oldest first."""
    with uow:
        customer = require_customer(uow, tenant_id, customer_id)
        windows = uow.ondemand.windows_of_customer(customer.id)
        rows = uow.ondemand.entries_of_windows([w.id for w in windows])
        return [
            LedgerEntryView(
                id=row.id,
                kind=row.kind,
                reason=row.reason,
                window_id=row.window_id,
                subscription_id=row.subscription_id,
                object_ref=row.object_ref,
                at=row.at,
                total=f"{row.total:.2f}",
                taxes=f"{row.taxes:.2f}",
                entry=ledger_entry(row).as_dict(),
            )
            for row in rows
        ]
