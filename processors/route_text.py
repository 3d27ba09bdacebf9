"""RouteText: route the lines of FlowFile text to relationships by conditions on each line."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from flowyard.processors._common import boolean_property, is_true
from flowyard.processors._text_support import character_set_property, decode_chunks, iter_lines, java_trim
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
from flowyard.runtime.sdk.javaregex import (
    CASE_INSENSITIVE,
    JavaPattern,
    JavaRegexError,
    compile_java,
    java_regex_problem,
)

__all__ = ["GROUP_ATTRIBUTE", "ROUTE_ATTRIBUTE", "RouteText"]

_BATCH = 10
# Routed text is written out once a group holds this many characters.
_FLUSH_CHARS = 1 << 20

ROUTE_ATTRIBUTE = "RouteText.Route"
GROUP_ATTRIBUTE = "RouteText.Group"

ROUTE_TO_PROPERTY_NAME = "Route to each matching Property Name"
ROUTE_ALL_MATCH = "Route to 'matched' if line matches all conditions"
ROUTE_ANY_MATCHES = "Route to 'matched' if lines matches any condition"

SATISFIES_EXPRESSION = "Satisfies Expression"
STARTS_WITH = "Starts With"
ENDS_WITH = "Ends With"
CONTAINS = "Contains"
EQUALS = "Equals"
MATCHES_REGEX = "Matches Regular Expression"
CONTAINS_REGEX = "Contains Regular Expression"

ORIGINAL = Relationship(
    "original", "The incoming FlowFile, after its lines have been sent on.",
)
UNMATCHED = Relationship("unmatched", "The lines that meet no condition (or, with the 'matched' strategies, not "
                                      "enough of them).")
MATCHED = Relationship(
    "matched", "With the two 'matched' Routing Strategies, the lines that meet all or any of the conditions.",
)

ROUTING_STRATEGY = PropertySpec(
    key="routing-strategy",
    display_name="Routing Strategy",
    description="How the results of the user-defined conditions choose the relationship(s) of each line.",
    required=True,
    default=ROUTE_TO_PROPERTY_NAME,
    allowed_values=(
        AllowableValue(ROUTE_TO_PROPERTY_NAME, description="Lines go to each relationship whose condition they "
                       "satisfy (to unmatched when none)."),
        AllowableValue(ROUTE_ALL_MATCH, description="Lines that satisfy every condition go to matched, the others to "
                       "unmatched."),
        AllowableValue(ROUTE_ANY_MATCHES, description="Lines that satisfy at least one condition go to matched, the "
                       "others to unmatched."),
    ),
)
MATCHING_STRATEGY = PropertySpec(
    key="matching-strategy",
    display_name="Matching Strategy",
    description="The test each line is put to with the value of every dynamic property.",
    required=True,
    allowed_values=(
        AllowableValue(SATISFIES_EXPRESSION, description="The value is an Expression Language condition; besides "
                       "the attributes it sees 'line' (the line with its ending) and 'lineNo' (counting from 1)."),
        AllowableValue(STARTS_WITH, description="The line starts with the property value."),
        AllowableValue(ENDS_WITH, description="The line ends with the property value."),
        AllowableValue(CONTAINS, description="The line contains the property value."),
        AllowableValue(EQUALS, description="The line equals the property value."),
        AllowableValue(MATCHES_REGEX, description="The whole line matches the (Java) Regular Expression."),
        AllowableValue(CONTAINS_REGEX, description="Some text of the line matches the (Java) Regular Expression."),
    ),
)
CHARACTER_SET = character_set_property(description="The character set the text is read and written in.")
TRIM_WHITESPACE = PropertySpec(
    key="ignore-leading-trailing-whitespace",
    display_name="Ignore Leading/Trailing Whitespace",
    description="Whether each line is trimmed of spaces and control characters at both ends before it is tested.",
    required=True,
    default="true",
    validator=validators.BOOLEAN,
)
IGNORE_CASE = boolean_property(
    "ignore-case", "Ignore Case",
    "Whether upper and lower case count as the same in the tests ('Satisfies Expression' is not affected).",
    "false",
)


def _grouping_problem(value: str) -> str | None:
    return java_regex_problem(value, min_groups=1)


GROUPING_REGEX = PropertySpec(
    key="grouping-regular-expression",
    display_name="Grouping Regular Expression",
    description="A (Java) regular expression with one or more groups, matched against each whole line. Routed "
                "lines are split into FlowFiles by the values of the groups (lines it does not match form one "
                "group of their own); those values, joined by ', ', make the RouteText.Group attribute.",
    validator=validators.Validator("Java regular expression with a capturing group",
                                   "a Java regular expression with at least one capturing group", _grouping_problem),
)

Condition = Callable[[str, str, int], bool]
"""Whether a line matches: (text to match, the line with its ending, line number)."""


@dataclass(slots=True)
class _Output:
    """A FlowFile being filled with the lines of one (relationship, group)."""

    flowfile: FlowFile
    pending: list[str] = field(default_factory=list)
    size: int = 0


class _LineError(Exception):
    """A condition could not be evaluated for a line."""


def _equals_ignore_case(a: str, b: str) -> bool:
    """Java's ``String.equalsIgnoreCase``: character by character, upper or lower case."""
    return len(a) == len(b) and all(
        x == y or x.upper() == y.upper() or x.lower() == y.lower() for x, y in zip(a, b))


def _text_to_match(line: str, trim: bool) -> str:
    if trim:
        return java_trim(line)
    # NiFi cuts at the first "\r" or "\n", unless that is the first character
    # (so an empty line keeps its ending).
    cr, nl = line.find("\r"), line.find("\n")
    if cr > 0 and nl > 0:
        return line[:min(cr, nl)]
    if cr > 0:
        return line[:cr]
    if nl > 0:
        return line[:nl]
    return line


class RouteText(Processor):
    """Splits the text of each FlowFile into lines and routes every line, by
    the user-defined conditions, into new FlowFiles — one per relationship
    (and per group, with a Grouping Regular Expression) — as NiFi does.

    Lines end after ``\\n``, ``\\r\\n`` or a lone ``\\r`` and keep their
    ending in the output. Each line is compared after removing leading and
    trailing white space (Ignore Leading/Trailing Whitespace) or else its
    line ending. Values of the conditions are evaluated once per FlowFile
    against its attributes (for 'Satisfies Expression', per line with
    ``line`` and ``lineNo`` as well). New FlowFiles carry ``RouteText.Route``
    (their relationship) and ``RouteText.Group`` (the group's values joined by
    ', ', empty without grouping) and a ROUTE event; the original goes to
    'original' with ``RouteText.Route`` = original. Bytes that are not valid
    in the Character Set read as U+FFFD, as in NiFi. A FlowFile whose
    condition cannot be evaluated (an expression failing, a value that is not
    a valid regular expression) is penalized and kept in its queue with an
    error bulletin; nothing it produced so far is kept.

    Differences from NiFi: lines routed to an auto-terminated relationship
    are still written (and dropped); new FlowFiles are emitted in the order
    their first line was seen (NiFi's order is unspecified); a FlowFile whose
    condition fails is kept penalized rather than rolled back with the
    session.
    """

    spec = ProcessorSpec(
        description="Routes the lines of text FlowFiles, each on its own, by conditions given as dynamic "
                    "properties; the lines going to one relationship are gathered into new FlowFiles.",
        tags=("attributes", "routing", "text", "regexp", "regex", "Regular Expression", "Expression Language", "csv",
              "filter", "logs", "delimited", "find", "string", "search", "detect", "lines"),
        properties=(ROUTING_STRATEGY, MATCHING_STRATEGY, CHARACTER_SET, TRIM_WHITESPACE, IGNORE_CASE,
                    GROUPING_REGEX),
        relationships=(ORIGINAL, UNMATCHED, MATCHED),
        dynamic_properties=DynamicPropertySpec(
            name_description="The relationship for lines meeting the condition",
            value_description="What each line is tested against, as the Matching Strategy says",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
            validator=validators.NON_EMPTY,
        ),
        dynamic_relationships=DynamicRelationshipSpec(
            "With 'Route to each matching Property Name': the lines that satisfy the condition of the same name."
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            (ROUTE_ATTRIBUTE, "Which relationship this FlowFile of lines went to."),
            (GROUP_ATTRIBUTE, "The values of the Grouping Regular Expression's groups for the lines of this "
                              "FlowFile, joined by ', '."),
        ),
    )

    @classmethod
    def relationships_for(
        cls, dynamic_properties: Mapping[str, str], properties: Mapping[str, str | None]
    ) -> tuple[Relationship, ...]:
        """'original' and 'unmatched', plus one per dynamic property when routing
        to property names, else 'matched'."""
        strategy = properties.get(ROUTING_STRATEGY.key) or ROUTE_TO_PROPERTY_NAME
        if strategy != ROUTE_TO_PROPERTY_NAME:
            return (ORIGINAL, UNMATCHED, MATCHED)
        description = cls.spec.dynamic_relationships.description if cls.spec.dynamic_relationships else ""
        taken = {ORIGINAL.name, UNMATCHED.name}
        dynamic = (Relationship(name, description) for name in sorted(dynamic_properties) if name not in taken)
        return (ORIGINAL, UNMATCHED, *dynamic)

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """There must be conditions; regular expressions must be valid; a
        'Satisfies Expression' condition must be an expression."""
        conditions = context.dynamic_properties
        if not conditions:
            return [ValidationResult("Dynamic Properties",
                                     "In order to route text there must be dynamic properties to match against")]
        strategy = context.property(MATCHING_STRATEGY).as_str()
        results = []
        for name, value in sorted(conditions.items()):
            raw = value.raw or ""
            if strategy in (MATCHES_REGEX, CONTAINS_REGEX):
                try:
                    pattern = (value.evaluate(None).value or "") if ("${" in raw or "#{" in raw) else raw
                except ValueError as exc:
                    results.append(ValidationResult(name, f"cannot evaluate the expression: {exc}", name))
                    continue
                problem = java_regex_problem(pattern)
                if problem is not None:
                    results.append(ValidationResult(name, problem, name))
            elif strategy == SATISFIES_EXPRESSION and context.expression_language_enabled:
                problem = validators.BOOLEAN_EXPRESSION(raw)
                if problem is not None:
                    results.append(ValidationResult(name, problem, name))
        return results

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Route the lines of a batch of FlowFiles."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        grouping_raw = context.property(GROUPING_REGEX).value
        grouping = compile_java(grouping_raw) if grouping_raw else None
        for ff in batch:
            outputs: dict[tuple[str, tuple[str, ...]], _Output] = {}
            try:
                self._route_lines(context, session, ff, grouping, outputs)
            except (_LineError, JavaRegexError, ValueError) as exc:
                for output in outputs.values():
                    session.remove(output.flowfile)
                context.logger.error(f"cannot route the lines of {ff!r}: {exc}; penalizing it and returning it to "
                                     "its queue")
                session.transfer(session.penalize(ff))
                continue
            charset = context.property(CHARACTER_SET).as_str()
            for (relationship, group), output in outputs.items():
                child = self._flush(session, output, charset)
                child = session.put_attributes(child, {ROUTE_ATTRIBUTE: relationship,
                                                       GROUP_ATTRIBUTE: ", ".join(group)})
                session.provenance.route(child, relationship)
                session.transfer(child, relationship)
            session.provenance.route(ff, ORIGINAL.name)
            session.transfer(session.put_attribute(ff, ROUTE_ATTRIBUTE, ORIGINAL.name), ORIGINAL)

    def _conditions(self, context: ProcessContext, ff: FlowFile) -> list[tuple[str, Condition]]:
        strategy = context.property(MATCHING_STRATEGY).as_str()
        ignore_case = context.property(IGNORE_CASE).as_bool()
        attributes = ff.attributes
        conditions: list[tuple[str, Condition]] = []
        for name, value in sorted(context.dynamic_properties.items()):
            if strategy == SATISFIES_EXPRESSION:
                conditions.append((name, _expression_condition(value, attributes)))
                continue
            text = value.evaluate(attributes).value or ""
            conditions.append((name, _condition(strategy, text, ignore_case)))
        return conditions

    def _route_lines(self, context: ProcessContext, session: ProcessSession, ff: FlowFile,
                     grouping: JavaPattern | None, outputs: dict[tuple[str, tuple[str, ...]], _Output]) -> None:
        conditions = self._conditions(context, ff)
        routing = context.property(ROUTING_STRATEGY).as_str()
        trim = context.property(TRIM_WHITESPACE).as_bool()
        charset = context.property(CHARACTER_SET).as_str()
        count = len(conditions)
        lines = iter_lines(decode_chunks(session.iter_content(ff), charset, "replace"))
        for number, line in enumerate(lines, start=1):
            text = _text_to_match(line, trim)
            group = _group(grouping, text)
            matched = 0
            for name, condition in conditions:
                hit = condition(text, line, number)
                if hit:
                    matched += 1
                    if routing == ROUTE_TO_PROPERTY_NAME:
                        self._append(session, ff, outputs, name, group, line, charset)
                        continue
                    if routing == ROUTE_ANY_MATCHES:
                        break
                elif routing == ROUTE_ALL_MATCH:
                    break
            if routing == ROUTE_TO_PROPERTY_NAME:
                if matched:
                    continue
                destination = UNMATCHED.name
            elif routing == ROUTE_ANY_MATCHES:
                destination = MATCHED.name if matched else UNMATCHED.name
            else:
                destination = MATCHED.name if matched == count else UNMATCHED.name
            self._append(session, ff, outputs, destination, group, line, charset)

    def _append(self, session: ProcessSession, parent: FlowFile, outputs: dict[tuple[str, tuple[str, ...]], _Output],
                relationship: str, group: tuple[str, ...], line: str, charset: str) -> None:
        key = (relationship, group)
        output = outputs.get(key)
        if output is None:
            output = outputs[key] = _Output(session.create(parent))
        output.pending.append(line)
        output.size += len(line)
        if output.size >= _FLUSH_CHARS:
            output.flowfile = self._flush(session, output, charset)

    @staticmethod
    def _flush(session: ProcessSession, output: _Output, charset: str) -> FlowFile:
        if output.pending:
            data = "".join(output.pending).encode(charset, "replace")
            output.flowfile = session.append(output.flowfile, data)
            output.pending.clear()
            output.size = 0
        return output.flowfile


def _group(grouping: JavaPattern | None, text: str) -> tuple[str, ...]:
    if grouping is None:
        return ()
    match = grouping.regex.fullmatch(text)
    if match is None:
        return ()
    return tuple(value or "" for value in match.groups())


def _expression_condition(value: PropertyValue, attributes: Mapping[str, str]) -> Condition:
    base = dict(attributes)

    def satisfies(_text: str, line: str, number: int) -> bool:
        base["line"] = line
        base["lineNo"] = str(number)
        try:
            return is_true(value.evaluate(base).value)
        except ValueError as exc:
            raise _LineError(f"line {number}: {exc}") from exc
    return satisfies


def _condition(strategy: str, value: str, ignore_case: bool) -> Condition:
    if strategy in (MATCHES_REGEX, CONTAINS_REGEX):
        regex = compile_java(value, CASE_INSENSITIVE if ignore_case else 0).regex
        if strategy == MATCHES_REGEX:
            return lambda text, _line, _n: regex.fullmatch(text) is not None
        return lambda text, _line, _n: regex.search(text) is not None
    if strategy == EQUALS:
        if ignore_case:
            return lambda text, _line, _n: _equals_ignore_case(text, value)
        return lambda text, _line, _n: text == value
    lowered = value.lower()
    if strategy == STARTS_WITH:
        if ignore_case:
            return lambda text, _line, _n: text.lower().startswith(lowered)
        return lambda text, _line, _n: text.startswith(value)
    if strategy == ENDS_WITH:
        if ignore_case:
            return lambda text, _line, _n: text.lower().endswith(lowered)
        return lambda text, _line, _n: text.endswith(value)
    if ignore_case:
        return lambda text, _line, _n: lowered in text.lower()
    return lambda text, _line, _n: value in text
