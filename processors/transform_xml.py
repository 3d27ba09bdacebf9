"""TransformXml: apply an XSLT 1.0 stylesheet to XML content."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from flowyard.processors import _safe_xml
from flowyard.processors._common import boolean_property
from flowyard.processors.lookup_services import STRING_LOOKUP_SERVICE, LookupFailureError, StringLookupService
from flowyard.runtime.sdk import (
    DynamicPropertySpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    PropertyValueError,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["StylesheetCache", "TransformXml"]

_XSL = "http://www.w3.org/1999/XSL/Transform"
_LIBXSLT_DECLARATION = re.compile(r"\A<\?xml[^>]*\?>\n?")

SUCCESS = Relationship("success", "FlowFiles whose content was transformed.")
FAILURE = Relationship(
    "failure",
    "FlowFiles (unchanged) that are not well-formed or safe XML, whose stylesheet cannot be found, read or "
    "compiled, or whose transformation failed (including xsl:message terminate='yes').",
)

XSLT_DOCUMENT = PropertySpec(
    key="xslt-document",
    display_name="XSLT Document",
    description=(
        "The path of the XSLT file to apply. Exactly one of XSLT Document and XSLT Lookup must be set."
    ),
    validator=validators.FILE_EXISTS,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("XSLT file name", "XSLT File Name"),
)
XSLT_LOOKUP = PropertySpec(
    key="xslt-lookup",
    display_name="XSLT Lookup",
    description=(
        "A string lookup service holding stylesheets (keep them small). Exactly one of XSLT Document and "
        "XSLT Lookup must be set."
    ),
    identifies_controller_service=STRING_LOOKUP_SERVICE,
    aliases=("xslt-controller",),
)
XSLT_LOOKUP_KEY = PropertySpec(
    key="xslt-lookup-key",
    display_name="XSLT Lookup Key",
    description="The key of the stylesheet in the XSLT Lookup service; required with XSLT Lookup.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("xslt-controller-key", "XSLT Lookup key"),
)
INDENT = boolean_property(
    "indent", "Indent", "Whether XML output is indented (three spaces, as NiFi's Saxon does).", "true",
    aliases=("indent-output",),
)
SECURE_PROCESSING = boolean_property(
    "secure-processing",
    "Secure Processing",
    "NiFi's switch for guarding against XML attacks such as XXE. flowyard always guards: files and the network stay "
    "closed to documents and stylesheets either way.",
    "true",
    aliases=("Secure processing",),
)
CACHE_SIZE = PropertySpec(
    key="cache-size",
    display_name="Cache Size",
    description="How many compiled stylesheets are kept; 0 compiles the stylesheet for every FlowFile.",
    required=True,
    default="10",
    validator=validators.NON_NEGATIVE_INTEGER,
    aliases=("Cache size",),
)
CACHE_DURATION = PropertySpec(
    key="cache-duration",
    display_name="Cache Duration",
    description="How long a compiled stylesheet stays cached after it was last used (0 sec: no expiry).",
    required=True,
    default="60 secs",
    validator=validators.TIME_PERIOD,
    aliases=("cache-ttl-after-last-access", "Cache TTL after last access"),
)


@dataclass(frozen=True, slots=True)
class _Output:
    """What the stylesheet's top-level xsl:output elements ask for."""

    method: str | None
    encoding: str
    omit_declaration: bool


@dataclass(slots=True)
class _Entry:
    transform: Any
    output: _Output
    parameters: frozenset[str]
    lock: threading.Lock
    last_used_ms: int


def _output_of(stylesheet: Any) -> _Output:
    attributes: dict[str, str] = {}
    for output in stylesheet.getroot().iterchildren(f"{{{_XSL}}}output"):
        attributes.update(output.attrib)  # later declarations win, as XSLT merges them
    method = attributes.get("method")
    return _Output(
        method=method.strip().lower() if method else None,
        encoding=attributes.get("encoding", "UTF-8").strip() or "UTF-8",
        omit_declaration=attributes.get("omit-xml-declaration", "no").strip() == "yes",
    )


def _compile(source: bytes, indent: bool) -> _Entry:
    """Compile a stylesheet, its xsl:output indent set to ``indent`` (the
    Indent property overrides the stylesheet, as NiFi sets it on the
    transformer); raises ``ValueError`` naming the problem."""
    document = _safe_xml.parse(source, allow_dtd=True, ignore_external_dtd=True)
    root = document.getroot()
    simplified = root.get(f"{{{_XSL}}}version") is not None  # a literal result element as the stylesheet
    if not simplified and root.tag not in (f"{{{_XSL}}}stylesheet", f"{{{_XSL}}}transform"):
        raise ValueError(f"not an XSLT stylesheet: the root element is {root.tag!r}")
    output = _output_of(document)
    if not simplified:
        etree.SubElement(root, f"{{{_XSL}}}output", indent="yes" if indent else "no")
    parameters = frozenset(
        name for p in root.iterchildren(f"{{{_XSL}}}param") if (name := p.get("name"))
    )
    try:
        transform = etree.XSLT(document, access_control=_safe_xml.DENY_ALL_ACCESS)
    except etree.XSLTParseError as exc:
        raise ValueError(f"not a valid XSLT 1.0 stylesheet: {exc}") from None
    return _Entry(transform, output, parameters, threading.Lock(), 0)


class StylesheetCache:
    """Compiled stylesheets by source, least recently used evicted beyond
    ``size``, and expired ``ttl_ms`` after their last use (0: never).
    Thread-safe; ``size`` 0 keeps nothing."""

    def __init__(self, size: int, ttl_ms: int) -> None:
        self._size = size
        self._ttl_ms = ttl_ms
        self._entries: OrderedDict[tuple[str, str, bool], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, bool], load: Any, now_ms: int) -> _Entry:
        """The entry for ``key`` (kind, path or lookup key, indent), compiled
        from ``load()`` when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._ttl_ms and now_ms - entry.last_used_ms >= self._ttl_ms:
                del self._entries[key]
                entry = None
            if entry is not None:
                self._entries.move_to_end(key)
                entry.last_used_ms = now_ms
                return entry
        entry = _compile(load(), key[2])
        entry.last_used_ms = now_ms
        if self._size > 0:
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return entry

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _render(result: Any, output: _Output, indent: bool) -> bytes:
    """The transformation result as NiFi's Saxon writes XML (declaration with
    encoding, three-space indentation, a final newline when indenting); the
    html and text methods as libxslt serializes them."""
    root = result.getroot()
    method = output.method
    if method is None:
        html = root is not None and isinstance(root.tag, str) and root.tag.lower() == "html"
        method = "html" if html else "xml"
    if method != "xml":
        return bytes(result)
    parts: list[str] = []
    if not output.omit_declaration:
        parts.append(f'<?xml version="1.0" encoding="{output.encoding}"?>')
    if root is None:
        body = _LIBXSLT_DECLARATION.sub("", str(result))
        parts.append(body[:-1] if body.endswith("\n") else body)
    else:
        if indent:
            etree.indent(root, space="   ")
        nodes = [*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()]
        separator = "\n" if indent else ""
        text = separator.join(etree.tostring(node, encoding="unicode", with_tail=False) for node in nodes)
        parts.append(separator + text + separator if parts else text + separator)
    return "".join(parts).encode(output.encoding, errors="xmlcharrefreplace")


class TransformXml(Processor):
    """Applies an XSLT 1.0 stylesheet (a file, or a text from a string lookup
    service) to the XML content; each dynamic property is passed to the
    stylesheet as a string parameter of that name (its value evaluated
    against the FlowFile's attributes).

    As in NiFi: exactly one of XSLT Document and XSLT Lookup must be set (and
    XSLT Lookup Key with the lookup, whose service must take exactly one
    key); compiled stylesheets are cached by path or key (Cache Size, 0
    disables; Cache Duration after last use); content that is not XML, a
    missing stylesheet, a stylesheet error, an undeclared variable or
    ``xsl:message terminate="yes"`` send the FlowFile unchanged to failure
    with the reason logged as an error; other xsl:messages are logged at
    INFO. XML output starts with a declaration naming its encoding, is
    indented by three spaces when Indent is true (with a final newline), and
    honours xsl:output's encoding and omit-xml-declaration.

    Security: documents and stylesheets are parsed by ``_safe_xml`` (a
    DOCTYPE is accepted, an external DTD is never read, internal entities are
    expanded with a bound, a declared external entity is refused, and so is
    a document nested deeper than 256 elements or with a text node over
    10 MB), and the stylesheet runs with an access control that denies every
    file and network read and write: ``document()``, ``xsl:include``/``xsl:import`` of
    another file and ``exsl:document`` fail.

    Differences from NiFi: XSLT 1.0 (libxslt) where NiFi uses Saxon's XSLT
    3.0 — 2.0+ instructions, functions and typed parameters (``as=``) are not
    available; html and text output is libxslt's serialization (NiFi's Saxon
    writes ``<!DOCTYPE HTML>`` and indents HTML); Secure Processing false
    does not open files or the network (flowyard never does); a document or
    stylesheet that declares an external entity is refused even when the
    entity is never used (NiFi ignores it), and includes or imports of other
    stylesheets are refused.
    """

    spec = ProcessorSpec(
        description=(
            "Applies an XSLT 1.0 stylesheet to the XML content of each FlowFile and replaces the content with "
            "the result; dynamic properties become stylesheet parameters."
        ),
        tags=("xml", "xslt", "transform", "XML", "XSLT"),
        properties=(XSLT_DOCUMENT, XSLT_LOOKUP, XSLT_LOOKUP_KEY, INDENT, SECURE_PROCESSING, CACHE_SIZE,
                    CACHE_DURATION),
        relationships=(SUCCESS, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of a stylesheet parameter",
            value_description="The value passed for it",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
    )

    def __init__(self) -> None:
        self._cache = StylesheetCache(0, 0)

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Exactly one stylesheet source; a lookup needs a key and a one-key service."""
        results: list[ValidationResult] = []
        document = context.property(XSLT_DOCUMENT).is_set
        lookup = context.property(XSLT_LOOKUP).is_set
        if document == lookup:
            results.append(ValidationResult(
                "TransformXml", "Exactly one of the 'XSLT Document' and 'XSLT Lookup' properties must be defined."
            ))
        if lookup and not context.property(XSLT_LOOKUP_KEY).is_set:
            results.append(ValidationResult(
                XSLT_LOOKUP_KEY.display_name, "If using 'XSLT Lookup', the 'XSLT Lookup Key' property must be defined.",
                XSLT_LOOKUP_KEY.key,
            ))
        if lookup:
            try:
                service = context.property(XSLT_LOOKUP).as_controller_service(StringLookupService)
            except PropertyValueError:
                return results  # the framework reports a missing or disabled service
            keys = service.required_keys
            if len(keys) != 1:
                results.append(ValidationResult(
                    XSLT_LOOKUP.display_name,
                    f"This processor requires a key-value lookup service supporting exactly one required key, "
                    f"was: {len(keys)}",
                    XSLT_LOOKUP.key,
                ))
        return results

    def on_scheduled(self, context: ProcessContext) -> None:
        """Start with an empty stylesheet cache of the configured size."""
        ttl_ms = int(context.property(CACHE_DURATION).as_duration() * 1000)
        self._cache = StylesheetCache(context.property(CACHE_SIZE).as_int(), ttl_ms)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Transform one FlowFile."""
        ff = session.get()
        if ff is None:
            return
        try:
            content = self._transform(context, session, ff)
        except (ValueError, LookupFailureError, OSError, etree.XSLTError) as exc:
            context.logger.error(f"cannot transform {ff!r}: {exc}; routing it to failure")
            session.transfer(ff, FAILURE)
            return
        session.transfer(session.write(ff, content), SUCCESS)

    def _transform(self, context: ProcessContext, session: ProcessSession, ff: FlowFile) -> bytes:
        attributes = ff.attributes
        indent = context.property(INDENT).as_bool()
        entry = self._stylesheet(context, attributes, indent)
        document = _safe_xml.parse(session.read_bytes(ff), allow_dtd=True, ignore_external_dtd=True)
        # only declared parameters are passed: libxslt would otherwise make any
        # parameter a global variable, where XSLT (and NiFi) refuse an undeclared one
        parameters = {
            name: etree.XSLT.strparam(value.evaluate(attributes).as_str())
            for name, value in context.dynamic_properties.items()
            if name in entry.parameters
        }
        with entry.lock:  # one transformation at a time per compiled stylesheet
            try:
                result = entry.transform(document, **parameters)
            except etree.XSLTApplyError as exc:
                raise ValueError(f"the transformation failed: {exc} ({_messages(entry.transform)})") from None
            for message in _messages(entry.transform, levels=("ERROR", "WARNING")).split("; "):
                if message:
                    context.logger.info(f"xsl:message: {message}")
        return _render(result, entry.output, indent)

    def _stylesheet(self, context: ProcessContext, attributes: Mapping[str, str], indent: bool) -> _Entry:
        now = context.now_ms()
        if context.property(XSLT_DOCUMENT).is_set:
            path = context.property(XSLT_DOCUMENT).evaluate(attributes).as_str()
            if not path.strip():
                raise ValueError("XSLT Document evaluated to an empty path")
            return self._cache.get(("file", path, indent), lambda: Path(path).read_bytes(), now)
        key = context.property(XSLT_LOOKUP_KEY).evaluate(attributes).as_str()
        service = context.property(XSLT_LOOKUP).as_controller_service(StringLookupService)

        def load() -> bytes:
            (coordinate,) = service.required_keys
            found = service.lookup({coordinate: key}, attributes)
            if found is None or not found.strip():
                raise ValueError(f"XSLT Source Path [{key}] not found in the lookup service")
            return found.encode("utf-8")

        try:
            return self._cache.get(("lookup", key, indent), load, now)
        except ProcessingError as exc:
            raise ValueError(f"the lookup of {key!r} failed: {exc}") from None


def _messages(transform: Any, levels: tuple[str, ...] = ("ERROR", "WARNING", "FATAL")) -> str:
    return "; ".join(entry.message for entry in transform.error_log if entry.level_name in levels)
