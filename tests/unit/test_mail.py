"""The e-mail senders: .eml files written atomically, console output, SMTP to a local fake server,
and the choice of backend from the settings."""

from __future__ import annotations

import email
import email.policy
import io
import os
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from polis.config import Settings
from polis.kernel.errors import InvalidInput
from polis.notify.mail import (
    ConsoleMailSender,
    FileMailSender,
    SmtpMailSender,
    mail_sender_from_settings,
)

TO = "Camille Martin <camille@example.fr>"


def _parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_file_backend_writes_a_parseable_eml(tmp_path: Path) -> None:
    sender = FileMailSender(tmp_path / "mail", sender="Polis <no-reply@polis.example>")
    path = sender.write(
        TO,
        "Votre mission commence bientôt",
        "Bonjour,\nvotre mission commence à 14 h sans couverture.\n",
        html="<p>Bonjour, votre mission commence à <b>14 h</b>.</p>",
    )
    assert path.parent == tmp_path / "mail"
    assert path.suffix == ".eml"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    message = _parse(path.read_bytes())
    assert message["To"] == TO
    assert message["From"] == "Polis <no-reply@polis.example>"
    assert message["Subject"] == "Votre mission commence bientôt"
    assert message["Message-ID"].endswith("@polis.example>")
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "commence à 14 h" in text.get_content()
    assert "<b>14 h</b>" in html.get_content()


def test_the_file_backend_send_writes_one_file_per_message(tmp_path: Path) -> None:
    sender = FileMailSender(tmp_path)
    sender.send("a@example.fr", "one", "1")
    sender.send("b@example.fr", "two", "2")
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    subjects = {_parse(f.read_bytes())["Subject"] for f in files}
    assert subjects == {"one", "two"}
    assert _parse(files[0].read_bytes()).get_content_type() == "text/plain"


def test_a_failed_write_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        FileMailSender(tmp_path).send("a@example.fr", "s", "t")
    assert list(tmp_path.iterdir()) == []


def test_the_file_is_renamed_into_place_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bytes]] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append((Path(src).name, Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    path = FileMailSender(tmp_path).write("a@example.fr", "s", "body")
    [(temporary, content)] = seen
    assert temporary.startswith(".")
    assert temporary.endswith(".tmp")
    assert path.read_bytes() == content


def test_the_console_backend_prints_the_message() -> None:
    stream = io.StringIO()
    ConsoleMailSender(stream).send(TO, "Rappel", "Votre mission commence bientôt.")
    printed = stream.getvalue()
    assert "e-mail to Camille Martin <camille@example.fr>" in printed
    assert "Subject: Rappel" in printed
    assert "end of e-mail" in printed


def test_the_console_backend_prints_to_standard_output_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ConsoleMailSender().send("a@example.fr", "Hello", "World")
    assert "Subject: Hello" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("to", "subject", "field"),
    [
        ("not an address", "s", "to"),
        ("a@example.fr\r\nBcc: b@example.fr", "s", "to"),
        ("", "s", "to"),
        ("a@example.fr", "two\nlines", "subject"),
    ],
)
def test_bad_addresses_and_subjects_are_refused(to: str, subject: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ConsoleMailSender(io.StringIO()).send(to, subject, "t")
    assert caught.value.field == field


# --- SMTP against a minimal local server ---------------------------------------------------------


class FakeSmtp:
    """Just enough SMTP (no TLS, no auth) to receive one message per connection."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self._stop = threading.Event()
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            connection.settimeout(5)
            with connection, connection.makefile("rwb") as stream:
                self._session(stream)

    def _session(self, stream: io.BufferedRWPair) -> None:
        def reply(line: str) -> None:
            stream.write(line.encode() + b"\r\n")
            stream.flush()

        reply("220 fake ESMTP")
        sender, recipients = "", []
        while line := stream.readline():
            command = line.decode().strip()
            verb = command.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                reply("250 fake")
            elif verb == "MAIL":
                sender = command.partition(":")[2]
                reply("250 ok")
            elif verb == "RCPT":
                recipients.append(command.partition(":")[2])
                reply("250 ok")
            elif verb == "DATA":
                reply("354 go ahead")
                data = b""
                while (chunk := stream.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.messages.append(data)
                self.envelopes.append((sender, recipients))
                reply("250 queued")
            elif verb == "QUIT":
                reply("221 bye")
                return
            else:
                reply("250 ok")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    server = FakeSmtp()
    yield server
    server.close()


def test_the_smtp_backend_sends_through_the_server(smtp_server: FakeSmtp) -> None:
    sender = SmtpMailSender(
        "127.0.0.1", smtp_server.port, security="none", timeout=5, sender="polis@example.fr"
    )
    sender.send(TO, "Rappel de mission", "Votre mission commence bientôt.", html="<p>Bientôt</p>")
    [data] = smtp_server.messages
    message = _parse(data)
    assert message["Subject"] == "Rappel de mission"
    assert message["To"] == TO
    [(envelope_from, envelope_to)] = smtp_server.envelopes
    assert "polis@example.fr" in envelope_from
    assert envelope_to == ["<camille@example.fr>"]


# --- choosing the backend ------------------------------------------------------------------------


def test_the_file_backend_is_the_default_and_writes_under_var(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, _env_file=None)
    sender = mail_sender_from_settings(settings)
    assert isinstance(sender, FileMailSender)
    assert sender.directory == tmp_path / "mail"
    custom = Settings(mail_dir=tmp_path / "out", _env_file=None)
    chosen = mail_sender_from_settings(custom)
    assert isinstance(chosen, FileMailSender)
    assert chosen.directory == tmp_path / "out"


def test_console_and_smtp_backends_are_chosen_by_the_settings() -> None:
    console = Settings(mail_backend="console", _env_file=None)
    assert isinstance(mail_sender_from_settings(console), ConsoleMailSender)
    smtp = Settings(
        mail_backend="smtp",
        smtp_host="smtp.example.fr",
        smtp_port=465,
        smtp_security="ssl",
        smtp_username="polis",
        smtp_password="secret",
        _env_file=None,
    )
    sender = mail_sender_from_settings(smtp)
    assert isinstance(sender, SmtpMailSender)
    assert (sender.host, sender.port, sender.security) == ("smtp.example.fr", 465, "ssl")


def test_the_smtp_backend_needs_a_host() -> None:
    settings = Settings(mail_backend="smtp", _env_file=None)
    with pytest.raises(InvalidInput) as caught:
        mail_sender_from_settings(settings)
    assert caught.value.field == "smtp_host"
