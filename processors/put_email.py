"""PutEmail: send an e-mail over SMTP for each FlowFile."""

from __future__ import annotations

import codecs
import re
import ssl
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email import encoders
from email.errors import MessageError
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, getaddresses

from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["BODY_SEPARATOR", "PutEmail"]

PASSWORD_MODE = "password-based-authorization-mode"
OAUTH_MODE = "oauth-based-authorization-mode"
SSL_SOCKET_FACTORY = "javax.net.ssl.SSLSocketFactory"
#: The port of SMTP over implicit TLS (SMTPS).
SMTPS_PORT = 465
_DEFAULT_TIMEOUT = 30.0
BODY_SEPARATOR = "\n\n--------------------------------------------------\n"
"""What separates the message from the attribute listing (NiFi's)."""

_MAIL_PROPERTY = re.compile(r"mail\.smtps?\..+")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n]")
#: What RFC 5322 allows as a header field name (printable ASCII but ':').
_HEADER_NAME = re.compile(r"[!-9;-~]+")
#: JavaMail properties PutEmail sets from its own properties: dynamic ones may not override them.
_STANDARD_MAIL_PROPERTIES = frozenset({
    "mail.smtp.host", "mail.smtp.port", "mail.smtp.socketFactory.port", "mail.smtp.socketFactory.class",
    "mail.smtp.auth", "mail.smtp.starttls.enable", "mail.smtp.user", "mail.smtp.password",
})

SUCCESS = Relationship("success", "FlowFiles whose email was sent.")
FAILURE = Relationship("failure", "FlowFiles whose email could not be built or sent.")

_FF = ExpressionScope.FLOWFILE_ATTRIBUTES


SMTP_HOSTNAME = PropertySpec(key="smtp-hostname", display_name="SMTP Hostname",
                             description="The host name of the SMTP server.", required=True,
                             validator=validators.NON_EMPTY, expression_scope=_FF)
SMTP_PORT = PropertySpec(key="smtp-port", display_name="SMTP Port",
                         description="The SMTP server's port (465: implicit TLS, see SMTP Socket Factory).",
                         required=True, default="25", validator=validators.PORT, expression_scope=_FF)
AUTHORIZATION_MODE = PropertySpec(
    key="authorization-mode", display_name="Authorization Mode",
    description="How the SMTP login is authorized.", required=True, default=PASSWORD_MODE,
    allowed_values=(
        AllowableValue(PASSWORD_MODE, "Use Password", "With SMTP Username and SMTP Password."),
        AllowableValue(OAUTH_MODE, "Use OAuth2", "With a token from an OAuth2 provider (not supported by flowyard "
                                                 "yet)"),
    ),
)
OAUTH2_ACCESS_TOKEN_PROVIDER = PropertySpec(
    key="oauth2-access-token-provider", display_name="OAuth2 Access Token Provider",
    description="The service that supplies OAuth2 access tokens.", required=True,
    dependencies=(PropertyDependency(AUTHORIZATION_MODE.key, (OAUTH_MODE,)),),
    identifies_controller_service="OAuth2AccessTokenProvider",
)
SMTP_USERNAME = PropertySpec(key="smtp-username", display_name="SMTP Username",
                             description="The SMTP login user name.", validator=validators.NON_EMPTY,
                             expression_scope=_FF)
SMTP_PASSWORD = PropertySpec(key="smtp-password", display_name="SMTP Password",
                             description="The SMTP login password.", expression_scope=_FF, sensitive=True,
                             dependencies=(PropertyDependency(AUTHORIZATION_MODE.key, (PASSWORD_MODE,)),))
SMTP_AUTH = PropertySpec(key="smtp-auth", display_name="SMTP Auth",
                         description="Whether to log in to the SMTP server (only done when SMTP Username is set too).",
                         required=True, default="true", validator=validators.BOOLEAN, expression_scope=_FF)
SMTP_START_TLS = PropertySpec(key="smtp-start-tls", display_name="SMTP START TLS",
                              description="Whether to upgrade a plain connection to TLS with the STARTTLS command.",
                              required=True, default="false", validator=validators.BOOLEAN, expression_scope=_FF,
                              aliases=("SMTP TLS",))
SMTP_SOCKET_FACTORY = PropertySpec(
    key="smtp-socket-factory", display_name="SMTP Socket Factory",
    description=(
        "The Java socket factory NiFi would use. With javax.net.ssl.SSLSocketFactory (the default), port 465 is "
        "reached over implicit TLS (SMTPS) and other ports start in plain text (see SMTP START TLS)."
    ),
    required=True, default=SSL_SOCKET_FACTORY, validator=validators.NON_EMPTY, expression_scope=_FF,
)
HEADER_XMAILER = PropertySpec(key="smtp-xmailer-header", display_name="SMTP X-Mailer Header",
                              description="The X-Mailer header of the emails sent.", required=True,
                              default="NiFi", validator=validators.NON_EMPTY, expression_scope=_FF)
ATTRIBUTE_NAME_REGEX = PropertySpec(
    key="attribute-name-regex", display_name="Attributes to Send as Headers Regular Expression",
    description="FlowFile attributes whose names match this regular expression are added to the email as headers. "
                "Unset: no attribute becomes a header.",
    validator=validators.REGEX, aliases=("attribute-name-regex",),
)
CONTENT_TYPE = PropertySpec(key="content-type", display_name="Content Type",
                            description="The MIME type of the email body, e.g. text/plain or text/html.",
                            required=True, default="text/plain", validator=validators.NON_EMPTY, expression_scope=_FF)
FROM = PropertySpec(key="from", display_name="From",
                    description="The sender's address: one or more comma-separated RFC 822 addresses.",
                    required=True, validator=validators.NON_EMPTY, expression_scope=_FF)
TO = PropertySpec(key="to", display_name="To",
                  description="The To recipients: comma-separated RFC 822 addresses.",
                  validator=validators.NON_EMPTY, expression_scope=_FF)
CC = PropertySpec(key="cc", display_name="CC",
                  description="The CC recipients: comma-separated RFC 822 addresses.",
                  validator=validators.NON_EMPTY, expression_scope=_FF)
BCC = PropertySpec(key="bcc", display_name="BCC",
                   description="The BCC recipients: comma-separated RFC 822 addresses.",
                   validator=validators.NON_EMPTY, expression_scope=_FF)
REPLY_TO = PropertySpec(key="reply-to", display_name="Reply-To",
                        description="Optional addresses replies should go to instead of the sender (RFC 2822 §3.6.2), "
                                    "e.g. when sending from a no-reply account: comma-separated RFC 822 addresses.",
                        validator=validators.NON_EMPTY, expression_scope=_FF)
SUBJECT = PropertySpec(key="subject", display_name="Subject", description="The subject of the email.", required=True,
                       default="Message from NiFi", validator=validators.NON_EMPTY, expression_scope=_FF)
MESSAGE = PropertySpec(key="message", display_name="Message", description="The text of the email body.",
                       expression_scope=_FF)
CONTENT_AS_MESSAGE = PropertySpec(
    key="email-ff-content-as-message", display_name="FlowFile Content as Message",
    description="When true, the FlowFile's content is the email body and Message is ignored.",
    required=True, default="false", validator=validators.BOOLEAN, expression_scope=_FF,
)
INPUT_CHARACTER_SET = PropertySpec(
    key="input-character-set", display_name="Input Character Set",
    description="The character set the FlowFile's content is decoded with when it becomes the body or an attachment "
                "(UTF-8 when unset).",
    required=True, default="UTF-8", validator=validators.CHARACTER_SET,
)
ATTACH_FILE = PropertySpec(key="attach-file", display_name="Attach File",
                           description="When true, the FlowFile's content is attached to the email.",
                           required=True, default="false", allowed_values=(AllowableValue("true"),
                                                                           AllowableValue("false")))
INCLUDE_ALL_ATTRIBUTES = PropertySpec(
    key="include-all-attributes", display_name="Include All Attributes In Message",
    description="When true, every FlowFile attribute is listed in the email body.",
    required=True, default="false", allowed_values=(AllowableValue("true"), AllowableValue("false")),
)


class _EmailError(ValueError):
    """A FlowFile that cannot become an e-mail (bad address, empty From...)."""


def _check_mail_property(name: str) -> str | None:
    if not _MAIL_PROPERTY.fullmatch(name):
        return f"[{name}] does not start with mail.smtp"
    if name in _STANDARD_MAIL_PROPERTIES:
        return f"[{name}] overwrites standard properties"
    return None


def _addresses(context: ProcessContext, spec: PropertySpec, attributes: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (name, address) pairs of an address property; raises ``_EmailError`` like NiFi's AddressException."""
    value = context.property(spec).evaluate(attributes).value
    if value is None or value == "":
        if spec.required:
            raise _EmailError(f"Required property '{spec.display_name}' evaluates to an empty string.")
        return []
    parsed = getaddresses([value])
    if not parsed or any(not address or "@" not in address or address.startswith("@") or address.endswith("@")
                         for _, address in parsed):
        raise _EmailError(f"Unable to parse a valid address for property '{spec.display_name}' with value "
                          f"'{value}'")
    return parsed


def _header_value(text: str, charset: str) -> str:
    """``text`` as a header value, RFC 2047-encoded when it is not ASCII. Line
    breaks become spaces (header unfolding), so a value cannot add headers."""
    text = _LINE_BREAKS.sub(" ", text)
    return text if text.isascii() else Header(text, charset).encode()


def _address_header(pairs: list[tuple[str, str]], charset: str) -> str:
    return ", ".join(formataddr((name, address), charset=charset) for name, address in pairs)


def _entry_date(ff: FlowFile) -> str:
    """Java's ``Date.toString()`` of the entry date, in UTC."""
    return datetime.fromtimestamp(ff.entry_date / 1000, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def _format_attributes(ff: FlowFile, message: str) -> str:
    lines = [message, BODY_SEPARATOR, "\nStandard FlowFile Metadata:",
             f"\n\tid = '{ff.attributes.get('uuid', '')}'", f"\n\tentryDate = '{_entry_date(ff)}'",
             f"\n\tfileSize = '{ff.size}'", "\nFlowFile Attributes:"]
    lines += [f"\n\t{key} = '{value}'" for key, value in ff.attributes.items()]
    lines.append("\n")
    return "".join(lines)


class PutEmail(Processor):
    """Sends an e-mail over SMTP for each FlowFile.

    The body is the FlowFile content (FlowFile Content as Message, decoded with
    Input Character Set) or the Message property, followed by every attribute
    when Include All Attributes In Message is set (NiFi's layout). It is sent
    with Content Type and the input character set; with Attach File the e-mail
    is multipart: the body, then the content as an attachment named after
    the ``filename`` attribute, typed by its ``mime.type`` attribute
    (``application/octet-stream`` without one). Attributes whose names
    match Attributes to Send as Headers Regular Expression become headers, and
    X-Mailer, Subject, From, To, CC and Reply-To are set (BCC recipients only
    get the envelope). Non-ASCII header text is RFC 2047-encoded; line breaks
    in header values become spaces, so an attribute cannot add headers.

    The connection is plain SMTP, upgraded with STARTTLS when SMTP START TLS is
    true; with SMTP Socket Factory ``javax.net.ssl.SSLSocketFactory`` and port
    465 it is SMTPS (implicit TLS). Server certificates are verified against
    the system's CAs unless the dynamic property ``mail.smtp.ssl.trust`` is
    ``*`` or lists the host, as in JavaMail. With SMTP Auth true and an SMTP
    Username, the client logs in (password from SMTP Password).

    A sent FlowFile goes to success with a SEND event ``mailto:<first
    recipient>``. A FlowFile that cannot be sent — empty From, an address that
    does not parse, no recipient, a refused connection, a rejected login or
    recipient — goes to failure (not penalized) and the processor yields, as in
    NiFi; the reason is logged as an error.

    Differences from NiFi: OAuth2 authorization needs an access token provider
    service flowyard does not have, so 'Use OAuth2' leaves the processor
    invalid. Of the dynamic ``mail.smtp.*`` properties only
    ``mail.smtp.ssl.trust``, ``mail.smtp.timeout``,
    ``mail.smtp.connectiontimeout`` (milliseconds; 30 s when unset, JavaMail
    waits forever) and ``mail.smtp.localhost`` have an effect; others are
    accepted and ignored. SMTP Socket Factory only decides implicit TLS on port
    465. Addresses are parsed leniently (Python's ``email.utils``) but each must
    contain an ``@``.
    """

    spec = ProcessorSpec(
        description="Sends one email per FlowFile through an SMTP server, with the content as body or attachment if "
                    "desired.",
        tags=("email", "put", "notify", "smtp", "mail"),
        properties=(SMTP_HOSTNAME, SMTP_PORT, AUTHORIZATION_MODE, OAUTH2_ACCESS_TOKEN_PROVIDER, SMTP_USERNAME,
                    SMTP_PASSWORD, SMTP_AUTH, SMTP_START_TLS, SMTP_SOCKET_FACTORY, HEADER_XMAILER,
                    ATTRIBUTE_NAME_REGEX, CONTENT_TYPE, FROM, TO, CC, BCC, REPLY_TO, SUBJECT, MESSAGE,
                    CONTENT_AS_MESSAGE, INPUT_CHARACTER_SET, ATTACH_FILE, INCLUDE_ALL_ATTRIBUTES),
        relationships=(SUCCESS, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="mail.propertyName",
            value_description="A JavaMail session property's value (see the Notes for the ones flowyard uses)",
            expression_scope=_FF,
        ),
        input_requirement=InputRequirement.REQUIRED,
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """At least one recipient property; dynamic properties must be mail.smtp.* ones; no OAuth2."""
        problems = []
        if all(context.property(spec).value is None for spec in (TO, CC, BCC)):
            problems.append(ValidationResult("To, CC, BCC", "Must specify at least one To/CC/BCC address"))
        for name in context.dynamic_properties:
            problem = _check_mail_property(name)
            if problem is not None:
                problems.append(ValidationResult(name, problem, name))
        if context.property(AUTHORIZATION_MODE).as_str() == OAUTH_MODE:
            problems.append(ValidationResult(AUTHORIZATION_MODE.display_name,
                                             "OAuth2 authorization is not supported by flowyard yet",
                                             AUTHORIZATION_MODE.key))
        return problems

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Send one e-mail."""
        import smtplib
        ff = session.get()
        if ff is None:
            return
        try:
            recipients = self._send(context, session, ff)
        except (_EmailError, smtplib.SMTPException, MessageError, OSError, ssl.SSLError, ValueError,
                LookupError) as exc:
            context.yield_()
            context.logger.error(f"Failed to send email for FlowFile[uuid={ff.uuid}, size={ff.size}]: {exc}; "
                                 "routing to failure")
            session.transfer(ff, FAILURE)
            return
        session.provenance.send(ff, f"mailto:{recipients[0]}")
        session.transfer(ff, SUCCESS)

    def _body(self, context: ProcessContext, session: ProcessSession, ff: FlowFile, charset: str) -> str:
        attributes = ff.attributes
        text = ""
        if (context.property(CONTENT_AS_MESSAGE).evaluate(attributes).value or "").strip().lower() == "true":
            text = session.read_bytes(ff).decode(charset, "replace")
        elif context.property(MESSAGE).is_set:
            text = context.property(MESSAGE).evaluate(attributes).value or ""
        if context.property(INCLUDE_ALL_ATTRIBUTES).as_str() == "true":
            text = _format_attributes(ff, text)
        return text

    def _send(self, context: ProcessContext, session: ProcessSession, ff: FlowFile) -> list[str]:
        attributes = ff.attributes
        charset = codecs.lookup(context.property(INPUT_CHARACTER_SET).as_str()).name
        senders = _addresses(context, FROM, attributes)
        to = _addresses(context, TO, attributes)
        cc = _addresses(context, CC, attributes)
        bcc = _addresses(context, BCC, attributes)
        reply_to = _addresses(context, REPLY_TO, attributes)
        recipients = [address for _, address in to + cc + bcc]
        if not recipients:
            raise _EmailError("no recipient: To, CC and BCC evaluate to empty strings")

        body = self._body(context, session, ff, charset)
        content_type = context.property(CONTENT_TYPE).evaluate(attributes).as_str().split(";")[0].strip()
        maintype, _, subtype = content_type.partition("/")
        if maintype.lower() == "text":
            text_part: MIMEBase = MIMEText(body, subtype or "plain", charset)
        else:
            text_part = MIMEBase(maintype or "application", subtype or "octet-stream", charset=charset)
            text_part.set_payload(body.encode(charset))
            encoders.encode_base64(text_part)
        message: MIMEBase
        if context.property(ATTACH_FILE).as_str() == "true":
            message = MIMEMultipart()
            message.attach(text_part)
            kind = attributes.get("mime.type", "").split(";")[0].strip()
            main, _, sub = kind.partition("/")
            if not (main and sub and main.isprintable() and sub.isprintable() and " " not in kind):
                main, sub = "application", "octet-stream"
            attachment = MIMEBase(main, sub)  # the FlowFile's mime.type, as NiFi's attachment data source
            attachment.set_payload(session.read_bytes(ff))
            encoders.encode_base64(attachment)
            filename = attributes.get("filename", "")
            attachment.add_header("Content-Disposition", "attachment",
                                  filename=filename if filename.isascii() else (charset, "", filename))
            message.attach(attachment)
        else:
            message = text_part

        pattern = context.property(ATTRIBUTE_NAME_REGEX)
        if pattern.is_set:
            regex = pattern.as_regex()
            for key, value in attributes.items():
                if regex.fullmatch(key) and _HEADER_NAME.fullmatch(key):
                    message[key] = _header_value(value, charset)
        message["X-Mailer"] = _header_value(context.property(HEADER_XMAILER).evaluate(attributes).as_str(), charset)
        message["Subject"] = _header_value(context.property(SUBJECT).evaluate(attributes).value or "", charset)
        message["From"] = _address_header(senders, charset)
        if to:
            message["To"] = _address_header(to, charset)
        if cc:
            message["Cc"] = _address_header(cc, charset)
        if reply_to:
            message["Reply-To"] = _address_header(reply_to, charset)
        message["Date"] = formatdate(localtime=False)
        self._deliver(context, attributes, senders[0][1], recipients, message.as_bytes())
        return recipients

    def _deliver(
        self, context: ProcessContext, attributes: Mapping[str, str], sender: str, recipients: list[str],
        data: bytes,
    ) -> None:
        import smtplib
        host = context.property(SMTP_HOSTNAME).evaluate(attributes).as_str().strip()
        port_text = context.property(SMTP_PORT).evaluate(attributes).as_str().strip()
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise _EmailError(f"SMTP Port {port_text[:40]!r} is not a port number (1 to 65535)")
        port = int(port_text)
        mail = {name: value.evaluate(attributes).value or "" for name, value in context.dynamic_properties.items()}
        timeout = _DEFAULT_TIMEOUT
        for key in ("mail.smtp.connectiontimeout", "mail.smtp.timeout"):
            text = mail.get(key, "").strip()
            if text.isascii() and text.isdigit() and len(text) < 10 and int(text) > 0:
                timeout = int(text) / 1000
        trust = mail.get("mail.smtp.ssl.trust", "").split()
        tls = ssl.create_default_context()
        if "*" in trust or host in trust:
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        local_name = mail.get("mail.smtp.localhost") or None
        factory = context.property(SMTP_SOCKET_FACTORY).evaluate(attributes).as_str().strip()
        implicit_tls = factory == SSL_SOCKET_FACTORY and port == SMTPS_PORT
        start_tls = _is_true(context.property(SMTP_START_TLS).evaluate(attributes).value)
        client: smtplib.SMTP
        if implicit_tls:
            client = smtplib.SMTP_SSL(host, port, local_hostname=local_name, timeout=timeout, context=tls)
        else:
            client = smtplib.SMTP(host, port, local_hostname=local_name, timeout=timeout)
        with client:
            client.ehlo_or_helo_if_needed()
            if start_tls and not implicit_tls:
                client.starttls(context=tls)
                client.ehlo()
            username = context.property(SMTP_USERNAME).evaluate(attributes).value
            if _is_true(context.property(SMTP_AUTH).evaluate(attributes).value) and username:
                client.login(username, context.property(SMTP_PASSWORD).evaluate(attributes).value or "")
            code, reply = client.mail(sender)
            if code != 250:
                client.rset()
                raise _EmailError(f"the SMTP server refused the sender {sender}: {code} {reply!r}")
            refused = []
            for recipient in recipients:
                code, reply = client.rcpt(recipient)
                if code not in (250, 251):
                    refused.append(f"{recipient} ({code} {reply.decode('utf-8', 'replace')})")
            # JavaMail's default (mail.smtp.sendpartial false): one refused recipient fails the whole e-mail.
            if refused and (len(refused) == len(recipients) or not _is_true(mail.get("mail.smtp.sendpartial"))):
                client.rset()
                raise _EmailError(f"the SMTP server refused recipients: {', '.join(refused)}")
            if refused:
                context.logger.warning(f"the SMTP server refused some recipients: {', '.join(refused)}")
            code, reply = client.data(data)
            if code != 250:
                raise _EmailError(f"the SMTP server refused the message: {code} {reply!r}")


def _is_true(text: str | None) -> bool:
    return text is not None and text.strip().lower() == "true"
