from __future__ import annotations

import email
import email.policy
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flowyard_http_testkit import make_pki

from flowyard.processors.put_email import BODY_SEPARATOR, PutEmail
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Recorder:
    """An aiosmtpd handler keeping every e-mail; refuses recipients in ``refuse``."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


class _Controller(Controller):
    """aiosmtpd's Controller on port 0: its readiness check needs the real port."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alice", b"s3cret")
    return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    port: int
    recorder: Recorder


@pytest.fixture
def smtp() -> Iterator[Server]:
    recorder = Recorder()
    controller = _Controller(recorder, hostname="127.0.0.1", port=0, authenticator=_authenticate,
                             auth_require_tls=False)
    controller.start()
    try:
        yield Server(controller.port, recorder)
    finally:
        controller.stop()


def runner(port: int, properties: Mapping[str, str] | None = None, **kwargs: Any) -> ProcessorRunner:
    r = ProcessorRunner(PutEmail, **kwargs)
    r.set_property("SMTP Hostname", "127.0.0.1")
    r.set_property("SMTP Port", str(port))
    r.set_property("From", "flowyard@example.com")
    r.set_property("To", "ops@example.com")
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def test_sends_the_message_property(smtp: Server) -> None:
    r = runner(smtp.port, {"Message": "Hello", "Subject": "Greetings"})
    r.enqueue(b"content", {"filename": "a.txt"})
    r.run()
    r.assert_all_transferred("success", 1)
    (mail,) = smtp.recorder.received
    assert mail.sender == "flowyard@example.com"
    assert mail.recipients == ["ops@example.com"]
    assert mail.message["Subject"] == "Greetings"
    assert mail.message["X-Mailer"] == "NiFi"
    assert mail.message["To"] == "ops@example.com"
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content().strip() == "Hello"
    (event,) = r.provenance_events(ProvenanceEventType.SEND)
    assert event.transit_uri == "mailto:ops@example.com"


def test_content_as_message_with_a_character_set_and_html(smtp: Server) -> None:
    r = runner(smtp.port, {"FlowFile Content as Message": "true", "Input Character Set": "ISO-8859-1",
                           "Content Type": "text/html", "Message": "ignored"})
    r.enqueue("<b>Grüße</b>".encode("iso-8859-1"))
    r.run()
    (mail,) = smtp.recorder.received
    assert mail.message.get_content_type() == "text/html"
    assert mail.message.get_content_charset() == "iso8859-1"
    assert mail.message.get_content() == "<b>Grüße</b>"


def test_cc_bcc_reply_to_and_multiple_addresses(smtp: Server) -> None:
    r = runner(smtp.port, {"To": "A <a@example.com>, b@example.com", "CC": "c@example.com", "BCC": "d@example.com",
                           "Reply-To": "noreply@example.com", "Message": "x"})
    r.enqueue(b"")
    r.run()
    (mail,) = smtp.recorder.received
    assert mail.recipients == ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]
    assert mail.message["Cc"] == "c@example.com"
    assert mail.message["Bcc"] is None
    assert mail.message["Reply-To"] == "noreply@example.com"
    assert r.provenance_events(ProvenanceEventType.SEND)[0].transit_uri == "mailto:a@example.com"


def test_only_bcc_is_enough(smtp: Server) -> None:
    r = runner(smtp.port, {"BCC": "hidden@example.com"})
    r.remove_property("To")
    r.enqueue(b"")
    r.run()
    assert smtp.recorder.received[0].recipients == ["hidden@example.com"]


def test_attach_file(smtp: Server) -> None:
    data = bytes(range(256))
    r = runner(smtp.port, {"Attach File": "true", "Message": "see attached"})
    r.enqueue(data, {"filename": "blob.bin"})
    r.run()
    (mail,) = smtp.recorder.received
    assert mail.message.get_content_type() == "multipart/mixed"
    text, attachment = list(mail.message.iter_parts())
    assert isinstance(text, EmailMessage) and isinstance(attachment, EmailMessage)
    assert text.get_content().strip() == "see attached"
    assert attachment.get_filename() == "blob.bin"
    assert attachment.get_content_type() == "application/octet-stream"
    assert attachment.get_content() == data


def test_include_all_attributes(smtp: Server) -> None:
    r = runner(smtp.port, {"Include All Attributes In Message": "true", "Message": "body"})
    r.enqueue(b"12345", {"color": "blue"})
    r.run()
    text = smtp.recorder.received[0].message.get_content()
    assert text.startswith("body" + BODY_SEPARATOR + "\nStandard FlowFile Metadata:\n\tid = '")
    assert "\n\tfileSize = '5'" in text
    assert "\nFlowFile Attributes:" in text and "\n\tcolor = 'blue'" in text


def test_attributes_as_headers_and_expressions(smtp: Server, evaluator: Any) -> None:
    r = runner(smtp.port, {"Attributes to Send as Headers Regular Expression": "x-.*", "Subject": "About ${name}",
                           "To": "${who}"}, evaluator=evaluator)
    r.enqueue(b"", {"x-ticket": "T-1", "name": "Zoë", "who": "z@example.com", "other": "no"})
    r.run()
    (mail,) = smtp.recorder.received
    assert mail.message["x-ticket"] == "T-1"
    assert mail.message["other"] is None
    assert mail.message["Subject"] == "About Zoë"
    assert mail.recipients == ["z@example.com"]


def test_login_when_auth_and_username(smtp: Server) -> None:
    r = runner(smtp.port, {"SMTP Username": "alice", "SMTP Password": "s3cret"})
    r.enqueue(b"")
    r.run()
    r.assert_all_transferred("success", 1)


def test_wrong_password_goes_to_failure_and_yields(smtp: Server) -> None:
    r = runner(smtp.port, {"SMTP Username": "alice", "SMTP Password": "wrong"})
    r.enqueue(b"")
    r.run()
    r.assert_all_transferred("failure", 1)
    assert not r.flowfiles_for("failure")[0].is_penalized(r.clock())
    assert r.yield_count == 1
    assert smtp.recorder.received == []


@pytest.mark.parametrize(("sendpartial", "relationship", "delivered"), [(None, "failure", 0), ("true", "success", 1)])
def test_refused_recipient(smtp: Server, sendpartial: str | None, relationship: str, delivered: int) -> None:
    smtp.recorder.refuse.add("nobody@example.com")
    r = runner(smtp.port, {"To": "ops@example.com, nobody@example.com"})
    if sendpartial:
        r.set_property("mail.smtp.sendpartial", sendpartial)
    r.enqueue(b"")
    r.run()
    r.assert_all_transferred(relationship, 1)
    assert len(smtp.recorder.received) == delivered


@pytest.mark.parametrize(
    ("properties", "attributes"),
    [
        ({"From": "${nothing}"}, {}),  # evaluates to empty
        ({"To": "not an address"}, {}),
        ({"To": "${who}"}, {"who": ""}),
    ],
)
def test_bad_addresses_go_to_failure(smtp: Server, evaluator: Any, properties: Mapping[str, str],
                                     attributes: Mapping[str, str]) -> None:
    r = runner(smtp.port, properties, evaluator=evaluator)
    r.enqueue(b"", attributes)
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.bulletins


def test_connection_refused_goes_to_failure() -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = runner(port)
    r.enqueue(b"")
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.yield_count == 1


def test_start_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(str(pki.server_pem))
    recorder = Recorder()
    controller = _Controller(recorder, hostname="127.0.0.1", port=0, tls_context=tls, require_starttls=True)
    controller.start()
    try:
        r = runner(controller.port, {"SMTP START TLS": "true", "mail.smtp.ssl.trust": "*"})
        r.enqueue(b"")
        r.run()
        r.assert_all_transferred("success", 1)
        plain = runner(controller.port)  # the server requires STARTTLS
        plain.enqueue(b"")
        plain.run()
        plain.assert_all_transferred("failure", 1)
        untrusted = runner(controller.port, {"SMTP START TLS": "true"})  # the test CA is not trusted
        untrusted.enqueue(b"")
        untrusted.run()
        untrusted.assert_all_transferred("failure", 1)
    finally:
        controller.stop()
    assert len(recorder.received) == 1


@pytest.mark.parametrize(
    ("properties", "valid"),
    [
        ({}, True),
        ({"To": None}, False),
        ({"To": None, "CC": "c@example.com"}, True),
        ({"mail.smtp.timeout": "1000"}, True),
        ({"mail.smtp.host": "other"}, False),
        ({"custom": "x"}, False),
        ({"Authorization Mode": "oauth-based-authorization-mode"}, False),
        ({"SMTP Port": "0"}, False),
        ({"SMTP TLS": "true", "email-ff-content-as-message": "true", "input-character-set": "UTF-8"}, True),
        ({"Input Character Set": "nope"}, False),
    ],
)
def test_validation(properties: Mapping[str, str | None], valid: bool) -> None:
    r = runner(25)
    for name, value in properties.items():
        r.set_property(name, value)
    if valid:
        r.assert_valid()
    else:
        r.assert_not_valid()


def test_line_breaks_in_header_values_cannot_add_headers(smtp: Server, evaluator: Any) -> None:
    r = runner(smtp.port, {"Attributes to Send as Headers Regular Expression": "x-.*", "Subject": "${s}"},
               evaluator=evaluator)
    r.enqueue(b"", {"x-note": "a\r\nBcc: evil@example.com", "s": "two\nlines"})
    r.run()
    r.assert_all_transferred("success", 1)
    (mail,) = smtp.recorder.received
    assert mail.recipients == ["ops@example.com"]
    assert mail.message["x-note"] == "a Bcc: evil@example.com"
    assert mail.message["Subject"] == "two lines"
