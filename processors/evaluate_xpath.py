"""EvaluateXPath: evaluate XPath expressions against XML content, into attributes or the content."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from lxml import etree

from flowyard.processors import _safe_xml
from flowyard.processors._common import boolean_property
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["XPATH_VALIDATOR", "EvaluateXPath", "compile_xpath"]

_BATCH = 50

DESTINATION_CONTENT = "flowfile-content"
DESTINATION_ATTRIBUTE = "flowfile-attribute"
RETURN_AUTO = "auto-detect"
RETURN_NODESET = "nodeset"
RETURN_STRING = "string"

MATCHED = Relationship(
    "matched", "FlowFiles that received the XPath results, in attributes or as content."
)
UNMATCHED = Relationship(
    "unmatched",
    "FlowFiles (unchanged) for which a 'nodeset' XPath selected no node.",
)
FAILURE = Relationship(
    "failure",
    "FlowFiles (unchanged) that are not well-formed or safe XML, whose XPath cannot be evaluated, or for which "
    "a 'nodeset' XPath selected more than one node.",
)

DESTINATION = PropertySpec(
    key="destination",
    display_name="Destination",
    description=(
        "Whether the results go to attributes named by the dynamic properties, or replace the content; with "
        "flowfile-content exactly one XPath may be set and its name is ignored."
    ),
    required=True,
    default=DESTINATION_CONTENT,
    allowed_values=(
        AllowableValue(DESTINATION_CONTENT, description="The result replaces the content."),
        AllowableValue(DESTINATION_ATTRIBUTE, description="Each result goes to the attribute named by its property."),
    ),
)
RETURN_TYPE = PropertySpec(
    key="return-type",
    display_name="Return Type",
    description=(
        "What the XPaths return: auto-detect means 'nodeset' for flowfile-content and 'string' for "
        "flowfile-attribute."
    ),
    required=True,
    default=RETURN_AUTO,
    allowed_values=(
        AllowableValue(RETURN_AUTO, description="nodeset for flowfile-content, string for flowfile-attribute."),
        AllowableValue(RETURN_NODESET, description="Exactly one node, serialized as XML."),
        AllowableValue(RETURN_STRING, description="The XPath string value of the result."),
    ),
)
ALLOW_DTD = boolean_property(
    "allow-dtd",
    "Allow DTD",
    "Accept an internal Document Type Declaration (its internal entities are expanded, bounded). External "
    "DTDs and entities are refused whatever this says. Keep false to refuse entity expansion attacks outright.",
    "false",
    aliases=("Validate DTD",),
)

# XPath 2.0's "any namespace" name test (*:name), which NiFi's tests and flows use,
# rewritten for XPath 1.0. String literals are skipped.
_WILDCARD_PREFIX = re.compile(r"""("[^"]*"|'[^']*')|(?<![\w.\-:])\*:([A-Za-z_][\w.\-]*)""")
_PROBE = etree.fromstring(b"<probe/>").getroottree()


# -- a few XPath 2.0 string functions NiFi users reach for, on XPath 1.0 ----------------


def _string_value(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float):
        return str(int(item)) if item.is_integer() else repr(item)
    if isinstance(item, str):
        return str(item)
    if isinstance(item, etree._ElementTree):
        item = item.getroot()
    return "".join(item.itertext()) if isinstance(item, etree._Element) else str(item)


def _string(arg: Any) -> str:
    """XPath's string() of an argument: a node-set gives its first node's value."""
    if isinstance(arg, list):
        return _string_value(arg[0]) if arg else ""
    return _string_value(arg)


_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def _regex(pattern: Any, flags: Any = "") -> re.Pattern[str]:
    value = 0
    for flag in _string(flags):
        if flag not in _REGEX_FLAGS:
            raise ValueError(f"unknown regular expression flag {flag!r}")
        value |= _REGEX_FLAGS[flag]
    try:
        return re.compile(_string(pattern), value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {_string(pattern)!r}: {exc}") from None


def _replacement_parts(text: str) -> list[str | int]:
    """XPath 2.0's replacement string: ``$N`` is a group, ``\\$`` and ``\\\\`` are literal."""
    parts: list[str | int] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "\\$":
                raise ValueError(f"invalid replacement string {text!r}: '\\' must escape '\\' or '$'")
            literal.append(text[i + 1])
            i += 2
        elif char == "$":
            j = i + 1
            while j < len(text) and text[j].isdigit():
                j += 1
            if j == i + 1:
                raise ValueError(f"invalid replacement string {text!r}: '$' must be followed by a group number")
            parts.append("".join(literal))
            literal = []
            parts.append(int(text[i + 1:j]))
            i = j
        else:
            literal.append(char)
            i += 1
    parts.append("".join(literal))
    return parts


def _replace(_: Any, text: Any, pattern: Any, replacement: Any, flags: Any = "") -> str:
    regex = _regex(pattern, flags)
    parts = _replacement_parts(_string(replacement))

    def expand(match: re.Match[str]) -> str:
        return "".join(
            part if isinstance(part, str) else (match.group(part) or "") if part <= regex.groups else ""
            for part in parts
        )

    return regex.sub(expand, _string(text))


_EXTENSIONS: dict[tuple[str | None, str], Any] = {
    (None, "lower-case"): lambda _, text: _string(text).lower(),
    (None, "upper-case"): lambda _, text: _string(text).upper(),
    (None, "ends-with"): lambda _, text, suffix: _string(text).endswith(_string(suffix)),
    (None, "matches"): lambda _, text, pattern, flags="": _regex(pattern, flags).search(_string(text)) is not None,
    (None, "replace"): _replace,
    (None, "string-join"): lambda _, items, separator="": _string(separator).join(
        _string_value(item) for item in (items if isinstance(items, list) else [items])
    ),
    (None, "abs"): lambda _, number: abs(float(_string(number)) if not isinstance(number, float) else number),
}


def _translate(expression: str) -> str:
    def replace(match: re.Match[str]) -> str:
        literal, local = match.group(1), match.group(2)
        return literal if literal is not None else f"*[local-name()='{local}']"

    return _WILDCARD_PREFIX.sub(replace, expression)


@functools.lru_cache(maxsize=256)
def compile_xpath(expression: str) -> etree.XPath:
    """The compiled XPath 1.0 expression (``*:name`` accepted). Raises
    ``ValueError`` naming the problem for an expression libxml2 refuses, or one
    that uses an unbound namespace prefix, an unknown function or a variable."""
    translated = _translate(expression)
    try:
        compiled = etree.XPath(translated, smart_strings=False, extensions=_EXTENSIONS)
        compiled(_PROBE)  # unknown prefixes, functions and variables only show on evaluation
    except (etree.XPathError, ValueError, TypeError) as exc:  # TypeError: a function's argument count
        raise ValueError(f"{expression!r} is not a valid XPath 1.0 expression: {exc}") from None
    return compiled


@functools.lru_cache(maxsize=256)
def _compile_string(expression: str) -> etree.XPath:
    compile_xpath(expression)
    return etree.XPath(f"string(({_translate(expression)}))", smart_strings=False, extensions=_EXTENSIONS)


def _check_xpath(value: str) -> str | None:
    if not value.strip():
        return "an XPath expression must not be blank"
    try:
        compile_xpath(value)
    except ValueError as exc:
        return str(exc)
    return None


XPATH_VALIDATOR = validators.Validator(
    "XPath", "an XPath 1.0 expression (with *:name for any namespace)", _check_xpath
)


class XPathResultError(ValueError):
    """An XPath gave a result the Return Type cannot use."""


class _NoMatch(Exception):
    """A nodeset XPath selected nothing."""


def _serialize(node: Any) -> str:
    """A selected node as text: elements (and the document) as XML with a
    declaration, indented by two spaces; other nodes as their string value."""
    if isinstance(node, etree._ElementTree):
        node = node.getroot()
    if isinstance(node, etree._Element) and isinstance(node.tag, str):
        copy = etree.fromstring(etree.tostring(node, with_tail=False))
        etree.indent(copy, space="  ")
        body = etree.tostring(copy, encoding="unicode", with_tail=False)
        return f'<?xml version="1.0" encoding="UTF-8"?>{body}'
    if isinstance(node, etree._Element):  # comment or processing instruction
        return str(etree.tostring(node, encoding="unicode", with_tail=False))
    return str(node)


def _evaluate(expression: str, tree: Any, return_type: str) -> str:
    if return_type == RETURN_STRING:
        return str(_compile_string(expression)(tree))
    if expression.strip() == "/":
        nodes: Any = [tree]
    else:
        nodes = compile_xpath(expression)(tree)
    if not isinstance(nodes, list):
        raise XPathResultError(f"XPath {expression!r} returns a {type(nodes).__name__}, not a node-set")
    if not nodes:
        raise _NoMatch
    if len(nodes) > 1:
        raise XPathResultError(f"XPath {expression!r} selected {len(nodes)} nodes; a nodeset result must be one node")
    return _serialize(nodes[0])


class EvaluateXPath(Processor):
    """Evaluates each dynamic property's XPath against the XML content and puts
    the results into attributes named by the properties, or the single result
    into the content.

    As in NiFi: 'auto-detect' means nodeset for flowfile-content and string
    for flowfile-attribute; a nodeset XPath selecting no node sends the
    FlowFile unchanged to unmatched, more than one node to failure; with
    flowfile-attribute a string XPath matching nothing gives an empty
    attribute and the FlowFile still goes to matched; content that is not
    well-formed XML goes to failure. A selected element is serialized with an
    XML declaration and two-space indentation. Results are written only when
    every XPath succeeded. The document is parsed safely (``_safe_xml``): a
    DOCTYPE is refused unless Allow DTD is true, external entities and DTDs
    are never loaded, entity bombs and documents nested deeper than 256
    elements or with a text node over 10 MB are refused — each to failure
    with the reason logged as an error (a bulletin).

    Differences from NiFi: XPaths are XPath 1.0 (libxml2), where NiFi uses
    Saxon's XPath 3.1 engine; XPath 2.0's ``*:name`` name test is rewritten
    to ``*[local-name()='name']`` so NiFi's common use of it works, and the
    XPath 2.0 functions ``lower-case``, ``upper-case``, ``ends-with``,
    ``matches``, ``replace`` (regular expressions in Python's dialect, flags
    i, m, s, x), ``string-join`` and ``abs`` are provided on strings; other
    2.0+ functions and syntax are invalid. As in NiFi, no namespace prefixes
    are bound, so a prefixed name test is invalid. A selected text,
    attribute or comment node gives its string value (no XML declaration).
    An external DTD is refused (NiFi tries to load it and fails); XPaths are
    evaluated in property-name order.
    """

    spec = ProcessorSpec(
        description=(
            "Evaluates XPath expressions against the XML content of FlowFiles and writes the results to "
            "attributes or to the content."
        ),
        tags=("XML", "evaluate", "XPath", "xml", "xpath", "extract"),
        properties=(DESTINATION, RETURN_TYPE, ALLOW_DTD),
        relationships=(MATCHED, UNMATCHED, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="The attribute that receives the result (with Destination flowfile-attribute)",
            value_description="The XPath to evaluate",
            validator=XPATH_VALIDATOR,
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(("user-defined", "With flowfile-attribute, one attribute per dynamic property."),),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """flowfile-content needs exactly one XPath."""
        destination = context.property(DESTINATION).as_str()
        if destination == DESTINATION_CONTENT and len(context.dynamic_properties) != 1:
            return [ValidationResult(
                "XPaths", f"Exactly one XPath must be set if using destination of {DESTINATION_CONTENT}"
            )]
        return []

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Evaluate the XPaths against a batch of FlowFiles."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        destination = context.property(DESTINATION).as_str()
        return_type = context.property(RETURN_TYPE).as_str()
        if return_type == RETURN_AUTO:
            return_type = RETURN_NODESET if destination == DESTINATION_CONTENT else RETURN_STRING
        allow_dtd = context.property(ALLOW_DTD).as_bool()
        xpaths = sorted((name, value.as_str()) for name, value in context.dynamic_properties.items())
        for ff in batch:
            self._one(context, session, ff, xpaths, destination, return_type, allow_dtd)

    @staticmethod
    def _one(
        context: ProcessContext, session: ProcessSession, ff: FlowFile, xpaths: list[tuple[str, str]],
        destination: str, return_type: str, allow_dtd: bool,
    ) -> None:
        try:
            tree = _safe_xml.parse(session.read_bytes(ff), allow_dtd=allow_dtd)
        except ValueError as exc:
            context.logger.error(f"cannot parse the content of {ff!r} as XML: {exc}; routing it to failure")
            session.transfer(ff, FAILURE)
            return
        results: dict[str, str] = {}
        for name, expression in xpaths:
            try:
                results[name] = _evaluate(expression, tree, return_type)
            except _NoMatch:
                context.logger.info(f"XPath {name!r} selected nothing in {ff!r}; routing it to unmatched")
                session.transfer(ff, UNMATCHED)
                return
            except (ValueError, TypeError, etree.XPathError) as exc:
                context.logger.error(f"XPath {name!r} failed on {ff!r}: {exc}; routing it to failure")
                session.transfer(ff, FAILURE)
                return
        if destination == DESTINATION_ATTRIBUTE:
            ff = session.put_attributes(ff, results)
            session.transfer(ff, MATCHED if results else UNMATCHED)
            return
        ((_, result),) = results.items()
        ff = session.write(ff, result.encode("utf-8"))
        session.transfer(ff, MATCHED)
