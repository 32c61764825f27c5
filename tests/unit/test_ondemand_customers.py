"""On-demand customers: SIREN/SIRET (Luhn, La Poste), verification transitions, limits, refusals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polis.kernel.errors import IllegalTransition, InvalidInput
from polis.ondemand import (
    LA_POSTE_SIREN,
    LIMIT_TIERS,
    TRANSITIONS,
    Address,
    Customer,
    CustomerHistory,
    CustomerKind,
    Refused,
    VerificationStatus,
    check_activation_allowed,
    check_sum_insured,
    check_verified,
    limits_for,
    luhn_valid,
    new_business,
    new_person,
    transition,
    validate_siren,
    validate_siret,
)
from polis.ondemand.limits import whole_months

D = Decimal
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
PARIS_ADDRESS = Address("12 rue des Lilas", "75011", "Paris")


def photographer(status: VerificationStatus = VerificationStatus.VERIFIED) -> Customer:
    customer = new_person(
        "CUS-1", name="Ana Lima", activity="photographer", address=PARIS_ADDRESS, created_at=NOW
    )
    if status is VerificationStatus.PENDING:
        return customer
    if status is VerificationStatus.REJECTED:
        return transition(customer, status, at=NOW, reason="blurred identity document")
    return transition(customer, status, at=NOW)


def luhn_digit(prefix: str) -> str:
    """The digit that makes ``prefix + digit`` pass Luhn."""
    return next(str(d) for d in range(10) if luhn_valid(prefix + str(d)))


# ----------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize("siren", ["542107651", "443061841", "732829320", "356000000"])
def test_real_sirens_pass_the_luhn_check(siren: str) -> None:
    assert validate_siren(siren) == siren


def test_a_siren_is_read_without_its_spaces() -> None:
    assert validate_siren("542 107 651") == "542107651"


@pytest.mark.parametrize(
    ("text", "message"),
    [("542107652", "Luhn"), ("54210765", "exactly 9 digits"), ("54210765A", "exactly 9 digits")],
)
def test_a_bad_siren_is_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        validate_siren(text, field="business.siren")
    assert error.value.field == "business.siren"
    assert error.value.code == "customer.siren_invalid"
    assert message in error.value.message


def test_a_siret_passes_the_luhn_check_on_its_14_digits() -> None:
    assert validate_siret("732 829 320 00074") == "73282932000074"
    assert validate_siret("44306184100047") == "44306184100047"


def test_a_mistyped_siret_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        validate_siret("73282932000075")
    assert (error.value.field, error.value.code) == ("siret", "customer.siret_invalid")


def test_la_poste_establishments_use_the_sum_of_digits_rule() -> None:
    # 3+5+6 + 0…0 + 1 = 15, a multiple of 5, but not a Luhn number
    siret = "35600000000001"
    assert not luhn_valid(siret)
    assert validate_siret(siret) == siret


def test_the_la_poste_head_office_siret_passes_luhn() -> None:
    assert luhn_valid("35600000000048")
    assert validate_siret("35600000000048") == "35600000000048"


def test_a_la_poste_siret_failing_both_rules_is_refused_saying_so() -> None:
    siret = "35600000000002"  # digit sum 16, not Luhn
    with pytest.raises(InvalidInput) as error:
        validate_siret(siret)
    assert "La Poste" in error.value.message


def test_the_sum_of_digits_rule_is_only_for_la_poste() -> None:
    other = "54210765100004"  # digit sum 35, a multiple of 5, but not Luhn and not La Poste
    assert sum(int(c) for c in other) % 5 == 0
    assert not luhn_valid(other)
    with pytest.raises(InvalidInput):
        validate_siret(other)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_every_siren_with_its_luhn_digit_is_valid_and_every_other_digit_is_not(
    prefix: str,
) -> None:
    good = luhn_digit(prefix)
    assert validate_siren(prefix + good) == prefix + good
    for digit in "0123456789":
        if digit != good:
            with pytest.raises(InvalidInput):
                validate_siren(prefix + digit)


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_every_la_poste_siret_whose_digits_sum_to_a_multiple_of_5_is_valid(nic: str) -> None:
    siret = LA_POSTE_SIREN + nic
    valid = luhn_valid(siret) or sum(int(c) for c in siret) % 5 == 0
    if valid:
        assert validate_siret(siret) == siret
    else:
        with pytest.raises(InvalidInput):
            validate_siret(siret)


# ------------------------------------------------------------------------------- customers


def test_a_business_is_created_pending_with_its_siren_and_siret() -> None:
    business = new_business(
        "CUS-2",
        name="Menuiserie Durand",
        activity="carpenter",
        address=Address("3 chemin du Moulin", "69003", "Lyon"),
        siren="732 829 320",
        siret="73282932000074",
        created_at=NOW,
    )
    assert business.kind is CustomerKind.BUSINESS
    assert (business.siren, business.siret) == ("732829320", "73282932000074")
    assert business.status is VerificationStatus.PENDING
    assert not business.is_verified


def test_a_siret_of_another_siren_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        new_business(
            "CUS-3",
            name="X",
            activity="shop",
            address=PARIS_ADDRESS,
            siren="542107651",
            siret="73282932000074",
            created_at=NOW,
        )
    assert error.value.field == "siret"
    assert "establishment" in error.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"postcode": "7501"}, "address.postcode"),
        ({"line1": " "}, "address.line1"),
        ({"city": ""}, "address.city"),
        ({"country": "France"}, "address.country"),
    ],
)
def test_an_address_names_its_bad_field(changes: dict[str, str], field: str) -> None:
    values = {"line1": "1 rue X", "postcode": "75001", "city": "Paris", "country": "FR"} | changes
    with pytest.raises(InvalidInput) as error:
        Address(**values)
    assert error.value.field == field


def test_a_foreign_postcode_is_not_checked_as_french() -> None:
    assert Address("Rue Neuve 1", "1000", "Bruxelles", "BE").one_line().endswith("BE")


def test_a_person_needs_a_name_and_an_activity() -> None:
    with pytest.raises(InvalidInput) as error:
        new_person("C", name="Ana", activity=" ", address=PARIS_ADDRESS, created_at=NOW)
    assert error.value.field == "activity"


def test_a_naive_creation_time_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        new_person(
            "C",
            name="Ana",
            activity="photographer",
            address=PARIS_ADDRESS,
            created_at=datetime(2025, 1, 1, 12, 0),
        )
    assert error.value.field == "created_at"


# ------------------------------------------------------------------------------ transitions


ALL_MOVES = [(a, b) for a in VerificationStatus for b in VerificationStatus]


@pytest.mark.parametrize(("start", "target"), ALL_MOVES)
def test_the_transition_table_is_enforced(
    start: VerificationStatus, target: VerificationStatus
) -> None:
    customer = photographer(start)
    reason = "documents do not match" if target is VerificationStatus.REJECTED else None
    if target in TRANSITIONS[start]:
        moved = transition(customer, target, at=NOW, reason=reason)
        assert moved.status is target
    else:
        with pytest.raises(IllegalTransition) as error:
            transition(customer, target, at=NOW, reason=reason)
        assert error.value.field == "status"


def test_verifying_stamps_the_time_and_leaving_verified_clears_it() -> None:
    verified = photographer()
    assert verified.verified_at == NOW
    again = transition(verified, VerificationStatus.PENDING, at=NOW, reason="new address")
    assert again.verified_at is None


def test_a_rejection_states_its_reason() -> None:
    with pytest.raises(InvalidInput) as error:
        transition(photographer(VerificationStatus.PENDING), VerificationStatus.REJECTED, at=NOW)
    assert error.value.field == "reason"


# ----------------------------------------------------------------------------------- limits


def test_whole_months_count_calendar_months() -> None:
    from datetime import date

    assert whole_months(date(2025, 1, 15), date(2025, 2, 14)) == 0
    assert whole_months(date(2025, 1, 15), date(2025, 2, 15)) == 1
    assert whole_months(date(2025, 1, 31), date(2025, 12, 31)) == 11
    assert whole_months(date(2025, 3, 1), date(2025, 2, 1)) == 0


def test_a_new_customer_starts_with_the_starter_limits() -> None:
    limits = limits_for(photographer(), CustomerHistory(), at=NOW)
    assert limits.tier.name == "starter"
    assert limits.max_sum_insured == D("3000")
    assert limits.max_activations_per_day == 3
    assert limits.next_tier is not None
    assert limits.next_tier.name == "regular"
    assert "next tier regular" in limits.explanation[-1].step


def test_limits_rise_with_clean_windows_and_months_verified() -> None:
    customer = photographer()
    later = datetime(2025, 10, 1, tzinfo=UTC)  # 6 whole months after 10 March
    assert limits_for(customer, CustomerHistory(10), at=later).tier.name == "regular"
    assert limits_for(customer, CustomerHistory(50), at=later).tier.name == "trusted"
    # clean windows without the months are not enough
    assert limits_for(customer, CustomerHistory(50), at=NOW).tier.name == "starter"


def test_windows_with_claims_do_not_count_as_clean() -> None:
    later = datetime(2026, 1, 1, tzinfo=UTC)
    history = CustomerHistory(completed_windows=55, windows_with_claims=6)
    limits = limits_for(photographer(), history, at=later)
    assert limits.clean_windows == 49
    assert limits.tier.name == "regular"


def test_recent_claims_cap_the_tier() -> None:
    much_later = datetime(2027, 1, 1, tzinfo=UTC)
    clean = CustomerHistory(completed_windows=300)
    assert limits_for(photographer(), clean, at=much_later).tier.name == "partner"
    one = CustomerHistory(completed_windows=300, windows_with_claims=1, claims_last_12_months=1)
    assert limits_for(photographer(), one, at=much_later).tier.name == "trusted"
    many = CustomerHistory(completed_windows=300, windows_with_claims=2, claims_last_12_months=2)
    assert limits_for(photographer(), many, at=much_later).tier.name == "starter"


def test_an_unverified_customer_has_no_months_verified() -> None:
    limits = limits_for(photographer(VerificationStatus.PENDING), CustomerHistory(100), at=NOW)
    assert limits.months_verified == 0
    assert limits.tier.name == "starter"


@pytest.mark.parametrize(
    ("history", "field"),
    [
        ({"completed_windows": -1}, "history.completed_windows"),
        ({"completed_windows": 1, "windows_with_claims": 2}, "history.windows_with_claims"),
    ],
)
def test_a_bad_history_names_its_field(history: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        CustomerHistory(**history)
    assert error.value.field == field


@given(
    st.integers(0, 400),
    st.integers(0, 400),
    st.integers(0, 3),
    st.integers(0, 36),
)
def test_more_clean_history_never_lowers_the_limits(
    clean: int, extra: int, claims: int, months: int
) -> None:
    customer = photographer()
    at = datetime(2025 + (3 + months) // 12, (3 + months) % 12 + 1, 10, 12, tzinfo=UTC)
    low = limits_for(customer, CustomerHistory(clean + claims, claims, claims), at=at)
    high = limits_for(customer, CustomerHistory(clean + extra + claims, claims, claims), at=at)
    assert high.max_sum_insured >= low.max_sum_insured
    assert high.max_activations_per_day >= low.max_activations_per_day


def test_tiers_only_go_up() -> None:
    for lower, upper in itertools.pairwise(LIMIT_TIERS):
        assert upper.max_sum_insured > lower.max_sum_insured
        assert upper.max_sum_insured_business > lower.max_sum_insured_business
        assert upper.max_activations_per_day > lower.max_activations_per_day


# --------------------------------------------------------------------------------- refusals


def test_an_unverified_customer_is_refused_with_a_code() -> None:
    with pytest.raises(Refused) as error:
        check_verified(photographer(VerificationStatus.PENDING))
    assert error.value.code == "customer.not_verified"
    assert error.value.field == "customer"
    assert "pending" in error.value.message


def test_a_sum_insured_above_the_limit_is_refused_naming_the_field() -> None:
    limits = limits_for(photographer(), CustomerHistory(), at=NOW)
    check_sum_insured(limits, D("3000"), liability=False)
    with pytest.raises(Refused) as error:
        check_sum_insured(limits, D("10000"), liability=False)
    assert error.value.code == "limit.sum_insured_exceeded"
    assert error.value.field == "sum_insured"
    assert error.value.data == {"limit": "3000", "asked": "10000"}
    assert "10000 €" in error.value.message
    assert "starter" in error.value.message


def test_a_business_has_higher_sums_insured_than_a_person() -> None:
    business = new_business(
        "CUS-4",
        name="Entrepôts du Nord",
        activity="storage",
        address=Address("ZI des Prés", "59000", "Lille"),
        siren="542107651",
        created_at=NOW,
    )
    business = transition(business, VerificationStatus.VERIFIED, at=NOW)
    limits = limits_for(business, CustomerHistory(), at=NOW)
    assert limits.max_sum_insured == D("50000")
    check_sum_insured(limits, D("50000"), liability=False)


def test_a_liability_limit_is_checked_against_the_liability_ceiling() -> None:
    limits = limits_for(photographer(), CustomerHistory(), at=NOW)
    check_sum_insured(limits, D("1000000"), liability=True)
    with pytest.raises(Refused) as error:
        check_sum_insured(limits, D("2000000"), liability=True)
    assert "liability limit" in error.value.message


def test_the_daily_activations_limit_counts_this_activation() -> None:
    customer = photographer()
    limits = limits_for(customer, CustomerHistory(), at=NOW)
    check_activation_allowed(customer, limits, activations_today=2)
    with pytest.raises(Refused) as error:
        check_activation_allowed(customer, limits, activations_today=3)
    assert error.value.code == "limit.daily_activations_exceeded"
    assert error.value.field == "start"


def test_a_refusal_is_a_conflict_for_the_entrypoints() -> None:
    from polis.kernel.errors import Conflict

    assert issubclass(Refused, Conflict)
