"""Two first activations signed with a new key, at once: the public key is stored once and neither
activation fails (before, the second one's insert broke on the key's primary key: a 500)."""

from __future__ import annotations

import base64
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.ondemand_fixtures import utc

from polis.config import Settings
from polis.services.ondemand_certificates import register_signing_key
from polis.services.signing_keys import certificate_signer
from polis.store import SqlUnitOfWork, make_engine, session_factory

pytestmark = pytest.mark.db

NOW = utc(2026, 6, 10, 8)


def test_a_new_key_registered_by_two_transactions_at_once_is_stored_once(
    database_url: str,
) -> None:
    key = base64.b64encode(os.urandom(32)).decode("ascii")  # a key no test stored before
    signer = certificate_signer(Settings(database_url="sqlite://", certificate_signing_key=key))
    # two engines: each process remembers the keys it has seen stored, so two "processes"
    engines = [make_engine(database_url), make_engine(database_url)]
    first, second = (SqlUnitOfWork(session_factory(e)) for e in engines)

    def the_other_process() -> str:
        with second:
            register_signing_key(second, signer, NOW)
            second.commit()
        return "committed"

    try:
        with first, ThreadPoolExecutor(max_workers=1) as pool:
            register_signing_key(first, signer, NOW)  # inserted, not committed yet
            outcome = pool.submit(the_other_process)
            time.sleep(0.3)  # it waits on our uncommitted key (PostgreSQL) or on the write lock
            first.commit()
            assert outcome.result(timeout=30) == "committed"
        with SqlUnitOfWork(session_factory(engines[0])) as uow:
            stored = uow.ondemand.signing_key(signer.key_id)
            assert stored is not None
            assert stored.first_used_at == NOW
    finally:
        for engine in engines:
            engine.dispose()
