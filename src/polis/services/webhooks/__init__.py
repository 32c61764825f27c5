"""Signed webhooks: endpoints, the fan-out of outbox events, delivery with retries, replay.

How an event reaches a partner (``docs/webhooks.md``):

1. a use case writes the event to the outbox with its change (``polis.services.outbox.publish``);
2. :func:`deliver_due` (run by ``polis webhooks deliver`` or by the server's background task)
   first *fans out* unpublished events: one ``webhook_deliveries`` row per active endpoint of the
   event's tenant whose filter matches (``unique(endpoint_id, event_id)``: never two), and marks the
   event published — both in one transaction, claimed with ``UPDATE … WHERE published_at IS NULL``
   (rows locked by another worker are skipped on PostgreSQL);
3. then it posts the *due* deliveries: each is claimed first by a conditional update that moves its
   ``next_attempt_at`` to the end of a lease, so two workers never post the same attempt; the POST
   happens outside any transaction; the outcome is written back: 2xx → ``delivered``; anything
   else → ``failed`` with ``next_attempt_at = now + backoff(attempts)``, or ``dead`` after
   ``max_attempts``. A worker that dies mid-POST leaves the lease to expire and the attempt is made
   again: delivery is *at least once*, and receivers deduplicate on ``Polis-Event-Id``.

**No private addresses** (:mod:`polis.kernel.net`, against server-side request forgery): a URL
whose host is or resolves to a loopback, private, link-local, multicast, reserved or unspecified
address is refused at registration (``webhook.url_refused``), and the sender checks the address it
connects to again right before each POST (DNS rebinding); a delivery refused there raises
:class:`~polis.kernel.net.AddressRefused` and is made ``dead`` at once with the reason, never
retried. ``allow_private`` (``POLIS_WEBHOOKS_ALLOW_PRIVATE``) is for local development.

Every POST carries the JSON body ``{"id", "type", "created_at", "tenant", "data"}`` and the
headers ``Polis-Event-Id``, ``Polis-Event-Type``, ``Polis-Delivery-Id``, ``Polis-Timestamp`` and
``Polis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
:func:`verify_signature` is the receiver's check.

The endpoint's secret (``whsec_…``) is kept as is in the database — it is needed to sign each
delivery, so a one-way hash cannot do — and is returned once, by :func:`register_endpoint`.

The package:

| module | what |
|---|---|
| :mod:`.signing` | the signature, :func:`verify_signature`, the POST body and headers |
| :mod:`.retry` | :class:`RetryPolicy` and :func:`backoff` |
| :mod:`.filters` | endpoint event filters: :func:`matches` |
| :mod:`.views` | what the use cases return |
| :mod:`.endpoints` | register, list, get, delete endpoints; read their deliveries |
| :mod:`.replay` | queue deliveries again |
| :mod:`.delivery` | the worker: :func:`fan_out`, :func:`deliver_due`, :class:`Worker` |
| :mod:`.common` | shared: a new delivery row, loading an endpoint or a delivery |
"""

from polis.services.webhooks.delivery import (
    DeliveryReport,
    WebhookSender,
    Worker,
    deliver_due,
    fan_out,
)
from polis.services.webhooks.endpoints import (
    delete_endpoint,
    get_delivery,
    get_endpoint,
    list_deliveries,
    list_endpoints,
    register_endpoint,
)
from polis.services.webhooks.filters import matches
from polis.services.webhooks.replay import replay_delivery, replay_since
from polis.services.webhooks.retry import RetryPolicy, backoff
from polis.services.webhooks.signing import (
    SIGNATURE_HEADER,
    event_body,
    sign,
    signature_header,
    signed_headers,
    verify_signature,
)
from polis.services.webhooks.views import (
    DELIVERY_STATUSES,
    CreatedEndpoint,
    DeliveryStatus,
    DeliveryView,
    EndpointView,
    ReplayReport,
)

__all__ = [
    "DELIVERY_STATUSES",
    "SIGNATURE_HEADER",
    "CreatedEndpoint",
    "DeliveryReport",
    "DeliveryStatus",
    "DeliveryView",
    "EndpointView",
    "ReplayReport",
    "RetryPolicy",
    "WebhookSender",
    "Worker",
    "backoff",
    "delete_endpoint",
    "deliver_due",
    "event_body",
    "fan_out",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "matches",
    "register_endpoint",
    "replay_delivery",
    "replay_since",
    "sign",
    "signature_header",
    "signed_headers",
    "verify_signature",
]
