"""HandleHttpResponse: answer the HTTP request a HandleHttpRequest parked in
the HTTP context map, with the FlowFile's content as the body."""

from __future__ import annotations

from flowyard.processors._http_common import JAVA_REGEX, java_regex, transit_uri
from flowyard.processors.http_context_map import HTTP_CONTEXT_MAP, HttpContextMap
from flowyard.runtime.sdk import (
    DynamicPropertySpec,
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
)

__all__ = ["HandleHttpResponse"]

CONTEXT_IDENTIFIER = "http.context.identifier"
SUCCESS = Relationship("success", "FlowFiles whose content was sent to the client as the response.")
FAILURE = Relationship("failure", "FlowFiles that could not answer their request: no context identifier, a bad status "
                                  "code, a request that is no longer waiting (already answered, expired, or its server "
                                  "stopped), or a client that went away.")

STATUS_CODE = PropertySpec(
    key="http-status-code", display_name="HTTP Status Code",
    description="The status code of the response, from 200 to 599 (see RFC 2616, section "
                "10).", required=True, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
CONTEXT_MAP = PropertySpec(
    key="http-context-map", display_name="HTTP Context Map",
    description="The HTTP Context Map shared with the HandleHttpRequest processor that received the requests.",
    required=True, identifies_controller_service=HTTP_CONTEXT_MAP,
)
ATTRIBUTES_TO_HEADERS = PropertySpec(
    key="attributes-for-http-response", display_name="Attributes for HTTP Response",
    description="FlowFile attributes whose names match this regular expression become response "
                "headers.", validator=JAVA_REGEX,
    aliases=("Attributes to add to the HTTP Response (Regex)",),
)


class HandleHttpResponse(Processor):
    """Answers the request whose ``http.context.identifier`` the FlowFile
    carries: the HTTP Status Code (Expression Language), a header per dynamic
    property (name: header, value: Expression Language) and per attribute
    matching Attributes for HTTP Response (blank values are not sent), and the
    FlowFile's content as the body. Then the request is forgotten by the context map and the FlowFile
    goes to ``success`` (a SEND provenance event whose transit URI is NiFi's
    ``<http|https>://<http.remote.host>@<http.local.name>:<http.server.port><http.request.uri>``,
    https when ``http.subject.dn`` is present).

    To ``failure``, with an ERROR bulletin: no ``http.context.identifier``; a
    status code that is not a number from 200 to 599 (a 1xx is no final answer); a request no longer in
    the map (answered before, expired — answered 503 by the map — or its
    HandleHttpRequest stopped).

    The body is streamed from the content repository to the client while the
    processor waits (in its worker thread); a client that goes away or stops
    reading (for a minute) sends the FlowFile to ``failure``, as NiFi does when
    the write fails.

    Differences from NiFi: none known.
    """

    spec = ProcessorSpec(
        description=(
            "Answers the HTTP request a FlowFile came from (received by HandleHttpRequest), with the FlowFile's "
            "content as the response body."
        ),
        tags=("http", "https", "response", "egress", "web service"),
        properties=(STATUS_CODE, CONTEXT_MAP, ATTRIBUTES_TO_HEADERS),
        relationships=(SUCCESS, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of a header to add to the response",
            value_description="The header's value (Expression Language)",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(
            (CONTEXT_IDENTIFIER, "Finds the waiting request to answer in the HTTP Context Map; without it the FlowFile "
                                 "goes to failure."),
            ("http.request.uri", "The request URI, for the provenance event."),
            ("http.remote.host", "The client's address, for the provenance event."),
            ("http.local.name", "The server's host name, for the provenance event."),
            ("http.server.port", "The server's port, for the provenance event."),
            ("http.subject.dn", "The client certificate's Distinguished Name, if any, for the provenance event."),
        ),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Answer one request."""
        ff = session.get()
        if ff is None:
            return
        attributes = dict(ff.attributes)
        identifier = attributes.get(CONTEXT_IDENTIFIER)
        if not identifier:
            context.logger.error(f"Failed to respond to HTTP request for {ff!r} because FlowFile did not have an "
                                 f"'{CONTEXT_IDENTIFIER}' attribute")
            session.transfer(ff, FAILURE.name)
            return
        status_text = (context.property(STATUS_CODE).evaluate(attributes).value or "").strip()
        if not status_text.isdigit() or not 200 <= int(status_text) <= 599:
            context.logger.error(f"Failed to respond to HTTP request for {ff!r} because status code was "
                                 f"'{status_text}', which is not a valid number")
            session.transfer(ff, FAILURE.name)
            return
        context_map = context.property(CONTEXT_MAP).as_controller_service(HttpContextMap)
        request = context_map.get(identifier)
        if request is None:
            context.logger.error(f"Failed to respond to HTTP request for {ff!r} because FlowFile had an "
                                 f"'{CONTEXT_IDENTIFIER}' attribute of {identifier} but could not find an HTTP "
                                 "Response Object for this identifier")
            session.transfer(ff, FAILURE.name)
            return
        headers: list[tuple[str, str]] = []
        for name, value in sorted(context.dynamic_properties.items()):
            evaluated = value.evaluate(attributes).value
            if evaluated and evaluated.strip():
                headers.append((name, evaluated))
        pattern = context.property(ATTRIBUTES_TO_HEADERS).value
        if pattern:
            regex = java_regex(pattern)
            headers.extend((key, value) for key, value in sorted(attributes.items())
                           if regex.fullmatch(key) and value.strip())  # NiFi sends no blank header
        with session.read(ff) as content:
            sent = request.respond_streaming(int(status_text), headers, ff.size, content.read)
        if not sent:
            context_map.complete(identifier)
            context.logger.error(f"Failed to respond to HTTP request for {ff!r}: the request was already answered, "
                                 "its server stopped, or the client went away before it had the whole response")
            session.transfer(ff, FAILURE.name)
            return
        context_map.complete(identifier)
        session.provenance.send(ff, transit_uri(attributes), f"Response status {status_text}")
        session.transfer(ff, SUCCESS.name)
