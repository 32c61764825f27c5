"""Certificate content: canonical bytes, validation, display helpers and the verification decision."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from polis.kernel import InvalidInput, Money, Window
from polis.policies.certificate import (
    AmountLine,
    CertificateContent,
    CertificateRecord,
    CertificateStatus,
    Insured,
    Insurer,
    PresentedCertificate,
    PricePaid,
    ProductTerms,
    canonical_bytes,
    canonical_dict,
    content_from_canonical,
    content_from_dict,
    content_sha256,
    format_duration,
    format_local,
    format_money,
    verify_certificate,
)

TERMS_SHA256 = hashlib.sha256(b"equipment-micro 1.2 terms").hexdigest()
# 2025-03-30 00:30 → 04:30 Europe/Paris: the clocks jump from 02:00 to 03:00 in between
DST_WINDOW = Window.local(datetime(2025, 3, 30, 0, 30), datetime(2025, 3, 30, 4, 30))


def a_certificate(**changes: Any) -> CertificateContent:
    """A photographer's camera kit covered for a night across the March clock change."""
    content = CertificateContent(
        number="ATT-2025-000042",
        policy_number="POL-2025-000123",
        insurer=Insurer(
            "Mutuelle Polis Assurances",
            "12 rue de la Paix, 75002 Paris",
            "RCS Paris 123 456 789 — entreprise régie par le Code des assurances",
        ),
        insured=Insured("Élodie Marchand — Studio Lumière", "732 829 320 00074"),
        insured_object="Kit photo : boîtier Canon EOS R5, objectifs 24-70 mm et 70-200 mm",
        place="Château de Versailles, place d'Armes, 78000 Versailles",
        period=DST_WINDOW,
        sums_insured=(
            AmountLine("Bris et vol du matériel", Money.of("8500")),
            AmountLine("Responsabilité civile", Money.of("1000000.0")),
        ),
        deductibles=(AmountLine("Par sinistre", Money.of("150")),),
        exclusions=(
            "Matériel laissé sans surveillance dans un véhicule",
            "Usure, panne ou défaut de fabrication",
        ),
        product=ProductTerms("equipment-micro", "1.2", TERMS_SHA256),
        price=PricePaid(Money.of("12.48"), Money.of("1.13")),
        issued_at=datetime(2025, 3, 29, 22, 15, 3, tzinfo=UTC),
        language="fr",
    )
    return dataclasses.replace(content, **changes) if changes else content


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: _shuffled(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


# --- canonical bytes ---------------------------------------------------------------------------


def test_canonical_bytes_are_compact_sorted_json_with_utc_instants_and_decimal_strings() -> None:
    data = canonical_bytes(a_certificate())
    text = data.decode("utf-8")
    assert (
        json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        == text
    )
    assert '"start":"2025-03-29T23:30:00Z"' in text
    assert '"end":"2025-03-30T02:30:00Z"' in text
    assert '"timezone":"Europe/Paris"' in text
    assert '"amount":"8500.00"' in text
    assert '"amount":"1000000.00"' in text
    assert '"total":"12.48"' in text
    assert "Élodie" in text  # UTF-8, not \\u escapes
    assert text.startswith('{"deductibles":')


def test_canonical_bytes_do_not_depend_on_the_order_of_keys() -> None:
    content = a_certificate()
    rng = random.Random(5)
    for _ in range(20):
        shuffled = _shuffled(canonical_dict(content), rng)
        assert canonical_bytes(content_from_dict(shuffled)) == canonical_bytes(content)


@pytest.mark.parametrize("amount", ["150", "150.0", "150.00", "1.5E+2", "150.000"])
def test_money_is_always_written_with_two_decimals(amount: str) -> None:
    content = a_certificate(deductibles=(AmountLine("Par sinistre", Money(Decimal(amount))),))
    assert canonical_bytes(content) == canonical_bytes(a_certificate())
    assert b'"amount":"150.00"' in canonical_bytes(content)


def test_a_fraction_of_a_cent_is_refused_not_rounded() -> None:
    with pytest.raises(InvalidInput) as info:
        AmountLine("Par sinistre", Money(Decimal("150.005")))
    assert info.value.field == "amount"


def test_texts_are_nfc_normalised_and_stripped() -> None:
    decomposed = a_certificate(
        insured=Insured("  E\u0301lodie Marchand — Studio Lumie\u0300re ", "73282932000074")
    )
    assert canonical_bytes(decomposed) == canonical_bytes(a_certificate())


def test_canonical_bytes_round_trip() -> None:
    content = a_certificate()
    data = canonical_bytes(content)
    assert content_from_canonical(data) == content
    assert canonical_bytes(content_from_canonical(data)) == data


def test_content_sha256_is_the_hash_of_the_canonical_bytes_and_follows_every_change() -> None:
    content = a_certificate()
    assert content_sha256(content) == hashlib.sha256(canonical_bytes(content)).hexdigest()
    assert content_sha256(canonical_bytes(content)) == content_sha256(content)
    changed = a_certificate(price=PricePaid(Money.of("12.49"), Money.of("1.13")))
    assert content_sha256(changed) != content_sha256(content)


def test_parsing_is_strict() -> None:
    data = canonical_dict(a_certificate())
    with pytest.raises(InvalidInput) as info:
        content_from_dict({**data, "discount": "100%"})
    assert "discount" in info.value.message
    with pytest.raises(InvalidInput) as info:
        content_from_dict({**data, "schema": "polis.certificate/2"})
    assert info.value.field == "schema"
    with pytest.raises(InvalidInput) as info:
        content_from_dict({**data, "insured": {"name": "X"}})
    assert info.value.field == "insured"
    with pytest.raises(InvalidInput):
        content_from_canonical(b"\xff not json")


# --- validation --------------------------------------------------------------------------------


def test_the_certificate_number_is_an_att_readable_id() -> None:
    assert a_certificate(number="ATT-2025-000042").number == "ATT-2025-000042"
    with pytest.raises(InvalidInput) as info:
        a_certificate(number="POL-2025-000042")
    assert info.value.field == "number"


def test_naive_issue_times_are_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        a_certificate(issued_at=datetime(2025, 3, 29, 22, 15))
    assert info.value.field == "issued_at"


@pytest.mark.parametrize("number", ["73282932", "7328293200007", "ABC829320", "７３２８２９３２０"])
def test_siren_and_siret_have_9_or_14_digits(number: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Insured("Studio Lumière", number)
    assert info.value.field == "insured.siren_siret"


def test_a_person_has_no_siren() -> None:
    assert Insured("Élodie Marchand", None).siren_siret is None
    assert Insured("Élodie Marchand", "  ").siren_siret is None


def test_taxes_cannot_exceed_the_total() -> None:
    with pytest.raises(InvalidInput) as info:
        PricePaid(Money.of("1.00"), Money.of("1.13"))
    assert info.value.field == "price.taxes"
    assert PricePaid(Money.of("12.48"), Money.of("1.13")).excluding_taxes == Money.of("11.35")


def test_line_breaks_in_texts_are_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        a_certificate(insured_object="Drone\nDJI")
    assert info.value.field == "insured_object"


def test_unknown_time_zones_are_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        a_certificate(timezone="Europe/Atlantis")
    assert info.value.field == "timezone"


def test_the_product_terms_hash_is_a_sha256() -> None:
    with pytest.raises(InvalidInput) as info:
        ProductTerms("equipment-micro", "1.2", "abc")
    assert info.value.field == "product.terms_sha256"


# --- display -----------------------------------------------------------------------------------


def test_local_times_show_their_offset_on_both_sides_of_the_march_change() -> None:
    assert format_local(DST_WINDOW.start) == "30/03/2025 00:30 (UTC+01:00)"
    assert format_local(DST_WINDOW.end) == "30/03/2025 04:30 (UTC+02:00)"
    assert format_duration(DST_WINDOW.duration) == "3 h"
    assert format_local(DST_WINDOW.start, "America/New_York") == "29/03/2025 19:30 (UTC-04:00)"


def test_durations_are_real_elapsed_time() -> None:
    assert format_duration(timedelta(hours=2, minutes=30)) == "2 h 30 min"
    assert format_duration(timedelta(days=1, hours=4), "fr") == "1 j 4 h"
    assert format_duration(timedelta(days=1, hours=4), "en") == "1 d 4 h"
    assert format_duration(timedelta(seconds=20)) == "0 min"


def test_money_is_shown_the_french_or_the_english_way() -> None:
    assert format_money(Money.of("1000000"), "fr") == "1\u202f000\u202f000,00\u00a0€"
    assert format_money(Money.of("8500.5"), "en") == "€8,500.50"
    assert format_money(Money.of("12", "CHF"), "fr") == "12,00\u00a0CHF"


# --- verification ------------------------------------------------------------------------------

CONTENT = a_certificate()
RECORD = CertificateRecord(
    number=CONTENT.number,
    content_sha256=content_sha256(CONTENT),
    signature="s" * 86,
    key_id="0123456789abcdef",
    period=CONTENT.period,
)
BY_NUMBER = PresentedCertificate(CONTENT.number)
AS_ISSUED = PresentedCertificate(CONTENT.number, content_sha256(CONTENT), "s" * 86)
START, END = CONTENT.period.start, CONTENT.period.end
TICK = timedelta(microseconds=1)


def status(
    record: CertificateRecord | None,
    presented: PresentedCertificate,
    now: datetime,
    *,
    signature_ok: bool = True,
) -> CertificateStatus:
    return verify_certificate(record, presented, signature_ok=signature_ok, now=now).status


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (START - TICK, CertificateStatus.NOT_YET_VALID),
        (START, CertificateStatus.VALID),
        (END - TICK, CertificateStatus.VALID),
        (END, CertificateStatus.EXPIRED),
        (END + timedelta(days=400), CertificateStatus.EXPIRED),
    ],
    ids=["just-before-start", "at-start", "just-before-end", "at-end", "long-after"],
)
def test_the_period_is_half_open(now: datetime, expected: CertificateStatus) -> None:
    assert status(RECORD, AS_ISSUED, now) is expected
    assert status(RECORD, BY_NUMBER, now) is expected


def test_revoked_beats_valid_and_expired() -> None:
    revoked = dataclasses.replace(RECORD, revoked_at=START + timedelta(hours=1))
    assert status(revoked, AS_ISSUED, START) is CertificateStatus.VALID  # not revoked yet
    assert status(revoked, AS_ISSUED, START + timedelta(hours=1)) is CertificateStatus.REVOKED
    assert status(revoked, AS_ISSUED, END + timedelta(days=1)) is CertificateStatus.REVOKED


def test_an_unknown_number_is_unknown() -> None:
    result = verify_certificate(
        None, PresentedCertificate("ATT-2025-999999"), signature_ok=True, now=START
    )
    assert result.status is CertificateStatus.UNKNOWN
    assert not result.authentic
    assert (
        result.message("fr") == "Aucune attestation n'a été émise sous le numéro ATT-2025-999999."
    )


def test_a_different_content_hash_is_tampered_even_when_revoked() -> None:
    forged = dataclasses.replace(AS_ISSUED, content_sha256="0" * 64)
    assert status(RECORD, forged, START) is CertificateStatus.TAMPERED
    revoked = dataclasses.replace(RECORD, revoked_at=START)
    assert status(revoked, forged, START) is CertificateStatus.TAMPERED


def test_a_signature_that_does_not_verify_is_tampered() -> None:
    result = verify_certificate(RECORD, AS_ISSUED, signature_ok=False, now=START)
    assert result.status is CertificateStatus.TAMPERED
    assert result.reason == "bad_signature"
    assert not result.in_force


def test_content_presented_under_another_number_is_tampered() -> None:
    other = dataclasses.replace(AS_ISSUED, number="ATT-2025-000043")
    assert status(RECORD, other, START) is CertificateStatus.TAMPERED


def test_naive_check_instants_are_refused() -> None:
    with pytest.raises(InvalidInput):
        verify_certificate(RECORD, AS_ISSUED, signature_ok=True, now=datetime(2025, 3, 30, 1))


def test_messages_in_french_and_english() -> None:
    valid = verify_certificate(RECORD, AS_ISSUED, signature_ok=True, now=START)
    assert valid.authentic
    assert valid.in_force
    assert valid.message("fr") == (
        "Attestation ATT-2025-000042 authentique et en vigueur : garantie du "
        "30/03/2025 00:30 (UTC+01:00) au 30/03/2025 04:30 (UTC+02:00)."
    )
    assert valid.message("en").startswith("Certificate ATT-2025-000042 is authentic and in force")
    scheduled = verify_certificate(RECORD, AS_ISSUED, signature_ok=True, now=START - TICK)
    assert scheduled.authentic
    assert not scheduled.in_force
    assert "pas encore en vigueur" in scheduled.message("fr")
    expired = verify_certificate(RECORD, AS_ISSUED, signature_ok=True, now=END)
    assert "expirée" in expired.message("fr")
    assert "expired" in expired.message("en")
    revoked = dataclasses.replace(RECORD, revoked_at=START, revocation_reason="arrêt anticipé")
    message = verify_certificate(revoked, AS_ISSUED, signature_ok=True, now=START).message("fr")
    assert message == (
        "Attestation ATT-2025-000042 révoquée le 30/03/2025 00:30 (UTC+01:00) : elle ne prouve "
        "plus aucune garantie. Motif : arrêt anticipé"
    )
    tampered = verify_certificate(RECORD, AS_ISSUED, signature_ok=False, now=START)
    assert "altérée" in tampered.message("fr")
    assert "altered" in tampered.message("en")
