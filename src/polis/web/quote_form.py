"""The quote page's pure helpers: product risk fields ⇄ HTML form fields, and display formatting.

* :func:`form_fields` turns a product's risk fields into form fields (widget, fr/en label, options,
  bounds, step, prefilled default); :func:`parse_risk` turns the posted form back into the risk
  object of ``POST /v1/quotes``. Numbers typed the French way are accepted (``"1 234,5"`` →
  ``"1234.5"``); every value is then validated once, by the quote service, whose errors name
  ``risk.<field>``.
* :class:`Formatter` shows amounts, rates, numbers and dates in the interface language:
  ``1 234,56 €`` in French (narrow no-break space between thousands, comma, no-break space
  before €), ``€1,234.56`` in English.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from polis.kernel.errors import InvalidInput
from polis.policies.product import FieldType, Product, RiskField
from polis.web.i18n import Lang

__all__ = [
    "NBSP",
    "NNBSP",
    "FormField",
    "Formatter",
    "Option",
    "Widget",
    "form_fields",
    "form_values",
    "normalise_number",
    "parse_as_of",
    "parse_risk",
]

Widget = Literal["select", "number", "checkbox", "textarea"]
#: ``(field, value) → label`` of an enum value in the interface language, ``None`` when unknown
OptionLabel = Callable[[str, str], str | None]

NNBSP = "\u202f"  # narrow no-break space: French thousands separator and before %
NBSP = "\u00a0"  # no-break space: before € in French
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_TRUE = {"on", "true", "1", "yes", "oui"}
_WIDGETS: dict[FieldType, Widget] = {
    "enum": "select",
    "integer": "number",
    "decimal": "number",
    "boolean": "checkbox",
    "decimal_list": "textarea",
}


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of the quote form, generated from a product risk field."""

    name: str
    type: FieldType
    widget: Widget
    label: str
    required: bool
    options: tuple[Option, ...] = ()
    min: str | None = None
    max: str | None = None
    step: str | None = None
    default: str = ""
    min_items: int | None = None
    max_items: int | None = None

    def option_label(self, value: object) -> str:
        """The label of an enum value (the value itself when it is not an option)."""
        return next((o.label for o in self.options if o.value == value), str(value))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def _bound(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _field(name: str, spec: RiskField, lang: Lang, option_label: OptionLabel) -> FormField:
    label = getattr(spec.label, lang) if spec.label else name.replace("_", " ")
    options = tuple(
        Option(v, option_label(name, v) or v.replace("_", " ")) for v in spec.values or ()
    )
    numeric = spec.type in {"integer", "decimal", "decimal_list"}
    return FormField(
        name=name,
        type=spec.type,
        widget=_WIDGETS[spec.type],
        label=label,
        required=spec.required,
        options=options,
        min=_bound(spec.min) if numeric else None,
        max=_bound(spec.max) if numeric else None,
        step={"integer": "1", "decimal": "any"}.get(spec.type),
        default=_text(spec.default),
        min_items=spec.min_items if spec.type == "decimal_list" else None,
        max_items=spec.max_items if spec.type == "decimal_list" else None,
    )


def form_fields(product: Product, lang: Lang, option_label: OptionLabel) -> list[FormField]:
    """The form fields of ``product``'s risk, in the order the product declares them."""
    return [_field(name, spec, lang, option_label) for name, spec in product.risk.items()]


def form_values(fields: list[FormField], posted: Mapping[str, str] | None = None) -> dict[str, str]:
    """The text of each input: what was posted, else the default (checkboxes: ``"on"`` or ``""``)."""
    if posted is None:
        return {f.name: f.default for f in fields}
    return {
        f.name: ("on" if posted.get(f.name, "").lower() in _TRUE else "")
        if f.widget == "checkbox"
        else posted.get(f.name, "")
        for f in fields
    }


def normalise_number(text: str) -> str:
    """``"250 000"`` → ``"250000"``, ``"0,5"`` → ``"0.5"``, ``"1 200 €"`` → ``"1200"``.

    Spaces (also no-break ones) and a trailing € are dropped; a comma is the decimal separator when
    the text has no dot. Anything else is left as typed, for the service to refuse with its field.
    """
    cleaned = _SPACES.sub("", text).removesuffix("€")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    return cleaned


def _parse_value(f: FormField, raw: str) -> object:
    if f.widget == "checkbox":
        return raw.strip().lower() in _TRUE
    if f.type == "decimal_list":
        items = [normalise_number(x) for x in re.split(r"[\n;]", raw)]
        return [x for x in items if x] or None
    text = raw.strip() if f.type == "enum" else normalise_number(raw)
    if not text:
        return None
    if f.type == "integer" and re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def parse_risk(fields: list[FormField], posted: Mapping[str, str]) -> dict[str, Any]:
    """The risk object from the posted form; empty inputs are left out (defaults then apply)."""
    risk: dict[str, Any] = {}
    for f in fields:
        value = _parse_value(f, posted.get(f.name, ""))
        if value is not None:
            risk[f.name] = value
    return risk


def parse_as_of(text: str, today: dt.date) -> dt.date:
    """The quote date: ``YYYY-MM-DD`` (date inputs) or ``DD/MM/YYYY``; empty → ``today``."""
    text = text.strip()
    if not text:
        return today
    try:
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
            day, month, year = (int(p) for p in text.split("/"))
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise InvalidInput(f"not a date (YYYY-MM-DD): {text!r}", field="as_of") from e


def _decimal(value: Decimal | str | int) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as e:
        raise ValueError(f"not a number: {value!r}") from e


def _plain(value: Decimal) -> str:
    """Exact digits without exponent or trailing zeros: ``155.00000`` → ``155``."""
    return format(value.normalize(), "f") if value != 0 else "0"


@dataclass(frozen=True, slots=True)
class Formatter:
    """Numbers as people read them in ``lang``."""

    lang: Lang

    def _group(self, digits: str) -> str:
        grouped = f"{int(digits):,}"
        return grouped.replace(",", NNBSP) if self.lang == "fr" else grouped

    def _join(self, sign: str, text: str) -> str:
        whole, _, fraction = text.partition(".")
        separator = "," if self.lang == "fr" else "."
        return sign + self._group(whole) + (separator + fraction if fraction else "")

    def number(self, value: Decimal | str | int, places: int | None = None) -> str:
        """Grouped digits; exact (trailing zeros dropped) unless ``places`` rounds half-up."""
        number = _decimal(value)
        if places is not None:
            number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            text = format(abs(number), "f")
        else:
            text = _plain(abs(number))
        return self._join("-" if number < 0 else "", text)

    def money(self, value: Decimal | str | int) -> str:
        """``1 234,56 €`` (fr) or ``€1,234.56`` (en), always 2 decimals."""
        text = self.number(value, 2)
        if self.lang == "fr":
            return f"{text}{NBSP}€"
        return f"-€{text[1:]}" if text.startswith("-") else f"€{text}"

    def rate(self, value: Decimal | str) -> str:
        """A rate as a percentage, exact: ``0.30`` → ``30 %`` (fr) / ``30%`` (en), ``0.00062`` → ``0,062 %``."""
        percent = self.number(_decimal(value) * 100)
        return f"{percent}{NNBSP}%" if self.lang == "fr" else f"{percent}%"

    def factor(self, value: Decimal | str) -> str:
        """A multiplier: ``× 1,10`` (at least two decimals)."""
        number = _decimal(value)
        exponent = number.normalize().as_tuple().exponent
        places = max(2, -exponent) if isinstance(exponent, int) else 2
        return "× " + self.number(number, places)

    def date(self, value: dt.date | str) -> str:
        """``01/09/2025`` (fr) or ``2025-09-01`` (en)."""
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        return day.strftime("%d/%m/%Y") if self.lang == "fr" else day.isoformat()
