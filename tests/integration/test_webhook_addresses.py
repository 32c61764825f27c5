"""Webhooks never reach private addresses (server-side request forgery, ``docs/webhooks.md``): a
URL whose host is or resolves to a loopback, private, link-local… address is refused at
registration, and the address is checked again right before each POST — the connection goes to
the address checked, so a name that rebinds to ``127.0.0.1`` after registration is refused at
delivery, recorded as a final failure, and never retried."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.test_outbox_webhooks import Receiver

from polis.kernel.errors import InvalidInput
from polis.kernel.net import Resolver
from polis.kernel.time import utc_now
from polis.notify.webhooks import HttpWebhookSender
from polis.services import outbox, tenants, webhooks
from polis.store import SqlUnitOfWork

pytestmark = pytest.mark.db

PUBLIC = "93.184.216.34"


def resolver(addresses: Sequence[str]) -> Resolver:
    """Every name resolves to ``addresses`` (a DNS server under the test's control)."""
    return lambda host: addresses


@pytest.fixture
def tenant_id(uow: SqlUnitOfWork, unique_name: Callable[[str], str]) -> str:
    return tenants.create_tenant(uow, unique_name("tenant"), actor="test").id


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "https://192.168.1.20/hook",
        "http://2130706433/hook",
        "http://0x7f.0.0.1/hook",
        "http://017700000001/hook",
    ],
)
def test_a_url_on_a_private_or_local_address_is_refused_at_registration(
    uow: SqlUnitOfWork, tenant_id: str, url: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        webhooks.register_endpoint(uow, tenant_id, url=url, actor="test")
    assert (refused.value.code, refused.value.field) == ("webhook.url_refused", "url")
    allowed = webhooks.register_endpoint(uow, tenant_id, url=url, actor="test", allow_private=True)
    assert allowed.url == url


def test_a_name_resolving_to_a_private_address_is_refused_and_a_public_one_accepted(
    uow: SqlUnitOfWork, tenant_id: str
) -> None:
    url = "https://hooks.partner.example/polis"
    with pytest.raises(InvalidInput) as refused:
        webhooks.register_endpoint(
            uow, tenant_id, url=url, actor="test", resolver=resolver([PUBLIC, "10.1.2.3"])
        )
    assert "10.1.2.3" in refused.value.message
    created = webhooks.register_endpoint(
        uow, tenant_id, url=url, actor="test", resolver=resolver([PUBLIC])
    )
    assert created.url == url


def test_a_name_that_rebinds_to_loopback_is_refused_at_delivery_and_never_retried(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    port = receiver.server.server_address[1]
    url = f"http://hooks.partner.example:{port}{receiver.path}"
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=url, actor="test", resolver=resolver([PUBLIC])
    )
    with uow:
        outbox.publish(uow, tenant_id=tenant_id, event_type="window.activated", payload={})
        uow.commit()
    rebound = HttpWebhookSender(timeout=5, resolver=resolver(["127.0.0.1"]))
    now = utc_now()
    webhooks.deliver_due(lambda: SqlUnitOfWork(factory), rebound, now=now, limit=1000)
    [delivery] = webhooks.list_deliveries(uow, tenant_id, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("dead", 1, None)
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("address refused, not retried:")
    assert "127.0.0.1" in delivery.last_error
    assert receiver.requests == []
    later = webhooks.deliver_due(lambda: SqlUnitOfWork(factory), rebound, now=now, limit=1000)
    assert delivery.id not in [d for d, _ in later.outcomes]


def test_the_post_goes_to_the_address_checked_with_the_url_host_name(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    port = receiver.server.server_address[1]
    url = f"http://receiver.test:{port}{receiver.path}"
    endpoint = webhooks.register_endpoint(uow, tenant_id, url=url, actor="test", allow_private=True)
    with uow:
        outbox.publish(uow, tenant_id=tenant_id, event_type="window.activated", payload={})
        uow.commit()
    local = HttpWebhookSender(timeout=5, allow_private=True, resolver=resolver(["127.0.0.1"]))
    webhooks.deliver_due(lambda: SqlUnitOfWork(factory), local, now=utc_now(), limit=1000)
    [delivery] = webhooks.list_deliveries(uow, tenant_id, endpoint.id)
    assert delivery.status == "delivered"
    [received] = receiver.requests
    assert received.headers["Host"] == f"receiver.test:{port}"


def test_a_name_that_does_not_resolve_is_an_ordinary_failed_attempt(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str
) -> None:
    url = "https://gone.partner.example/hook"  # accepted: it may not be in the DNS yet
    endpoint = webhooks.register_endpoint(uow, tenant_id, url=url, actor="test")
    with uow:
        outbox.publish(uow, tenant_id=tenant_id, event_type="window.activated", payload={})
        uow.commit()
    webhooks.deliver_due(
        lambda: SqlUnitOfWork(factory), HttpWebhookSender(timeout=5), now=utc_now(), limit=1000
    )
    [delivery] = webhooks.list_deliveries(uow, tenant_id, endpoint.id)
    assert delivery.status == "failed"
    assert delivery.last_error is not None
    assert "HostUnresolved" in delivery.last_error
