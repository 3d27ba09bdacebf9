"""ExtractText: put what regular expressions capture from FlowFile content into attributes."""

from __future__ import annotations

from collections.abc import Iterable

from flowyard.processors._common import BOOLEAN_VALUES, boolean_property
from flowyard.processors._text_support import character_set_property
from flowyard.runtime.sdk import (
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
from flowyard.runtime.sdk.javaregex import (
    CANON_EQ,
    CASE_INSENSITIVE,
    COMMENTS,
    DOTALL,
    LITERAL,
    MULTILINE,
    UNICODE_CASE,
    UNICODE_CHARACTER_CLASS,
    UNIX_LINES,
    JavaPattern,
    compile_java,
    java_regex_problem,
)

__all__ = ["ExtractText"]

_BATCH = 50
_MAX_GROUPS = 40

MATCHED = Relationship(
    "matched",
    "FlowFiles for which at least one Regular Expression captured a non-empty value, with the attributes added.",
)
UNMATCHED = Relationship(
    "unmatched",
    "FlowFiles no Regular Expression captured anything from; no attributes are added.",
)

CHARACTER_SET = character_set_property()
MAX_BUFFER_SIZE = PropertySpec(
    key="maximum-buffer-size",
    display_name="Maximum Buffer Size",
    description="How much of the start of each FlowFile the regular expressions read; the rest is not looked "
                "at.",
    required=True,
    default="1 MB",
    validator=validators.DATA_SIZE,
)
MAX_CAPTURE_GROUP_LENGTH = PropertySpec(
    key="maximum-capture-group-length",
    display_name="Maximum Capture Group Length",
    description="Attribute values taken from groups are cut to this many characters.",
    default="1024",
    validator=validators.POSITIVE_INTEGER,
)


def _flag(key: str, name: str, description: str, default: str = "false") -> PropertySpec:
    return boolean_property(key, name, description, default)


CANON_EQ_PROPERTY = _flag("enable-canonical-equivalence", "Enable Canonical Equivalence",
                          "Java's CANON_EQ flag (characters match by their canonical decompositions); accepted but "
                          "without effect, see the notes.")
CASE_INSENSITIVE_PROPERTY = _flag("enable-case-insensitive-matching", "Enable Case-insensitive Matching",
                                  "Letters match regardless of case (only ASCII letters unless Unicode-aware Case "
                                  "Folding is on). Same as (?i) in the expression.")
COMMENTS_PROPERTY = _flag("permit-whitespace-and-comments-in-pattern", "Permit Whitespace and Comments in Pattern",
                          "Spaces in the expression do not count, and # starts a comment up to the line's end. "
                          "Same as (?x) in the expression.")
DOTALL_PROPERTY = _flag("enable-dotall-mode", "Enable DOTALL Mode",
                        "'.' also matches line terminators. Same as (?s) in the expression.")
LITERAL_PROPERTY = _flag("enable-literal-parsing-of-the-pattern", "Enable Literal Parsing of the Pattern",
                         "The expression is plain text: no character in it is special.")
MULTILINE_PROPERTY = _flag("enable-multiline-mode", "Enable Multiline Mode",
                           "'^' and '$' match at the start and end of every line, not just of the whole text. "
                           "Same as (?m) in the expression.")
UNICODE_CASE_PROPERTY = _flag("enable-unicode-aware-case-folding", "Enable Unicode-aware Case Folding",
                              "Case-insensitive matching covers all Unicode letters, not just ASCII. Same as (?u) "
                              "in the expression.")
UNICODE_CLASS_PROPERTY = _flag("enable-unicode-predefined-character-classes",
                               "Enable Unicode Predefined Character Classes",
                               "\\d, \\w, \\s and the POSIX classes take in Unicode characters, not just ASCII. "
                               "Same as (?U) in the expression.")
UNIX_LINES_PROPERTY = _flag("enable-unix-lines-mode", "Enable Unix Lines Mode",
                            "'.', '^' and '$' treat only '\\n' as a line end. Same as (?d) in the expression.")
INCLUDE_GROUP_ZERO = _flag("include-capture-group-0", "Include Capture Group 0",
                           "Whether the whole match (group 0) also becomes an attribute, <name>.0.",
                           "true")
REPEATING = boolean_property(
    "enable-repeating-capture-group", "Enable Repeating Capture Group",
    "Whether every match of the expression adds attributes, their group numbers carrying on from the previous "
    "match's, or only the first match does.",
    "false", aliases=("extract-text-enable-repeating-capture-group", "Enable repeating capture group"),
)
NAMED_GROUPS = PropertySpec(
    key="enable-named-groups",
    display_name="Enable Named Groups",
    description="Whether attributes take the names of the expression's groups (<name>.<group>) rather than their "
                "numbers; every group must then have a name.",
    default="false",
    allowed_values=BOOLEAN_VALUES,
    validator=validators.BOOLEAN,
    aliases=("extract-text-enable-named-groups", "Enable named group support"),
)

_FLAG_PROPERTIES = (
    (UNIX_LINES_PROPERTY, UNIX_LINES), (CASE_INSENSITIVE_PROPERTY, CASE_INSENSITIVE), (COMMENTS_PROPERTY, COMMENTS),
    (MULTILINE_PROPERTY, MULTILINE), (LITERAL_PROPERTY, LITERAL), (DOTALL_PROPERTY, DOTALL),
    (UNICODE_CASE_PROPERTY, UNICODE_CASE), (CANON_EQ_PROPERTY, CANON_EQ),
    (UNICODE_CLASS_PROPERTY, UNICODE_CHARACTER_CLASS),
)


def _check_dynamic(value: str) -> str | None:
    return java_regex_problem(value, max_groups=_MAX_GROUPS)


JAVA_REGEX_VALIDATOR = validators.Validator(
    "Java regular expression", "a Java regular expression with at most 40 capturing groups", _check_dynamic)


def compile_flags(context: ProcessContext) -> int:
    """The ``java.util.regex.Pattern`` flags the flag properties select."""
    flags = 0
    for spec, bit in _FLAG_PROPERTIES:
        if context.property(spec).as_bool():
            flags |= bit
    return flags


class ExtractText(Processor):
    """Evaluates each dynamic property's Regular Expression (Java syntax)
    against the content and puts what it captures into attributes named
    after the property, as NiFi does.

    For a property ``regex``: group 1 of the first match goes to ``regex``,
    every group *n* of it to ``regex.n`` (group 0, the whole match, only when
    Include Capture Group 0 is true); a group that did not take part or
    captured nothing adds no attribute. With Enable Repeating Capture Group,
    later matches continue the numbering (``a=1,b=2`` with ``(\\w)=(\\d)`` gives
    ``regex.1``..``regex.4``). With Enable Named Groups and every group named,
    attributes are ``regex.<name>`` (``regex.<name>.<n>`` for the n-th further
    match) and ``regex`` holds the whole first match. Values are cut to
    Maximum Capture Group Length characters. Only the first Maximum Buffer
    Size bytes of the content are evaluated; bytes that are not valid in the
    Character Set read as U+FFFD, as in NiFi. A FlowFile goes to 'matched'
    when at least one attribute was added, else to 'unmatched'.

    Differences from NiFi: Enable Canonical Equivalence is accepted but has
    no effect; the Java regular expression features listed for the shared
    translator (class intersection, \\G, scripts and blocks) are not
    supported and make the configuration invalid; lengths are counted in
    code points, not UTF-16 units; up to 50 FlowFiles are processed per
    session.
    """

    blocking = True
    spec = ProcessorSpec(
        description="Puts what regular expressions, given as dynamic properties, capture from the content of "
                    "FlowFiles into attributes named after the properties.",
        tags=("evaluate", "extract", "Text", "Regular Expression", "regex", "text", "attributes"),
        properties=(CHARACTER_SET, MAX_BUFFER_SIZE, MAX_CAPTURE_GROUP_LENGTH, CANON_EQ_PROPERTY,
                    CASE_INSENSITIVE_PROPERTY, COMMENTS_PROPERTY, DOTALL_PROPERTY, LITERAL_PROPERTY,
                    MULTILINE_PROPERTY, UNICODE_CASE_PROPERTY, UNICODE_CLASS_PROPERTY, UNIX_LINES_PROPERTY,
                    INCLUDE_GROUP_ZERO, REPEATING, NAMED_GROUPS),
        relationships=(MATCHED, UNMATCHED),
        dynamic_properties=DynamicPropertySpec(
            name_description="The attribute the captured text goes to (with .1, .2... for the groups)",
            value_description="A (Java) regular expression with at least one group",
            validator=JAVA_REGEX_VALIDATOR,
        ),
        input_requirement=InputRequirement.REQUIRED,
    )

    def __init__(self) -> None:
        self._patterns: list[tuple[str, JavaPattern]] = []

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Each pattern must compile with the flags; with Include Capture Group 0
        false it needs a capturing group; with named groups every group must be named."""
        results = []
        flags = compile_flags(context)
        zero = context.property(INCLUDE_GROUP_ZERO).as_bool()
        named = context.property(NAMED_GROUPS).value == "true"
        for name, value in sorted(context.dynamic_properties.items()):
            pattern = value.raw or ""
            problem = java_regex_problem(pattern, flags, min_groups=0 if zero else 1, max_groups=_MAX_GROUPS)
            if problem is None and named:
                compiled = compile_java(pattern, flags)
                if compiled.group_count != len(compiled.group_names):
                    problem = "Named group count does not match total group count"
            if problem is not None:
                results.append(ValidationResult(name, problem, name))
        return results

    def on_scheduled(self, context: ProcessContext) -> None:
        """Compile every pattern with the flags."""
        flags = compile_flags(context)
        self._patterns = [(name, compile_java(value.raw or "", flags))
                          for name, value in sorted(context.dynamic_properties.items())]

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Extract from a batch of FlowFiles."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        charset = context.property(CHARACTER_SET).as_str()
        max_buffer = context.property(MAX_BUFFER_SIZE).as_data_size()
        max_length = context.property(MAX_CAPTURE_GROUP_LENGTH).as_int()
        zero = context.property(INCLUDE_GROUP_ZERO).as_bool()
        repeating = context.property(REPEATING).as_bool()
        named = context.property(NAMED_GROUPS).value == "true"
        for ff in batch:
            text = self._content(session, ff, max_buffer).decode(charset, "replace")
            results: dict[str, str] = {}
            for name, pattern in self._patterns:
                _extract(results, name, pattern, text, zero=zero, repeating=repeating, named=named,
                         max_length=max_length)
            if results:
                session.transfer(session.put_attributes(ff, results), MATCHED)
            else:
                session.transfer(ff, UNMATCHED)

    @staticmethod
    def _content(session: ProcessSession, ff: FlowFile, max_buffer: int) -> bytes:
        if ff.size <= max_buffer:
            return session.read_bytes(ff)
        with session.read(ff) as stream:
            return stream.read(max_buffer)


def _extract(results: dict[str, str], name: str, pattern: JavaPattern, text: str, *, zero: bool,
             repeating: bool, named: bool, max_length: int) -> None:
    """Add what ``pattern`` captures from ``text`` to ``results``, with NiFi's attribute names."""
    groups = pattern.group_count
    use_names = named and groups == len(pattern.group_names)
    j = 0
    for match in pattern.regex.finditer(text):
        if use_names:
            for group in pattern.group_names:
                value = match.group(group)
                if value:
                    key = f"{name}.{group}" if j == 0 else f"{name}.{group}.{j}"
                    results[key] = value[:max_length]
            if zero and j == 0:
                results[name] = match.group(0)
            j += 1
        else:
            start = (0 if zero else 1) if j == 0 else 1
            for i in range(start, groups + 1):
                value = match.group(i)
                if value:
                    value = value[:max_length]
                    results[f"{name}.{i + j}"] = value
                    if i == 1 and j == 0:
                        results[name] = value
            j += groups
        if not repeating:
            break
