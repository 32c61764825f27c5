"""The notification adapters: e-mail senders (console, ``.eml`` files, SMTP) and the HTTP webhook
sender. They do I/O and nothing else: what to send, to whom and when is decided by the services."""

from polis.notify.mail import (
    ConsoleMailSender,
    FileMailSender,
    MailSender,
    SmtpMailSender,
    mail_sender_from_settings,
)
from polis.notify.webhooks import HttpWebhookSender, webhook_sender_from_settings

__all__ = [
    "ConsoleMailSender",
    "FileMailSender",
    "HttpWebhookSender",
    "MailSender",
    "SmtpMailSender",
    "mail_sender_from_settings",
    "webhook_sender_from_settings",
]
