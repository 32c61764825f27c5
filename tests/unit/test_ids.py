from __future__ import annotations

import pytest

from polis.kernel import InvalidInput, PolisError, ReadableId
from polis.kernel.errors import NotFound


def test_readable_ids_format_and_parse_back() -> None:
    ident = ReadableId("POL", 2025, 123)
    assert str(ident) == "POL-2025-000123"
    assert ReadableId.parse("POL-2025-000123") == ident
    assert str(ReadableId("POL", 2025, 1_234_567)) == "POL-2025-1234567"


@pytest.mark.parametrize(
    "text", ["POL-25-000001", "pol-2025-000001", "POL-2025-12", "", "X-2025-000001"]
)
def test_malformed_ids_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        ReadableId.parse(text, field="policy_id")


def test_an_id_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        ReadableId.parse("CLM-2025-000001", prefix="POL", field="policy_id")
    assert info.value.field == "policy_id"


def test_errors_carry_a_stable_code_and_the_field() -> None:
    error = InvalidInput("must be positive", field="amount")
    assert error.to_dict() == {
        "code": "input.invalid",
        "message": "must be positive",
        "field": "amount",
    }
    assert str(error) == "amount: must be positive"
    specific = NotFound("no such policy", code="policy.not_found")
    assert isinstance(specific, PolisError)
    assert specific.code == "policy.not_found"
    assert NotFound.code == "not_found"
