"""SplitXml: split an XML document into one FlowFile per element at a depth."""

from __future__ import annotations

from typing import Any

from lxml import etree

from flowyard.processors import _safe_xml
from flowyard.runtime.sdk import (
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    new_uuid,
    validators,
)

__all__ = ["SplitXml", "serialize_split"]

FRAGMENT_ID = "fragment.identifier"
FRAGMENT_INDEX = "fragment.index"
FRAGMENT_COUNT = "fragment.count"
SEGMENT_ORIGINAL_FILENAME = "segment.original.filename"

_PROLOGUE = '<?xml version="1.0" encoding="UTF-8"?>'
_TEXT_ESCAPES = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;"})

ORIGINAL = Relationship(
    "original",
    "The FlowFile that was split, with fragment.identifier and fragment.count added; it is not sent on when the split "
    "fails.",
)
SPLIT = Relationship("split", "One FlowFile per element found at the Split Depth, in document order.")
FAILURE = Relationship(
    "failure", "FlowFiles whose content is not well-formed or safe XML (no split is kept).",
)

SPLIT_DEPTH = PropertySpec(
    key="split-depth",
    display_name="Split Depth",
    description=(
        "The nesting depth at which elements become splits: 1 splits the root's children, 2 their children, "
        "and so on."
    ),
    required=True,
    default="1",
    validator=validators.POSITIVE_INTEGER,
)


def _escape(text: str | None) -> str:
    return text.translate(_TEXT_ESCAPES) if text else ""


def _qualified(tag: str, prefix: str | None) -> str:
    local: str = etree.QName(tag).localname
    return f"{prefix}:{local}" if prefix else local


def _attribute_name(name: str, nsmap: dict[str | None, str]) -> str:
    if not name.startswith("{"):
        return name
    qname = etree.QName(name)
    if qname.namespace == "http://www.w3.org/XML/1998/namespace":
        return f"xml:{qname.localname}"
    for prefix, uri in sorted(nsmap.items(), key=lambda item: item[0] or ""):
        if prefix and uri == qname.namespace:
            return f"{prefix}:{qname.localname}"
    return str(qname.localname)


def _declarations(declared: dict[str | None, str]) -> str:
    named = sorted(("xmlns" if prefix is None else f"xmlns:{prefix}", uri) for prefix, uri in declared.items())
    return "".join(f' {name}="{_escape(uri)}"' for name, uri in named)


def _write(element: Any, out: list[str], inherited: dict[str | None, str] | None) -> None:
    nsmap = element.nsmap
    name = _qualified(element.tag, element.prefix)
    out.append(f"<{name}")
    for key, value in element.attrib.items():
        out.append(f' {_attribute_name(key, nsmap)}="{_escape(value)}"')
    if inherited is None:
        out.append(_declarations(nsmap))  # the split's top element declares everything in scope
    else:
        out.append(_declarations({p: u for p, u in nsmap.items() if inherited.get(p) != u}))
    out.append(">")
    out.append(_escape(element.text))
    for child in element:
        if isinstance(child.tag, str):
            _write(child, out, nsmap)
        out.append(_escape(child.tail))  # comments and processing instructions are dropped, their tails kept
    out.append(f"</{name}>")


def serialize_split(element: Any) -> str:
    """One split as NiFi writes it: an XML declaration, then the element with
    start and end tags (never self-closing), every namespace in scope declared
    on it (sorted by name), text and attribute values escaped (``<>&'"``),
    comments and processing instructions dropped."""
    out = [_PROLOGUE]
    _write(element, out, None)
    return "".join(out)


class SplitXml(Processor):
    """Splits an XML document into one FlowFile per element at the Split
    Depth (1: each child of the root), in document order.

    The document is streamed: each split is written when its end tag is
    read and then dropped from memory, so only one split and the chain of
    its ancestors are held at a time. Each split is written as NiFi writes
    it (``serialize_split``): an XML declaration, the element with every
    namespace in scope declared on it, start and end tags, escaped text, no
    comments; text outside the splits is dropped. Splits get
    fragment.identifier (shared), fragment.index (from 0, as NiFi's
    SplitXml), fragment.count and segment.original.filename; the original
    gets fragment.identifier and fragment.count (when there are splits) and
    goes to original. A document without elements at that depth gives no
    split. Content that is not well-formed or safe XML (any DOCTYPE, and so
    any entity or external reference, is refused, as are documents nested
    deeper than 256 elements or with a text node over 10 MB) goes to failure
    with no split kept, and the reason is logged as an error.

    Differences from NiFi: a namespace declared on an element inside a split
    is kept on that element (NiFi drops it, which can leave a prefix
    undeclared); an attribute in a namespace is written with a prefix bound
    to that namespace in scope (the document's own prefix when there is
    one).
    """

    spec = ProcessorSpec(
        description="Cuts an XML document into one FlowFile per element found at the Split Depth (by default, the "
                    "root's children).",
        tags=("xml", "split", "XML"),
        properties=(SPLIT_DEPTH,),
        relationships=(ORIGINAL, SPLIT, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            (FRAGMENT_ID, "The same random UUID on every split of one FlowFile (and on the original)."),
            (FRAGMENT_INDEX, "The position of the split among its siblings, from 0."),
            (FRAGMENT_COUNT, "How many splits the FlowFile gave (also on the original)."),
            (SEGMENT_ORIGINAL_FILENAME, "The filename of the original FlowFile."),
        ),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Split one FlowFile."""
        original = session.get()
        if original is None:
            return
        depth = context.property(SPLIT_DEPTH).as_int()
        identifier = new_uuid()
        common = {
            FRAGMENT_ID: identifier,
            SEGMENT_ORIGINAL_FILENAME: original.attributes.get("filename", ""),
        }
        splits: list[FlowFile] = []
        try:
            with session.read(original) as stream:
                for text in _splits(stream, depth):
                    split = session.create(original)
                    split = session.write(split, text.encode("utf-8"))
                    splits.append(session.put_attributes(split, {**common, FRAGMENT_INDEX: str(len(splits))}))
        except ValueError as exc:
            context.logger.error(f"cannot split {original!r}: {exc}; routing it to failure")
            for split in splits:
                session.remove(split)
            session.transfer(original, FAILURE)
            return
        count = str(len(splits))
        for split in splits:
            session.transfer(session.put_attribute(split, FRAGMENT_COUNT, count), SPLIT)
        marks = {FRAGMENT_ID: identifier} | ({FRAGMENT_COUNT: count} if splits else {})
        session.transfer(session.put_attributes(original, marks), ORIGINAL)


def _splits(stream: Any, split_depth: int) -> Any:
    """The serialized splits of the document in ``stream``, one by one."""
    depth = 0
    for event, element in _safe_xml.iterparse(stream, ("start", "end")):
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth == split_depth:
            yield serialize_split(element)
        if 0 < depth <= split_depth:
            # written (or holding only written splits): drop it, and its earlier siblings, from the tree
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
