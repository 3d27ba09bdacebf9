"""RouteOnContent: route FlowFiles by regular expressions matched against their content."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flowyard.processors._text_support import character_set_property, evaluate_decorated
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    DynamicRelationshipSpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    PropertyValue,
    Relationship,
    ValidationResult,
    validators,
)
from flowyard.runtime.sdk.javaregex import JavaPattern, JavaRegexError, compile_java, java_regex_problem, quote_literal

__all__ = ["ROUTE_ATTRIBUTE", "RouteOnContent"]

_BATCH = 50

ROUTE_ATTRIBUTE = "RouteOnContent.Route"
"""The attribute naming the relationship a FlowFile was routed to."""

MATCH_ALL = "content must match exactly"
MATCH_SUBSEQUENCE = "content must contain match"

UNMATCHED = Relationship(
    "unmatched", "FlowFiles whose content none of the regular expressions matches.",
)

MATCH_REQUIREMENT = PropertySpec(
    key="match-requirement",
    display_name="Match Requirement",
    description="Whether a regular expression must match all the content read (up to Content Buffer Size) or "
                "just some part of it.",
    required=True,
    default=MATCH_ALL,
    allowed_values=(AllowableValue(MATCH_ALL), AllowableValue(MATCH_SUBSEQUENCE)),
)
CHARACTER_SET = character_set_property()
BUFFER_SIZE = PropertySpec(
    key="content-buffer-size",
    display_name="Content Buffer Size",
    description="How much of the start of each FlowFile the regular expressions read; the rest is not looked "
                "at.",
    required=True,
    default="1 MB",
    validator=validators.DATA_SIZE,
)


def _regex_problem(pattern: str) -> str | None:
    return java_regex_problem(pattern)


class RouteOnContent(Processor):
    """Applies each dynamic property's Regular Expression (Java syntax) to the
    content and routes the FlowFile to every relationship whose expression
    matches, cloning it when several do, or to 'unmatched'.

    With 'content must match exactly' the whole buffered content must match
    (Java's ``matches``); with 'content must contain match' a match anywhere
    will do (``find``). Only the first Content Buffer Size bytes are read;
    bytes that are not valid in the Character Set read as U+FFFD, as in NiFi.
    Expressions in a property are evaluated per FlowFile and their values
    match literally. Each routed FlowFile gets ``RouteOnContent.Route`` and a
    ROUTE provenance event; the original goes to the first matching
    relationship in name order.

    Differences from NiFi: when several relationships match, the original goes
    to the first by name (NiFi's order is unspecified); a property whose
    expression yields an invalid regular expression for a FlowFile (NiFi
    throws and rolls back) makes that FlowFile penalized and kept in its queue
    with an error bulletin; in a value mixing text and expressions, the
    attribute values the expressions read are quoted rather than their
    results (the same unless a function builds regex syntax); up to 50
    FlowFiles are processed per session.
    """

    spec = ProcessorSpec(
        description="Routes FlowFiles by regular expressions on their content: each dynamic property names a "
                    "relationship, and a copy of the FlowFile goes to every one whose expression matches.",
        tags=("route", "content", "regex", "regular expression", "regexp", "find", "text", "string", "search",
              "filter", "detect"),
        properties=(MATCH_REQUIREMENT, CHARACTER_SET, BUFFER_SIZE),
        relationships=(UNMATCHED,),
        dynamic_properties=DynamicPropertySpec(
            name_description="The relationship matching FlowFiles go to",
            value_description="A (Java) regular expression for the content; text from Expression Language in it "
                              "is matched as it is",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
            validator=validators.Validator("Java regular expression", "a Java regular expression", _regex_problem),
        ),
        dynamic_relationships=DynamicRelationshipSpec(
            "A copy of each FlowFile whose content the expression of the same-named property matches."
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=((ROUTE_ATTRIBUTE, "Which relationship this FlowFile went to."),),
    )

    def __init__(self) -> None:
        self._fixed: dict[str, JavaPattern] = {}

    @classmethod
    def relationships_for(
        cls, dynamic_properties: Mapping[str, str], properties: Mapping[str, str | None]
    ) -> tuple[Relationship, ...]:
        """'unmatched' plus one relationship per dynamic property."""
        description = cls.spec.dynamic_relationships.description if cls.spec.dynamic_relationships else ""
        dynamic = (Relationship(name, description) for name in sorted(dynamic_properties) if name != UNMATCHED.name)
        return (UNMATCHED, *dynamic)

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """No property may be called 'unmatched'; a property with an expression
        must be a valid regular expression once evaluated without a FlowFile."""
        results = []
        for name, value in sorted(context.dynamic_properties.items()):
            if name == UNMATCHED.name:
                results.append(ValidationResult(name, "'unmatched' is a relationship of its own", name))
                continue
            raw = value.raw or ""
            if "${" in raw or "#{" in raw:
                try:
                    problem = java_regex_problem(value.evaluate(None).value or "")
                except ValueError as exc:
                    problem = f"cannot evaluate the expression: {exc}"
                if problem is not None:
                    results.append(ValidationResult(name, problem, name))
        return results

    def on_scheduled(self, context: ProcessContext) -> None:
        """Compile the patterns that hold no expression."""
        self._fixed = {name: compile_java(value.raw or "") for name, value in context.dynamic_properties.items()
                       if not _has_expression(value.raw)}

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Route a batch of FlowFiles."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        charset = context.property(CHARACTER_SET).as_str()
        limit = context.property(BUFFER_SIZE).as_data_size()
        exact = context.property(MATCH_REQUIREMENT).as_str() == MATCH_ALL
        conditions = sorted((name, value) for name, value in context.dynamic_properties.items()
                            if name != UNMATCHED.name)
        for ff in batch:
            with session.read(ff) as stream:
                text = stream.read(limit).decode(charset, "replace")
            try:
                destinations = [name for name, value in conditions
                                if self._matches(self._pattern(name, value, ff), text, exact)]
            except (JavaRegexError, ValueError) as exc:
                context.logger.error(f"cannot evaluate the regular expressions for {ff!r}: {exc}; penalizing it "
                                     "and returning it to its queue")
                session.transfer(session.penalize(ff))
                continue
            _route(session, ff, destinations or [UNMATCHED.name])

    def _pattern(self, name: str, value: PropertyValue, ff: FlowFile) -> JavaPattern:
        fixed = self._fixed.get(name)
        if fixed is not None:
            return fixed
        return compile_java(evaluate_decorated(value, ff.attributes, quote_literal))

    @staticmethod
    def _matches(pattern: JavaPattern, text: str, exact: bool) -> bool:
        regex = pattern.regex
        return (regex.fullmatch(text) if exact else regex.search(text)) is not None


def _has_expression(raw: str | None) -> bool:
    return raw is not None and ("${" in raw or "#{" in raw)


def _route(session: ProcessSession, ff: FlowFile, destinations: list[str]) -> None:
    """Send ``ff`` to the first destination and a clone to each other one."""
    first, *others = destinations
    for name in others:
        clone = session.put_attribute(session.clone(ff), ROUTE_ATTRIBUTE, name)
        session.provenance.route(clone, name)
        session.transfer(clone, name)
    ff = session.put_attribute(ff, ROUTE_ATTRIBUTE, first)
    session.provenance.route(ff, first)
    session.transfer(ff, first)
