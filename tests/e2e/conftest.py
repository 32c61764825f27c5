"""End-to-end fixtures: the real app on a migrated database, real clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from polis.api import create_app
from polis.config import Settings
from tests.e2e.accounts import Account, new_account


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, log_format="console")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def account(database_url: str) -> Account:
    return new_account(database_url)


@pytest.fixture
def other_account(database_url: str) -> Account:
    return new_account(database_url)
