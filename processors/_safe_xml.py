"""Parsing XML without trusting it: the one place the xml family builds lxml parsers.

Every XML document, XSLT stylesheet and streamed split in the family goes
through here, so the rules are stated once:

- no external entity, external DTD subset or XInclude is ever loaded: the
  parser has ``no_network``, ``load_dtd=False``, a resolver that refuses
  every URL, and a document that *declares* an external entity is refused
  before anything could use it;
- a document with a ``<!DOCTYPE`` is refused outright unless the caller
  allows DTDs (NiFi's "Allow DTD", false by default) — checked on the
  prolog, before libxml2 reads the declarations;
- with DTDs allowed, internal entities are expanded, bounded by libxml2's
  amplification limit: a billion-laughs document is refused, never expanded;
- ``huge_tree`` stays off: a document nested deeper than 256 elements or
  with a text node over 10 MB is refused (libxml2's limits).

Refusals raise ``UnsafeXmlError`` and malformed documents ``XmlSyntaxError``;
both are ``ValueError`` with a message fit for a bulletin. Nothing here
touches the network or the file system.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import IO, Any

from lxml import etree

from flowyard.processors._common import PrefixedStream

__all__ = [
    "DENY_ALL_ACCESS",
    "UnsafeXmlError",
    "XmlSyntaxError",
    "has_doctype",
    "iterparse",
    "parse",
    "parse_stylesheet",
]

_PROLOG_BYTES = 64 * 1024

DENY_ALL_ACCESS = etree.XSLTAccessControl.DENY_ALL
"""XSLT access control that denies reading and writing files and the network
(``document()``, ``xsl:include``/``xsl:import`` of other files, ``exsl:document``)."""


class UnsafeXmlError(ValueError):
    """The document asks for something flowyard never does (a DOCTYPE when
    DTDs are not allowed, an external entity or DTD, an entity expansion
    bomb). ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class XmlSyntaxError(ValueError):
    """The content is not well-formed XML; the message has libxml2's reason and position."""


class _DenyAllResolver(etree.Resolver):  # type: ignore[misc]
    """Refuses every URL libxml2 would load (entities, DTDs, includes)."""

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> Any:
        raise UnsafeXmlError(f"refused to load {system_url or public_id!r}: flowyard never fetches external XML")


def _parser(*, resolve_entities: bool | str, remove_blank_text: bool = False) -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=resolve_entities,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_blank_text=remove_blank_text,
        strip_cdata=False,
    )
    parser.resolvers.add(_DenyAllResolver())
    return parser


# -- the prolog check: find a DOCTYPE before libxml2 reads it -------------------------

_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.S)


def _prolog_text(head: bytes) -> str:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return head[len(bom):].decode(name, errors="replace")
    if head.startswith(b"\x00<\x00"):
        return head.decode("utf-16-be", errors="replace")
    if head.startswith(b"<\x00"):
        return head.decode("utf-16-le", errors="replace")
    # ASCII-compatible encodings agree on the markup characters a prolog uses
    return head.decode("latin-1")


def has_doctype(head: bytes) -> bool:
    """Whether the prolog in ``head`` (the first bytes of a document) declares a DOCTYPE."""
    text = _prolog_text(head)
    position = 0
    while True:
        item = _PROLOG_ITEM.match(text, position)
        if item is None or item.end() == position:
            break
        position = item.end()
    return text.startswith("<!DOCTYPE", position)


def _check_prolog(head: bytes, allow_dtd: bool) -> None:
    if not allow_dtd and has_doctype(head):
        raise UnsafeXmlError(
            "the document has a DOCTYPE declaration, which is refused while DTDs are not allowed "
            "(set 'Allow DTD' to true to accept internal declarations)"
        )


# -- after parsing: what the DTD declares ---------------------------------------------


def _check_declarations(tree: Any, ignore_external_dtd: bool) -> bool:
    """Refuse an external DTD subset (unless ignored) or external entity; whether internal entities exist."""
    docinfo = tree.docinfo
    if docinfo.system_url and not ignore_external_dtd:
        raise UnsafeXmlError(
            f"the document refers to an external DTD ({docinfo.system_url!r}); flowyard never loads external DTDs"
        )
    dtd = docinfo.internalDTD
    if dtd is None:
        return False
    internal = False
    for entity in dtd.iterentities():
        if entity.system_url:
            raise UnsafeXmlError(
                f"the document declares the external entity {entity.name!r} ({entity.system_url!r}); "
                "external entities are never resolved"
            )
        internal = True
    return internal


def _syntax_error(exc: etree.XMLSyntaxError) -> ValueError:
    message = str(exc)
    lowered = message.lower()
    bomb = ("amplification", "entity reference loop", "too many entities")
    if any(marker in lowered for marker in bomb):
        return UnsafeXmlError(f"entity expansion refused (a 'billion laughs' document): {message}")
    if "xml_parse_huge" in lowered or "excessive depth" in lowered or "resource limit" in lowered:
        return UnsafeXmlError(
            f"the document exceeds the parser's limits (nesting deeper than 256 elements, or a text node over "
            f"10 MB): {message}"
        )
    if isinstance(exc.__context__, UnsafeXmlError):
        return exc.__context__
    return XmlSyntaxError(f"not well-formed XML: {message}")


def parse(
    data: bytes, *, allow_dtd: bool = False, ignore_external_dtd: bool = False, remove_blank_text: bool = False
) -> Any:
    """Parse ``data`` into an lxml ``ElementTree`` under the rules of this module.

    With ``allow_dtd`` an internal DTD subset is accepted and its internal
    entities are expanded (bounded); without it any DOCTYPE is refused. A
    reference to an external DTD subset is refused, or with
    ``ignore_external_dtd`` left unread (entities it would declare stay
    undefined, so using one is a syntax error).
    Raises ``UnsafeXmlError`` or ``XmlSyntaxError`` (both ``ValueError``).
    """
    _check_prolog(data[:_PROLOG_BYTES], allow_dtd)
    try:
        tree = etree.fromstring(data, _parser(resolve_entities=False, remove_blank_text=remove_blank_text))
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    document = tree.getroottree()
    if document.docinfo.doctype and not allow_dtd:
        raise UnsafeXmlError("the document has a DOCTYPE declaration, which is refused while DTDs are not allowed")
    if _check_declarations(document, ignore_external_dtd):
        # only internal entities are declared: expand them (libxml2 bounds the amplification)
        try:
            tree = etree.fromstring(
                data, _parser(resolve_entities="internal", remove_blank_text=remove_blank_text)
            )
        except etree.XMLSyntaxError as exc:
            raise _syntax_error(exc) from None
        document = tree.getroottree()
    return document


def iterparse(stream: IO[bytes], events: tuple[str, ...] = ("start", "end")) -> Iterator[tuple[str, Any]]:
    """Stream ``(event, element)`` pairs from ``stream`` under the same rules,
    with DTDs never allowed (every DOCTYPE is refused before parsing starts).

    Raises ``UnsafeXmlError`` or ``XmlSyntaxError`` while iterating.
    """
    head = stream.read(_PROLOG_BYTES)
    _check_prolog(head, allow_dtd=False)
    context = etree.iterparse(
        PrefixedStream(head, stream),
        events=events,
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        strip_cdata=False,
        remove_comments=False,
    )
    context.resolvers.add(_DenyAllResolver())
    try:
        yield from context
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None


def parse_stylesheet(data: bytes, *, allow_dtd: bool = False) -> Any:
    """Compile an XSLT stylesheet parsed under these rules (an external DTD
    is ignored when DTDs are allowed), with every file and network access
    denied to it. Raises ``UnsafeXmlError``, ``XmlSyntaxError``, or
    ``ValueError`` for a document that is not a valid stylesheet."""
    document = parse(data, allow_dtd=allow_dtd, ignore_external_dtd=allow_dtd)
    try:
        return etree.XSLT(document, access_control=DENY_ALL_ACCESS)
    except etree.XSLTParseError as exc:
        raise ValueError(f"not a valid XSLT stylesheet: {exc}") from None
