"""ReplaceText: search and replace, prepend, append or substitute in FlowFile text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from flowyard.processors._text_support import (
    LineBufferOverflow,
    SubstitutionCycleError,
    character_set_property,
    data_size_property,
    decode_chunks,
    escape_back_references,
    escape_literal_back_references,
    evaluate_decorated,
    is_single_expression,
    iter_lines,
    line_ending,
    normalize_replacement,
    substitute_variables,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    PropertyValue,
    Relationship,
    SchedulingDefaults,
    ValidationResult,
)
from flowyard.runtime.sdk.javaregex import (
    JavaPattern,
    JavaRegexError,
    JavaReplacement,
    compile_java,
    java_regex_problem,
    quote_literal,
)

__all__ = ["ReplaceText"]

_BATCH = 50
# Content up to this size is read in one piece in Line-by-Line mode; larger content streams.
_IN_MEMORY = 4 << 20

PREPEND = "Prepend"
APPEND = "Append"
SURROUND = "Surround"
REGEX_REPLACE = "Regex Replace"
LITERAL_REPLACE = "Literal Replace"
ALWAYS_REPLACE = "Always Replace"
SUBSTITUTE_VARIABLES = "Substitute Variables"

LINE_BY_LINE = "Line-by-Line"
ENTIRE_TEXT = "Entire text"

ALL = "All"
FIRST_LINE = "First-Line"
LAST_LINE = "Last-Line"
EXCEPT_FIRST_LINE = "Except-First-Line"
EXCEPT_LAST_LINE = "Except-Last-Line"

DEFAULT_REGEX = "(?s)(^.*$)"
DEFAULT_REPLACEMENT = "$1"

SUCCESS = Relationship(
    "success",
    "FlowFiles whose text was processed, including those in which nothing matched.",
)
FAILURE = Relationship(
    "failure",
    "FlowFiles left unchanged because they exceed the buffer, are not text in the Character Set, or make an "
    "expression or replacement fail.",
)

REPLACEMENT_STRATEGY = PropertySpec(
    key="replacement-strategy",
    display_name="Replacement Strategy",
    description="What is done to the text: a search and replace, or adding text around it.",
    required=True,
    default=REGEX_REPLACE,
    allowed_values=(
        AllowableValue(PREPEND, description="The Replacement Value is added before the text (or before each "
                       "selected line)."),
        AllowableValue(APPEND, description="The Replacement Value is added after the text (or after each selected "
                       "line, ahead of its line ending)."),
        AllowableValue(SURROUND, description="Text to Prepend goes before and Text to Append after the text (or "
                       "each selected line)."),
        AllowableValue(REGEX_REPLACE, description="Each match of the Search Value, a (Java) regular expression, "
                       "becomes the Replacement Value, in which $1, $2... stand for the groups. A Search Value of .* "
                       "replaces the whole text outright."),
        AllowableValue(LITERAL_REPLACE, description="Each occurrence of the Search Value, taken as plain text, "
                       "becomes the Replacement Value."),
        AllowableValue(ALWAYS_REPLACE, description="The Replacement Value takes the place of the whole text (or of "
                       "each selected line); nothing is searched for."),
        AllowableValue(SUBSTITUTE_VARIABLES, description="Each ${name} in the text becomes the value of the "
                       "attribute called name; Search and Replacement Values are not used."),
    ),
)
SEARCH_VALUE = PropertySpec(
    key="search-value",
    display_name="Search Value",
    description="What to look for in the text: a regular expression for 'Regex Replace', plain text for "
                "'Literal Replace'. Text produced by Expression Language in it is matched as it is.",
    required=True,
    default=DEFAULT_REGEX,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency(REPLACEMENT_STRATEGY.key, (REGEX_REPLACE, LITERAL_REPLACE)),),
    aliases=("Regular Expression",),
)
REPLACEMENT_VALUE = PropertySpec(
    key="replacement-value",
    display_name="Replacement Value",
    description="The text the Replacement Strategy writes. With 'Regex Replace', $1, $2... stand for the groups "
                "of the match ($n of a group the expression lacks stays as written), and Expression Language sees "
                "them as the attributes '$1', '$2'... (quoted: ${'$1':toUpper()}).",
    required=True,
    default=DEFAULT_REPLACEMENT,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency(REPLACEMENT_STRATEGY.key,
                                     (REGEX_REPLACE, LITERAL_REPLACE, ALWAYS_REPLACE, PREPEND, APPEND)),),
)
PREPEND_TEXT = PropertySpec(
    key="text-to-prepend",
    display_name="Text to Prepend",
    description="With 'Surround', the text added before the text (or each selected line).",
    required=True,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency(REPLACEMENT_STRATEGY.key, (SURROUND,)),),
)
APPEND_TEXT = PropertySpec(
    key="text-to-append",
    display_name="Text to Append",
    description="With 'Surround', the text added after the text (or each selected line).",
    required=True,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency(REPLACEMENT_STRATEGY.key, (SURROUND,)),),
)
CHARACTER_SET = character_set_property()
MAX_BUFFER_SIZE = data_size_property(
    "maximum-buffer-size", "Maximum Buffer Size",
    "How much text may be held in memory at once: the whole FlowFile in 'Entire text' mode, one line in "
    "'Line-by-Line' mode (lines of up to 8192 characters are always accepted). A FlowFile over the limit goes to "
    "failure. Not used by Append, Prepend, Surround and Always Replace in 'Entire text' mode.",
)
EVALUATION_MODE = PropertySpec(
    key="evaluation-mode",
    display_name="Evaluation Mode",
    description="Whether the Replacement Strategy works on each line on its own or on the whole text at once "
                "(held in memory).",
    required=True,
    default=LINE_BY_LINE,
    allowed_values=(AllowableValue(LINE_BY_LINE), AllowableValue(ENTIRE_TEXT)),
)
LINE_BY_LINE_EVALUATION_MODE = PropertySpec(
    key="line-by-line-evaluation-mode",
    display_name="Line-by-Line Evaluation Mode",
    description="In Line-by-Line mode, the lines the strategy applies to: all of them, only the first (header) or "
                "last (footer), or all but the first or the last.",
    default=ALL,
    allowed_values=tuple(AllowableValue(v) for v in (ALL, FIRST_LINE, LAST_LINE, EXCEPT_FIRST_LINE,
                                                      EXCEPT_LAST_LINE)),
)

LineFunction = Callable[[str], str]


class ReplaceFailed(Exception):
    """This FlowFile cannot be processed; it goes to failure with ``reason``."""


def _has_expression(raw: str | None) -> bool:
    return raw is not None and ("${" in raw or "#{" in raw)


def _evaluate(value: PropertyValue, attributes: Mapping[str, str] | None) -> str:
    try:
        return value.evaluate(attributes).value or ""
    except ValueError as exc:
        raise ReplaceFailed(f"cannot evaluate {value.spec.display_name if value.spec else 'a property'}: "
                            f"{exc}") from exc


@dataclass(frozen=True, slots=True)
class _Plan:
    """What on_scheduled decided: the effective strategy and the fixed pieces."""

    strategy: str
    mode: str
    lines: str
    charset: str
    max_buffer: int
    pattern: JavaPattern | None      # Regex Replace with a Search Value holding no expression


class ReplaceText(Processor):
    """Updates FlowFile content as NiFi's ReplaceText does, with every
    Replacement Strategy in both Evaluation Modes.

    Regular expressions and replacement strings are Java's (``$1`` for a
    group, ``\\$`` for a literal dollar), with NiFi's handling: a ``$n``
    naming no group stays literal (``$123`` with one group is ``$1`` then
    ``23``), and a replacement holding ``$`` followed by a non-digit is taken
    literally as a whole. ``${...}`` in the Replacement Value is Expression
    Language, so Java's ``${name}`` group references are not available (as in
    NiFi). Expressions in the Replacement Value are
    evaluated for every match with the groups available as the attributes
    ``$0``, ``$1``...; text they produce is never read as a back-reference.
    Values of expressions in the Search Value match literally. A Search Value
    of exactly ``.*`` (or the default one with an empty Replacement Value in
    'Entire text' mode) replaces everything without matching, as in NiFi.

    Line-by-Line mode splits lines after ``\\n``, ``\\r\\n`` or a lone ``\\r``
    and hands each line to the strategy with its line ending (so a regular
    expression sees it; Java's ``.`` and ``$`` treat it as NiFi's do); Append
    and Surround insert before the ending, Always Replace keeps it, and a last
    line without one stays without. Empty content stays empty. Content is
    streamed in Line-by-Line mode and with Prepend/Append/Surround in 'Entire
    text' mode; other strategies buffer the whole FlowFile up to the Maximum
    Buffer Size (larger FlowFiles go to failure). Substitute Variables
    follows Commons Text's StringSubstitutor as NiFi does: ``${name}`` takes
    the attribute (itself substituted), ``${name:-default}`` a default,
    unknown names stay, ``$${`` is a literal ``${``; a value that refers back
    to itself sends the FlowFile to failure.

    Differences from NiFi: content that is not valid in the Character Set goes
    to failure (NiFi replaces the bad bytes with U+FFFD and carries on); a
    replacement that Java's ``appendReplacement`` rejects at run time (e.g.
    ``$1`` with a pattern that has no group) sends that FlowFile to failure
    instead of rolling the session back; a pattern Java's recursive matcher
    overflows its stack on (NiFi sends those to failure) is matched; the
    decorators NiFi applies to expression results are applied to the
    attribute values the expression reads, so a function that builds ``$1``
    out of other text (rare) is not escaped; lengths for the line buffer are
    counted in code points, not UTF-16 units. Up to 50 FlowFiles are
    processed per session.
    """

    spec = ProcessorSpec(
        description="Changes the text content of FlowFiles: replaces what a regular expression or a literal "
                    "value matches, replaces the text outright, or adds text before or after it, for the whole "
                    "content or line by line.",
        tags=("Text", "Regular Expression", "Update", "Change", "Replace", "Modify", "Regex", "text", "replace",
              "regex"),
        properties=(REPLACEMENT_STRATEGY, SEARCH_VALUE, REPLACEMENT_VALUE, PREPEND_TEXT, APPEND_TEXT, CHARACTER_SET,
                    MAX_BUFFER_SIZE, EVALUATION_MODE, LINE_BY_LINE_EVALUATION_MODE),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        scheduling=SchedulingDefaults(run_duration="25 millis"),
    )

    def __init__(self) -> None:
        self._plan: _Plan | None = None

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """A Literal Replace needs a non-empty Search Value; a Regex Replace a
        valid (Java) regular expression, judged after evaluating expressions
        without a FlowFile, as NiFi does."""
        strategy = context.property(REPLACEMENT_STRATEGY).as_str()
        search = context.property(SEARCH_VALUE)
        raw = search.raw or ""
        if strategy == LITERAL_REPLACE and not raw:
            return [ValidationResult(SEARCH_VALUE.display_name, "the Search Value must not be empty",
                                     SEARCH_VALUE.key)]
        if strategy == REGEX_REPLACE:
            try:
                pattern = (search.evaluate(None).value or "") if _has_expression(raw) else raw
            except ValueError as exc:
                return [ValidationResult(SEARCH_VALUE.display_name, f"cannot evaluate the expression: {exc}",
                                         SEARCH_VALUE.key)]
            problem = java_regex_problem(pattern)
            if problem is not None:
                return [ValidationResult(SEARCH_VALUE.display_name, problem, SEARCH_VALUE.key)]
        return []

    def on_scheduled(self, context: ProcessContext) -> None:
        """Choose the effective strategy (NiFi's shortcuts to Always Replace) and compile a fixed pattern."""
        strategy = context.property(REPLACEMENT_STRATEGY).as_str()
        mode = context.property(EVALUATION_MODE).as_str()
        search = context.property(SEARCH_VALUE).raw or ""
        pattern = None
        if strategy == REGEX_REPLACE:
            replacement = context.property(REPLACEMENT_VALUE).raw or ""
            if search == ".*" or (search == DEFAULT_REGEX and mode == ENTIRE_TEXT and replacement == ""):
                strategy = ALWAYS_REPLACE
            elif not _has_expression(search):
                pattern = compile_java(search)
        self._plan = _Plan(
            strategy=strategy, mode=mode,
            lines=context.property(LINE_BY_LINE_EVALUATION_MODE).value or ALL,
            charset=context.property(CHARACTER_SET).as_str(),
            max_buffer=context.property(MAX_BUFFER_SIZE).as_data_size(),
            pattern=pattern,
        )

    def on_stopped(self, context: ProcessContext) -> None:
        """Forget the plan (a restart may bring a new configuration)."""
        self._plan = None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Update a batch of FlowFiles; each goes to success or failure."""
        plan = self._plan
        if plan is None:
            self.on_scheduled(context)
            plan = self._plan
            assert plan is not None
        for ff in session.get_batch(_BATCH):
            try:
                updated = self._replace(context, session, plan, ff)
            except ReplaceFailed as exc:
                context.logger.warning(f"routing {ff!r} to failure: {exc}")
                session.transfer(ff, FAILURE)
                continue
            session.transfer(updated, SUCCESS)

    # -- one FlowFile ----------------------------------------------------------------------

    def _replace(self, context: ProcessContext, session: ProcessSession, plan: _Plan, ff: FlowFile) -> FlowFile:
        strategy = plan.strategy
        buffered = strategy in (REGEX_REPLACE, LITERAL_REPLACE, SUBSTITUTE_VARIABLES)
        if plan.mode == ENTIRE_TEXT:
            if buffered and ff.size > plan.max_buffer:
                raise ReplaceFailed(f"its {ff.size} bytes are more than the Maximum Buffer Size "
                                    f"({plan.max_buffer} bytes)")
            return self._entire_text(context, session, plan, ff)
        line_function = self._line_function(context, plan, ff)
        return self._line_by_line(session, plan, ff, line_function)

    def _encode(self, plan: _Plan, text: str) -> bytes:
        return text.encode(plan.charset, "replace")

    def _text(self, session: ProcessSession, plan: _Plan, ff: FlowFile) -> str:
        try:
            return session.read_bytes(ff).decode(plan.charset)
        except UnicodeDecodeError as exc:
            raise ReplaceFailed(f"its content is not valid {plan.charset}: {exc}") from exc

    def _entire_text(self, context: ProcessContext, session: ProcessSession, plan: _Plan, ff: FlowFile) -> FlowFile:
        attributes = ff.attributes
        strategy = plan.strategy
        if strategy == ALWAYS_REPLACE:
            value = _evaluate(context.property(REPLACEMENT_VALUE), attributes)
            return session.write(ff, self._encode(plan, value))
        if strategy in (PREPEND, APPEND, SURROUND):
            if strategy == SURROUND:
                before = _evaluate(context.property(PREPEND_TEXT), attributes)
                after = _evaluate(context.property(APPEND_TEXT), attributes)
            else:
                value = _evaluate(context.property(REPLACEMENT_VALUE), attributes)
                before, after = (value, "") if strategy == PREPEND else ("", value)
            head, tail = self._encode(plan, before), self._encode(plan, after)
            return session.write(ff, _surrounded(head, session.iter_content(ff), tail))
        text = self._text(session, plan, ff)
        if strategy == REGEX_REPLACE:
            replaced = _RegexReplacer(context, plan, ff).replace(text)
            return ff if replaced is None else session.write(ff, self._encode(plan, replaced))
        if strategy == LITERAL_REPLACE:
            search = _evaluate(context.property(SEARCH_VALUE), attributes)
            value = _evaluate(context.property(REPLACEMENT_VALUE), attributes)
            return session.write(ff, self._encode(plan, text.replace(search, value)))
        try:
            return session.write(ff, self._encode(plan, substitute_variables(text, attributes)))
        except SubstitutionCycleError as exc:
            raise ReplaceFailed(str(exc)) from exc

    def _line_function(self, context: ProcessContext, plan: _Plan, ff: FlowFile) -> LineFunction:
        attributes = ff.attributes
        strategy = plan.strategy
        if strategy == REGEX_REPLACE:
            replacer = _RegexReplacer(context, plan, ff)

            def regex(line: str) -> str:
                replaced = replacer.replace(line)
                return line if replaced is None else replaced
            return regex
        if strategy == LITERAL_REPLACE:
            search = _evaluate(context.property(SEARCH_VALUE), attributes)
            value = _evaluate(context.property(REPLACEMENT_VALUE), attributes)
            return lambda line: line.replace(search, value)
        if strategy == SUBSTITUTE_VARIABLES:
            def substitute(line: str) -> str:
                try:
                    return substitute_variables(line, attributes)
                except SubstitutionCycleError as exc:
                    raise ReplaceFailed(str(exc)) from exc
            return substitute
        if strategy == ALWAYS_REPLACE:
            value = _evaluate(context.property(REPLACEMENT_VALUE), attributes)
            return lambda line: value + line_ending(line)
        if strategy == PREPEND:
            value = _evaluate(context.property(REPLACEMENT_VALUE), attributes)
            return lambda line: value + line
        if strategy == SURROUND:
            before = _evaluate(context.property(PREPEND_TEXT), attributes)
            after = _evaluate(context.property(APPEND_TEXT), attributes)
        else:
            before, after = "", _evaluate(context.property(REPLACEMENT_VALUE), attributes)

        def surround(line: str) -> str:
            # NiFi inserts before the first "\r" or "\n" of the line.
            cut = len(line)
            for i, ch in enumerate(line):
                if ch in "\r\n":
                    cut = i
                    break
            return before + line[:cut] + after + line[cut:]
        return surround

    def _line_by_line(self, session: ProcessSession, plan: _Plan, ff: FlowFile, apply: LineFunction) -> FlowFile:
        if ff.size == 0:
            return ff
        if ff.size <= _IN_MEMORY:
            chunks: Iterable[str] = [self._text(session, plan, ff)]
        else:
            chunks = decode_chunks(session.iter_content(ff), plan.charset)
        lines = iter_lines(chunks, plan.max_buffer)
        try:
            if ff.size <= _IN_MEMORY:
                output = "".join(_select(lines, plan.lines, apply))
                return session.write(ff, self._encode(plan, output))
            encoded = (self._encode(plan, piece) for piece in _select(lines, plan.lines, apply))
            return session.write(ff, encoded)
        except LineBufferOverflow as exc:
            raise ReplaceFailed(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise ReplaceFailed(f"its content is not valid {plan.charset}: {exc}") from exc


def _surrounded(head: bytes, body: Iterable[bytes], tail: bytes) -> Iterator[bytes]:
    if head:
        yield head
    yield from body
    if tail:
        yield tail


def _select(lines: Iterator[str], which: str, apply: LineFunction) -> Iterator[str]:
    """Each line, passed through ``apply`` when the Line-by-Line Evaluation Mode selects it."""
    previous = next(lines, None)
    if previous is None:
        return
    first = True
    for line in lines:
        if which in (ALL, EXCEPT_LAST_LINE) or (which == FIRST_LINE and first) or \
                (which == EXCEPT_FIRST_LINE and not first):
            yield apply(previous)
        else:
            yield previous
        first = False
        previous = line
    last_selected = which in (ALL, LAST_LINE) or (which == FIRST_LINE and first) or \
        (which == EXCEPT_FIRST_LINE and not first)
    yield apply(previous) if last_selected else previous


class _RegexReplacer:
    """Regex Replace for one FlowFile: its pattern and replacement, prepared once."""

    __slots__ = ("_attributes", "_cache", "_decorate_result", "_fixed", "_pattern", "_value")

    def __init__(self, context: ProcessContext, plan: _Plan, ff: FlowFile) -> None:
        attributes = ff.attributes
        pattern = plan.pattern
        if pattern is None:
            search = context.property(SEARCH_VALUE)
            try:
                pattern = compile_java(evaluate_decorated(search, attributes, quote_literal))
            except JavaRegexError as exc:
                raise ReplaceFailed(f"the Search Value is not a valid regular expression: {exc}") from exc
            except ValueError as exc:
                raise ReplaceFailed(f"cannot evaluate Search Value: {exc}") from exc
        self._pattern = pattern
        self._value = context.property(REPLACEMENT_VALUE)
        self._cache: dict[str, JavaReplacement] = {}
        self._fixed: JavaReplacement | None = None
        raw = self._value.raw or ""
        # NiFi escapes back-references in what expressions produce: the whole result
        # of a lone expression, else (nearly the same) the values it reads.
        self._decorate_result = is_single_expression(raw)
        self._attributes: dict[str, str] = {}
        if not _has_expression(raw):
            self._fixed = self._prepared(_evaluate(self._value, attributes))
        elif self._decorate_result:
            self._attributes = dict(attributes)
        else:
            self._attributes = {key: escape_back_references(value) for key, value in attributes.items()}

    def _prepared(self, value: str) -> JavaReplacement:
        prepared = self._cache.get(value)
        if prepared is None:
            text = normalize_replacement(escape_literal_back_references(value, self._pattern.group_count))
            try:
                prepared = JavaReplacement(text, self._pattern)
            except JavaRegexError as exc:
                raise ReplaceFailed(f"the replacement {value!r} is not valid for the Search Value: {exc}") from exc
            self._cache[value] = prepared
        return prepared

    def _per_match(self, match: re.Match[str]) -> str:
        attributes = dict(self._attributes)
        decorate_result = self._decorate_result
        for index in range(self._pattern.group_count + 1):
            group = match.group(index)
            if group is not None:
                attributes[f"${index}"] = group if decorate_result else escape_back_references(group)
        value = _evaluate(self._value, attributes)
        if decorate_result:
            value = escape_back_references(value)
        return self._prepared(value).expand(match)

    def replace(self, text: str) -> str | None:
        """``text`` with every match replaced, or None when nothing matched."""
        regex = self._pattern.regex
        if self._fixed is not None:
            replaced, count = regex.subn(self._fixed.as_function(), text)
        else:
            replaced, count = regex.subn(self._per_match, text)
        return replaced if count else None
