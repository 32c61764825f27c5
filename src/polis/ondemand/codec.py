"""JSON round trip of charges and refunds, for the persistence layer.

A stored window needs its charges as priced (pieces, day lines with the cap headroom, rate,
discount, minimum, money lines): an early stop re-prices them exactly as sold. ``charge_to_json``
gives plain JSON (decimals and instants as strings); ``charge_from_json`` gives the same
:class:`Charge` back (``charge_from_json(charge_to_json(c)) == c``). Same for refunds.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from polis.kernel.explain import Explanation
from polis.kernel.time import Window
from polis.ondemand.lines import Line, LineKind
from polis.ondemand.pricing import Charge, ChargeKind, DayCharge
from polis.ondemand.refunds import DayRefund, Refund
from polis.rating.pure import Unit

__all__ = ["charge_from_json", "charge_to_json", "refund_from_json", "refund_to_json"]


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _lines(lines: tuple[Line, ...]) -> list[dict[str, Any]]:
    return [
        {
            "kind": x.kind.value,
            "name": x.name,
            "cover": x.cover,
            "amount": str(x.amount),
            "rate": _dec(x.rate),
            "base": _dec(x.base),
            "reference": x.reference,
        }
        for x in lines
    ]


def _unlines(data: list[dict[str, Any]]) -> tuple[Line, ...]:
    return tuple(
        Line(
            LineKind(x["kind"]),
            x["name"],
            x["cover"],
            _decimal(x["amount"]),
            _undec(x["rate"]),
            _undec(x["base"]),
            x["reference"],
        )
        for x in data
    )


def _explanation(steps: tuple[Explanation, ...]) -> list[dict[str, Any]]:
    return [{"step": e.step, "formula": e.formula, "amount": _dec(e.amount)} for e in steps]


def _unexplanation(data: list[dict[str, Any]]) -> tuple[Explanation, ...]:
    return tuple(Explanation(e["step"], e["formula"], _undec(e["amount"])) for e in data)


def charge_to_json(charge: Charge) -> dict[str, Any]:
    return {
        "window_id": charge.window_id,
        "object_ref": charge.object_ref,
        "kind": charge.kind.value,
        "unit": charge.unit.value,
        "rate": str(charge.rate),
        "discount": str(charge.discount),
        "minimum": str(charge.minimum),
        "pieces": [[p.start.isoformat(), p.end.isoformat()] for p in charge.pieces],
        "days": [
            {
                "day": d.day.isoformat(),
                "hours": str(d.hours),
                "time_charge": str(d.time_charge),
                "discounted": str(d.discounted),
                "headroom": _dec(d.headroom),
                "charged": str(d.charged),
                "topup": str(d.topup),
            }
            for d in charge.days
        ],
        "pure": str(charge.pure),
        "fee_day": charge.fee_day.isoformat() if charge.fee_day else None,
        "due_date": charge.due_date.isoformat(),
        "at": charge.at.isoformat(),
        "lines": _lines(charge.lines),
        "explanation": _explanation(charge.explanation),
    }


def charge_from_json(data: dict[str, Any]) -> Charge:
    return Charge(
        data["window_id"],
        data["object_ref"],
        ChargeKind(data["kind"]),
        Unit(data["unit"]),
        _decimal(data["rate"]),
        _decimal(data["discount"]),
        _decimal(data["minimum"]),
        tuple(
            Window(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in data["pieces"]
        ),
        tuple(
            DayCharge(
                date.fromisoformat(d["day"]),
                _decimal(d["hours"]),
                _decimal(d["time_charge"]),
                _decimal(d["discounted"]),
                _undec(d["headroom"]),
                _decimal(d["charged"]),
                _decimal(d["topup"]),
            )
            for d in data["days"]
        ),
        _decimal(data["pure"]),
        date.fromisoformat(data["fee_day"]) if data["fee_day"] else None,
        date.fromisoformat(data["due_date"]),
        datetime.fromisoformat(data["at"]),
        _unlines(data["lines"]),
        _unexplanation(data["explanation"]),
    )


def refund_to_json(refund: Refund) -> dict[str, Any]:
    return {
        "window_id": refund.window_id,
        "object_ref": refund.object_ref,
        "reason": refund.reason,
        "at": refund.at.isoformat(),
        "lines": _lines(refund.lines),
        "days": [
            {"day": d.day.isoformat(), "amount": str(d.amount), "hours": str(d.hours)}
            for d in refund.days
        ],
        "released_fee_days": [d.isoformat() for d in refund.released_fee_days],
        "explanation": _explanation(refund.explanation),
    }


def refund_from_json(data: dict[str, Any]) -> Refund:
    return Refund(
        data["window_id"],
        data["object_ref"],
        data["reason"],
        datetime.fromisoformat(data["at"]),
        _unlines(data["lines"]),
        tuple(
            DayRefund(date.fromisoformat(d["day"]), _decimal(d["amount"]), _decimal(d["hours"]))
            for d in data["days"]
        ),
        tuple(date.fromisoformat(d) for d in data["released_fee_days"]),
        _unexplanation(data["explanation"]),
    )
