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


# -- NiFi's TestPutEmail (a real SMTP server stands in for NiFi's captured Transport.send) -------------------

def nifi_runner(port: int, **properties: str) -> ProcessorRunner:
    """NiFi's setRequiredProperties: two From and two To addresses, X-Mailer TestingNiFi."""
    r = runner(port, {"SMTP X-Mailer Header": "TestingNiFi", "From": "test@apache.org,from@apache.org",
                      "To": "recipient@apache.org,another@apache.org"})
    for name, value in properties.items():
        r.set_property(name.replace("_", " "), value)
    return r


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain", "html")) if message.is_multipart() else message
    assert isinstance(part, EmailMessage)
    return str(part.get_content()).strip()


def test_nifi_exception_when_sending() -> None:
    r = nifi_runner(_closed_port(), Message="Message Body")
    r.set_property("SMTP Hostname", "127.0.0.1")
    r.enqueue(b"Some Text")
    r.run()
    r.assert_queue_empty()
    r.assert_all_transferred("failure", 1)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nifi_outgoing_message(smtp: Server) -> None:
    r = runner(smtp.port, {"SMTP X-Mailer Header": "TestingNiFi", "From": "test@apache.org", "Message": "Message Body",
                           "To": "recipient@apache.org", "Input Character Set": "UTF-8"})
    r.enqueue(b"Some Text")
    r.run()
    r.assert_queue_empty()
    r.assert_all_transferred("success", 1)
    (mail,) = smtp.recorder.received
    assert mail.message["From"] == "test@apache.org"
    assert mail.message["X-Mailer"] == "TestingNiFi"
    assert _text(mail.message) == "Message Body"
    assert mail.message["To"] == "recipient@apache.org"
    assert mail.message["Cc"] is None and mail.message["Bcc"] is None


def test_nifi_outgoing_message_with_optional_properties(smtp: Server) -> None:
    r = runner(smtp.port, {"SMTP X-Mailer Header": "TestingN\u00edFiNonASCII", "From": "${from}",
                           "Message": "${message}", "To": "${to}", "BCC": "${bcc}", "CC": "${cc}",
                           "Reply-To": "${reply-to}",
                           "Attributes to Send as Headers Regular Expression": "Precedence.*",
                           "Input Character Set": "UTF-8"})
    r.enqueue(b"Some Text", {"from": "NiFi <test@apache.org>", "message": "the message body", "to": "to@apache.org",
                             "bcc": "bcc@apache.org", "cc": "cc@apache.org", "reply-to": "replytome@apache.org",
                             "Precedence": "bulk", "PrecedenceEncodeDecodeTest": "b\u00falk"})
    r.run()
    r.assert_all_transferred("success", 1)
    (mail,) = smtp.recorder.received
    assert str(mail.message["From"]) == "NiFi <test@apache.org>"
    assert mail.message["X-Mailer"] == "TestingN\u00edFiNonASCII"  # encoded on the wire, decoded here
    assert _text(mail.message) == "the message body"
    assert mail.message["To"] == "to@apache.org"
    assert mail.message["Cc"] == "cc@apache.org"
    assert mail.message["Reply-To"] == "replytome@apache.org"
    assert sorted(mail.recipients) == ["bcc@apache.org", "cc@apache.org", "to@apache.org"]
    assert mail.message["Precedence"] == "bulk"
    assert mail.message["PrecedenceEncodeDecodeTest"] == "b\u00falk"


@pytest.mark.parametrize("sender", ["test@apache.org <invalid", "${MISSING_PROPERTY}"])
def test_nifi_invalid_or_empty_from_goes_to_failure(smtp: Server, sender: str) -> None:
    r = nifi_runner(smtp.port, From=sender, Message="Message Body")
    r.enqueue(b"Some Text")
    r.run()
    r.assert_queue_empty()
    r.assert_all_transferred("failure", 1)
    assert smtp.recorder.received == []
    assert any(level == "ERROR" for level, _ in r.bulletins)


def test_nifi_outgoing_message_attachment(smtp: Server) -> None:
    r = nifi_runner(smtp.port, Message="Message Body", Attach_File="true", Content_Type="text/html",
                    To="recipient@apache.org", Input_Character_Set="UTF-8")
    name = "test\ud55c\u7684\u307b\u0443\u0301.pdf"
    r.enqueue(b"Some text", {"filename": name, "mime.type": "application/pdf"})
    r.run()
    r.assert_all_transferred("success", 1)
    (mail,) = smtp.recorder.received
    assert mail.message.is_multipart()
    assert mail.message["X-Mailer"] == "TestingNiFi"
    assert mail.message["To"] == "recipient@apache.org"
    assert _text(mail.message) == "Message Body"
    (attachment,) = list(mail.message.iter_attachments())
    assert attachment.get_filename() == name
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == b"Some text"
    assert mail.message["Cc"] is None and mail.message["Bcc"] is None


def test_nifi_outgoing_message_with_flowfile_content(smtp: Server) -> None:
    r = nifi_runner(smtp.port, Message="${body}", CC="recipientcc@apache.org,anothercc@apache.org",
                    BCC="recipientbcc@apache.org,anotherbcc@apache.org",
                    FlowFile_Content_as_Message="${sendContent}", Input_Character_Set="UTF-8")
    r.enqueue(b"Some Text", {"sendContent": "true", "body": "Message Body"})
    r.run()
    r.assert_all_transferred("success", 1)
    (mail,) = smtp.recorder.received
    assert [a.addr_spec for a in mail.message["From"].addresses] == ["test@apache.org", "from@apache.org"]
    assert mail.message["X-Mailer"] == "TestingNiFi"
    assert _text(mail.message) == "Some Text"
    assert [a.addr_spec for a in mail.message["To"].addresses] == ["recipient@apache.org", "another@apache.org"]
    assert [a.addr_spec for a in mail.message["Cc"].addresses] == ["recipientcc@apache.org", "anothercc@apache.org"]
    assert mail.recipients == ["recipient@apache.org", "another@apache.org", "recipientcc@apache.org",
                               "anothercc@apache.org", "recipientbcc@apache.org", "anotherbcc@apache.org"]


@pytest.mark.parametrize(
    ("name", "valid"),
    [("mail.smtp.timeout", True), ("mail.smtps.timeout", True), ("mail.smtp.user", False)],
)
def test_nifi_dynamic_mail_properties(name: str, valid: bool) -> None:
    r = nifi_runner(25, Message="${body}", FlowFile_Content_as_Message="${sendContent}")
    r.set_property(name, "sample dynamic property")
    if valid:
        r.assert_valid()
    else:
        r.assert_not_valid()


def test_nifi_unrecognized_charset() -> None:
    r = runner(25, {"SMTP X-Mailer Header": "TestingNiFi", "Message": "test message",
                    "Input Character Set": "NOT A CHARACTER SET"})
    r.assert_not_valid()


def test_nifi_mismatched_charset(smtp: Server) -> None:
    raw = "Softw\u00c4r\u00eb \u00cbngin\u00eb\u00ebr \u00d6n NiFi"
    garbled = raw.encode("utf-8").decode("ascii", "replace")  # the UTF-8 bytes read as US-ASCII
    r = runner(smtp.port, {"SMTP X-Mailer Header": "TestingNiFi", "Message": garbled, "Input Character Set": "UTF-8"})
    r.enqueue(b"Some Text")
    r.run()
    r.assert_all_transferred("success", 1)
    (mail,) = smtp.recorder.received
    assert _text(mail.message) != raw



@pytest.mark.parametrize("port", ["1" + "0" * 30, "70000", "0"])
def test_an_smtp_port_out_of_range_from_an_expression_goes_to_failure(port: str) -> None:
    r = runner(25, {"SMTP Port": "${port}", "Message": "m"})
    r.enqueue(b"", {"port": port})
    r.run()
    assert not r.errors
    r.assert_all_transferred("failure", 1)
    assert any("SMTP Port" in message for _, message in r.bulletins)
