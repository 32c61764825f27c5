"""E-mail senders behind one small protocol, chosen by ``POLIS_MAIL_BACKEND``.

- ``console``: the message is printed (standard output) — for a quick look while developing;
- ``file`` (the default): each message is written as an ``.eml`` file under ``POLIS_MAIL_DIR``
  (``<var_dir>/mail``), atomically (a temporary file in the same directory, flushed, then renamed),
  so a reader never sees half a message; open it with any mail client;
- ``smtp``: sent through ``POLIS_SMTP_HOST`` (STARTTLS by default, implicit TLS or none) with the
  standard library's ``smtplib``.

Messages are UTF-8, plain text with an optional HTML alternative. Addresses and subjects are checked
(no line breaks: no header injection).
"""

from __future__ import annotations

import os
import smtplib
import ssl
import sys
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol, TextIO

from polis.config import Settings
from polis.kernel.errors import InvalidInput

__all__ = [
    "ConsoleMailSender",
    "FileMailSender",
    "MailSender",
    "SmtpMailSender",
    "build_message",
    "mail_sender_from_settings",
]

DEFAULT_FROM = "Polis <no-reply@localhost>"


class MailSender(Protocol):
    """Sends one e-mail; raises on failure (the caller decides whether to retry)."""

    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None: ...


def build_message(
    sender: str, to: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """A MIME message (``multipart/alternative`` when ``html`` is given), addresses checked."""
    _check_address(to, "to")
    _check_address(sender, "mail_from")
    if "\r" in subject or "\n" in subject:
        raise InvalidInput("a subject is one line", field="subject")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _check_address(value: str, field: str) -> None:
    address = parseaddr(value)[1]
    local, at, domain = address.rpartition("@")
    if "\r" in value or "\n" in value or not (local and at and domain) or " " in address:
        raise InvalidInput(f"not an e-mail address: {value!r}", field=field)


class ConsoleMailSender:
    """Prints each message (headers and body) to ``stream`` (standard output by default)."""

    def __init__(self, stream: TextIO | None = None, *, sender: str = DEFAULT_FROM) -> None:
        self._stream = stream
        self._sender = sender

    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        message = build_message(self._sender, to, subject, text, html)
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(f"----- e-mail to {to} -----\n")
        stream.write(message.as_string())
        stream.write("\n----- end of e-mail -----\n")
        stream.flush()


class FileMailSender:
    """Writes each message to ``<directory>/<UTC time>-<random>.eml``, atomically."""

    def __init__(self, directory: Path, *, sender: str = DEFAULT_FROM) -> None:
        self.directory = directory
        self._sender = sender

    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        self.write(to, subject, text, html)

    def write(self, to: str, subject: str, text: str, html: str | None = None) -> Path:
        """Send, and return the path of the ``.eml`` file."""
        message = build_message(self._sender, to, subject, text, html)
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        temporary = self.directory / f".{path.name}.tmp"
        try:
            with temporary.open("wb") as file:
                file.write(message.as_bytes())
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        return path


class SmtpMailSender:
    """Sends through an SMTP server (``smtplib``), one connection per message."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        username: str | None = None,
        password: str | None = None,
        security: Literal["starttls", "ssl", "none"] = "starttls",
        timeout: float = 10.0,
        sender: str = DEFAULT_FROM,
    ) -> None:
        self.host = host
        self.port = port
        self._username = username
        self._password = password
        self.security = security
        self.timeout = timeout
        self._sender = sender

    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        message = build_message(self._sender, to, subject, text, html)
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self._username:
                client.login(self._username, self._password or "")
            client.send_message(message)


def mail_sender_from_settings(settings: Settings) -> MailSender:
    """The sender ``settings.mail_backend`` names."""
    if settings.mail_backend == "console":
        return ConsoleMailSender(sender=settings.mail_from)
    if settings.mail_backend == "file":
        return FileMailSender(settings.mail_root, sender=settings.mail_from)
    if not settings.smtp_host:
        raise InvalidInput("POLIS_SMTP_HOST is required for the smtp backend", field="smtp_host")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpMailSender(
        settings.smtp_host,
        settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        security=settings.smtp_security,
        timeout=settings.smtp_timeout_seconds,
        sender=settings.mail_from,
    )
