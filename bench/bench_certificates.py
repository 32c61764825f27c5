"""Certificates: canonical content, Ed25519 signing and verification, PDF generation.

Baseline named in the same run: the canonical serialisation alone (first row). Target of issue 5:
certificate PDF generation alone p50 < 20 ms. The first PDF of a process also cuts the font subset
(~0.3 s, once); the harness's warm-up calls absorb it, and it is reported separately.

``python -m bench.bench_certificates`` prints the rows without touching docs/benchmarks.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import time
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.harness import Timing, time_calls
from polis.documents.certificates import extract_signed_content, render_certificate_pdf
from polis.documents.signing import sign, verify_signature
from polis.kernel import Money, Window
from polis.policies.certificate import (
    AmountLine,
    CertificateContent,
    Insured,
    Insurer,
    PresentedCertificate,
    PricePaid,
    ProductTerms,
    canonical_bytes,
    content_sha256,
    verify_certificate,
)

BASE_URL = "https://assurance.example.fr"
_PDF_RUNS = 300


def sample_content() -> CertificateContent:
    """A realistic certificate: a camera kit for an evening, three sums, two exclusions."""
    return CertificateContent(
        number="ATT-2026-000123",
        policy_number="POL-2026-000042",
        insurer=Insurer(
            "Mutuelle Polis Assurances",
            "12 rue de la Paix, 75002 Paris",
            "RCS Paris 123 456 789 — entreprise régie par le Code des assurances",
        ),
        insured=Insured("Élodie Marchand — Studio Lumière", "73282932000074"),
        insured_object="Kit photo : boîtier Canon EOS R5, objectifs 24-70 mm et 70-200 mm, drone",
        place="Château de Versailles, place d'Armes, 78000 Versailles",
        period=Window.local(datetime(2026, 6, 13, 14, 0), datetime(2026, 6, 13, 23, 30)),
        sums_insured=(
            AmountLine("Bris et vol du matériel", Money.of("8500")),
            AmountLine("Responsabilité civile", Money.of("1000000")),
            AmountLine("Frais de location de remplacement", Money.of("1500")),
        ),
        deductibles=(AmountLine("Par sinistre", Money.of("150")),),
        exclusions=(
            "Matériel laissé sans surveillance dans un véhicule",
            "Usure, panne ou défaut de fabrication",
        ),
        product=ProductTerms(
            "equipment-micro", "1.2", hashlib.sha256(b"equipment-micro 1.2").hexdigest()
        ),
        price=PricePaid(Money.of("18.72"), Money.of("1.70")),
        issued_at=datetime(2026, 6, 13, 11, 58, 2, tzinfo=UTC),
    )


def run() -> list[Timing]:
    content = sample_content()
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = key.public_key()
    signed = sign(content, key)

    started = time.perf_counter()
    pdf = render_certificate_pdf(signed, public_base_url=BASE_URL)  # cuts the font subset
    first = time.perf_counter() - started
    record = signed.record()
    # a new number for every call, as in production: the QR code is encoded each time (no cache hit)
    batch = [
        sign(dataclasses.replace(content, number=f"ATT-2026-{n:06d}"), key)
        for n in range(1000, 1000 + _PDF_RUNS + 40)
    ]
    to_render = itertools.cycle(batch)
    to_issue = itertools.cycle(
        [
            dataclasses.replace(content, number=f"ATT-2026-{n:06d}")
            for n in range(5000, 5000 + _PDF_RUNS + 40)
        ]
    )

    def verify_pdf() -> object:
        content_bytes, signature = extract_signed_content(pdf)
        presented = PresentedCertificate(record.number, content_sha256(content_bytes), signature)
        ok = verify_signature(content_bytes, signature, public)
        return verify_certificate(record, presented, signature_ok=ok, now=content.period.start)

    def render() -> bytes:
        return render_certificate_pdf(next(to_render), public_base_url=BASE_URL)

    def issue() -> bytes:
        return render_certificate_pdf(sign(next(to_issue), key), public_base_url=BASE_URL)

    results = [
        time_calls("canonical bytes + SHA-256 (pure)", lambda: content_sha256(content), runs=5000),
        time_calls("sign (canonical bytes + Ed25519)", lambda: sign(content, key), runs=3000),
        time_calls(
            "verify signature (Ed25519)",
            lambda: verify_signature(signed.content_bytes, signed.signature, public),
            runs=3000,
        ),
        time_calls("verify a PDF offline (extract + verify + decide)", verify_pdf, runs=2000),
        time_calls("certificate PDF generation alone (fpdf2 + QR)", render, runs=_PDF_RUNS),
        time_calls("issue: sign + PDF", issue, runs=_PDF_RUNS),
    ]
    results.append(
        Timing(
            f"first PDF of the process (font subset cut once; PDF {len(pdf) / 1024:.1f} KiB)",
            1,
            first * 1000,
            first * 1000,
            1 / first,
        )
    )
    assert canonical_bytes(content) == signed.content_bytes
    return results


if __name__ == "__main__":
    for timing in run():
        print(
            f"{timing.name}: p50 {timing.p50_ms:.3f} ms, p99 {timing.p99_ms:.3f} ms, "
            f"{timing.per_second:,.0f}/s"
        )
