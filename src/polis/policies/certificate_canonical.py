"""Canonical serialisation of certificate content: the bytes that are hashed and signed, and back.

The rules (schema ``polis.certificate/1``) are stated in :mod:`polis.policies.certificate`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from polis.kernel.errors import InvalidInput
from polis.kernel.money import CENT, Money, to_decimal
from polis.kernel.time import Window, ensure_utc, parse_instant
from polis.policies.certificate_content import (
    CERTIFICATE_SCHEMA,
    AmountLine,
    CertificateContent,
    Insured,
    Insurer,
    Language,
    PricePaid,
    ProductTerms,
)

__all__ = [
    "canonical_bytes",
    "canonical_dict",
    "content_from_canonical",
    "content_from_dict",
    "content_sha256",
]


def _instant(instant: datetime) -> str:
    return ensure_utc(instant).isoformat().replace("+00:00", "Z")


def _money(money: Money) -> dict[str, str]:
    return {"amount": f"{money.amount.quantize(CENT)}", "currency": money.currency}


def _line(line: AmountLine) -> dict[str, Any]:
    return {"label": line.label, **_money(line.amount)}


def canonical_dict(content: CertificateContent) -> dict[str, Any]:
    """The content as plain JSON values (see the module docstring for the rules)."""
    return {
        "schema": CERTIFICATE_SCHEMA,
        "number": content.number,
        "policy_number": content.policy_number,
        "language": content.language,
        "issued_at": _instant(content.issued_at),
        "insurer": {
            "name": content.insurer.name,
            "address": content.insurer.address,
            "registration": content.insurer.registration,
        },
        "insured": {"name": content.insured.name, "siren_siret": content.insured.siren_siret},
        "insured_object": content.insured_object,
        "place": content.place,
        "geofence": content.geofence,
        "period": {
            "start": _instant(content.period.start),
            "end": _instant(content.period.end),
            "timezone": content.timezone,
        },
        "sums_insured": [_line(line) for line in content.sums_insured],
        "deductibles": [_line(line) for line in content.deductibles],
        "exclusions": list(content.exclusions),
        "product": {
            "id": content.product.product_id,
            "version": content.product.version,
            "terms_sha256": content.product.terms_sha256,
        },
        "price": {
            "total": f"{content.price.total.amount}",
            "taxes": f"{content.price.taxes.amount}",
            "currency": content.price.total.currency,
        },
    }


def canonical_bytes(content: CertificateContent) -> bytes:
    """Deterministic JSON bytes of the content: the exact bytes that are hashed and signed."""
    return json.dumps(
        canonical_dict(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def content_sha256(content: CertificateContent | bytes) -> str:
    """SHA-256 (hex) of the canonical bytes (or of bytes already canonical)."""
    data = content if isinstance(content, bytes) else canonical_bytes(content)
    return hashlib.sha256(data).hexdigest()


def _section(data: Mapping[str, Any], key: str, keys: set[str], path: str) -> Mapping[str, Any]:
    value = data.get(key)
    where = f"{path}{key}"
    if not isinstance(value, Mapping):
        raise InvalidInput("expected an object", field=where)
    _exact_keys(value, keys, where)
    return value


def _exact_keys(data: Mapping[str, Any], keys: set[str], where: str) -> None:
    missing = sorted(keys - set(data))
    extra = sorted(set(data) - keys)
    if missing:
        raise InvalidInput(f"missing {', '.join(missing)}", field=where or missing[0])
    if extra:
        raise InvalidInput(f"unexpected {', '.join(extra)}", field=where or extra[0])


def _list(data: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise InvalidInput("expected a list", field=key)
    return value


def _amount_line(item: object, where: str) -> AmountLine:
    if not isinstance(item, Mapping):
        raise InvalidInput("expected an object", field=where)
    _exact_keys(item, {"label", "amount", "currency"}, where)
    return AmountLine(
        str(item["label"]),
        Money(to_decimal(item["amount"], field=f"{where}.amount"), str(item["currency"])),
    )


def content_from_dict(data: Mapping[str, Any]) -> CertificateContent:
    """Rebuild content from :func:`canonical_dict`'s shape (strict: no missing or extra key)."""
    top = {
        "schema",
        "number",
        "policy_number",
        "language",
        "issued_at",
        "insurer",
        "insured",
        "insured_object",
        "place",
        "geofence",
        "period",
        "sums_insured",
        "deductibles",
        "exclusions",
        "product",
        "price",
    }
    _exact_keys(data, top, "")
    if data["schema"] != CERTIFICATE_SCHEMA:
        raise InvalidInput(f"unsupported certificate schema {data['schema']!r}", field="schema")
    insurer = _section(data, "insurer", {"name", "address", "registration"}, "")
    insured = _section(data, "insured", {"name", "siren_siret"}, "")
    period = _section(data, "period", {"start", "end", "timezone"}, "")
    product = _section(data, "product", {"id", "version", "terms_sha256"}, "")
    price = _section(data, "price", {"total", "taxes", "currency"}, "")
    currency = str(price["currency"])
    language = data["language"]
    if language not in ("fr", "en"):
        raise InvalidInput("language must be fr or en", field="language")
    return CertificateContent(
        number=str(data["number"]),
        policy_number=data["policy_number"],
        insurer=Insurer(insurer["name"], insurer["address"], insurer["registration"]),
        insured=Insured(insured["name"], insured["siren_siret"]),
        insured_object=data["insured_object"],
        place=data["place"],
        geofence=data["geofence"],
        period=Window(
            parse_instant(str(period["start"]), field="period.start"),
            parse_instant(str(period["end"]), field="period.end"),
        ),
        timezone=str(period["timezone"]),
        sums_insured=tuple(
            _amount_line(item, f"sums_insured[{i}]")
            for i, item in enumerate(_list(data, "sums_insured"))
        ),
        deductibles=tuple(
            _amount_line(item, f"deductibles[{i}]")
            for i, item in enumerate(_list(data, "deductibles"))
        ),
        exclusions=tuple(_list(data, "exclusions")),
        product=ProductTerms(
            str(product["id"]), str(product["version"]), str(product["terms_sha256"])
        ),
        price=PricePaid(
            Money(to_decimal(price["total"], field="price.total"), currency),
            Money(to_decimal(price["taxes"], field="price.taxes"), currency),
        ),
        issued_at=parse_instant(str(data["issued_at"]), field="issued_at"),
        language=cast(Language, language),
    )


def content_from_canonical(data: bytes) -> CertificateContent:
    """Parse canonical bytes back into content (e.g. bytes extracted from a PDF)."""
    try:
        parsed = json.loads(data.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput(
            "the certificate content is not valid UTF-8 JSON", field="content"
        ) from e
    if not isinstance(parsed, dict):
        raise InvalidInput("the certificate content must be a JSON object", field="content")
    return content_from_dict(parsed)
