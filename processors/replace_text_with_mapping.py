"""ReplaceTextWithMapping: replace what a regular expression matches with values from a mapping file."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping

from flowyard.processors._text_support import character_set_property, evaluate_decorated, java_trim
from flowyard.runtime.sdk import (
    ExpressionScope,
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
    JavaRegexError,
    JavaReplacement,
    compile_java,
    java_regex_problem,
    quote_literal,
)

__all__ = ["ReplaceTextWithMapping", "fill_back_references", "parse_mapping"]

_BATCH = 50
_BACK_REFERENCE = re.compile(r"[^\\]\$([0-9]+)")
_DOLLAR_NOT_DIGIT = re.compile(r"(\$[^0-9])")
_SEPARATORS = re.compile(r"[\t ]+")

SUCCESS = Relationship(
    "success",
    "FlowFiles whose matches were replaced, and those in which nothing matched, unchanged.",
)
FAILURE = Relationship(
    "failure",
    "FlowFiles left unchanged because they exceed the Maximum Buffer Size, are not text in the Character Set, or "
    "make the expression or a mapped value fail.",
)


def _is_inline(value: str) -> bool:
    return "\n" in value or "\r" in value or "\t" in value


def _check_mapping_file(value: str) -> str | None:
    if _is_inline(value):
        return None
    return validators.FILE_EXISTS(value)


REGEX = PropertySpec(
    key="regular-expression",
    display_name="Regular Expression",
    description="A (Java) regular expression; its matches in the text are looked up in the mapping. Text from "
                "Expression Language in it is matched as it is.",
    required=True,
    default="\\S+",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
MATCHING_GROUP = PropertySpec(
    key="matching-group",
    display_name="Matching Group",
    description="Which group of each match is the mapping key and gets replaced by its mapped value (0 for the "
                "whole match).",
    required=True,
    default="0",
    validator=validators.INTEGER,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
MAPPING_FILE = PropertySpec(
    key="mapping-file",
    display_name="Mapping File",
    description="The file (full path) holding the mappings, one per line: a key, then tabs or spaces, then the "
                "value (which may refer to groups as $1). The mappings themselves may also be given here directly "
                "(text with a tab or a line break).",
    required=True,
    validator=validators.Validator("mapping file", "the path of an existing file, or mapping text",
                                   _check_mapping_file),
)
REFRESH_INTERVAL = PropertySpec(
    key="mapping-file-refresh-interval",
    display_name="Mapping File Refresh Interval",
    description="How often to check the mapping file for changes; a file modified since it was read is read again.",
    required=True,
    default="60s",
    validator=validators.TIME_PERIOD,
)
CHARACTER_SET = character_set_property()
MAX_BUFFER_SIZE = PropertySpec(
    key="maximum-buffer-size",
    display_name="Maximum Buffer Size",
    description="The largest FlowFile held in memory for the replacement; larger ones go to failure.",
    required=True,
    default="1 MB",
    validator=validators.DATA_SIZE,
)


def parse_mapping(text: str) -> dict[str, str]:
    """The mappings of a mapping file: per line, the key up to the first run of
    tabs or spaces and the (trimmed) rest as the value; a line with only a key
    maps it to the empty string; blank lines are skipped."""
    mapping: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.lstrip("\t ")
        if not stripped:
            continue
        parts = _SEPARATORS.split(stripped, maxsplit=1)
        key = java_trim(parts[0])
        mapping[key] = java_trim(parts[1]) if len(parts) == 2 else ""
    return mapping


def fill_back_references(value: str, group_count: int) -> str:
    """NiFi's preparation of a mapping value: a ``$n`` naming no group is
    escaped, as is any ``$`` not followed by a digit, so both stay literal."""
    result = value
    inserted = 0
    for m in _BACK_REFERENCE.finditer(value):
        if int(m.group(1)) > group_count:
            at = m.start(1) + inserted
            inserted += 1
            result = result[:at - 1] + "\\" + result[at - 1:]
    return _DOLLAR_NOT_DIGIT.sub(r"\\\1", result)


class _Failed(Exception):
    """This FlowFile goes to failure."""


class ReplaceTextWithMapping(Processor):
    """Replaces each match of the Regular Expression (Java syntax) whose
    Matching Group text is a key of the mapping with the key's value; matches
    whose key is not mapped stay as they are, as does the text around the
    group within a match. Mapping values may refer to the groups of the match
    (``$1``); a reference to a group that does not exist, or a ``$`` not
    followed by a digit, stays literal, and ``\\$`` is a literal dollar.

    The mapping file is read at the first trigger and checked again every
    Mapping File Refresh Interval; it is read again when its modification time
    is newer than the one read. A file that cannot be read is reported with an
    error bulletin and the previous mappings stay in use (none at first, so
    content passes unchanged). The whole FlowFile is buffered: FlowFiles
    larger than the Maximum Buffer Size go to failure.

    Differences from NiFi: text outside the replaced group (unmapped matches
    and the parts of a match around the group) is copied verbatim (NiFi
    passes it through ``appendReplacement``, which drops its backslashes and
    fails on a trailing one); content that is not valid in the Character Set
    goes to failure (NiFi replaces the bad bytes with U+FFFD); mapping text
    given directly in Mapping File must contain a tab or a line break to be
    told from a path; the mapping file is read as UTF-8.
    """

    spec = ProcessorSpec(
        description="Replaces what a regular expression matches in the text content of FlowFiles with the value "
                    "a mapping file gives for it; matches without a mapping stay as they are.",
        tags=("Text", "Regular Expression", "Update", "Change", "Replace", "Modify", "Regex", "Mapping", "text",
              "replace", "lookup"),
        properties=(REGEX, MATCHING_GROUP, MAPPING_FILE, REFRESH_INTERVAL, CHARACTER_SET, MAX_BUFFER_SIZE),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mapping: dict[str, str] = {}
        self._modified = 0.0
        self._checked_ms: int | None = None

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """The Regular Expression, evaluated without a FlowFile, must be valid and
        have at least Matching Group capturing groups."""
        regex = context.property(REGEX)
        try:
            pattern = regex.evaluate(None).value or ""
            group = context.property(MATCHING_GROUP).evaluate(None).as_int()
        except ValueError as exc:
            return [ValidationResult(REGEX.display_name, f"cannot evaluate the expression: {exc}", REGEX.key)]
        problem = java_regex_problem(pattern)
        if problem is not None:
            return [ValidationResult(REGEX.display_name, problem, REGEX.key)]
        if group < 0 or group > compile_java(pattern).group_count:
            return [ValidationResult("Insufficient Matching Groups",
                                     "The specified matching group does not exist for the regular expression "
                                     "provided")]
        return []

    def on_scheduled(self, context: ProcessContext) -> None:
        """Start with no mappings; the first trigger reads the file."""
        with self._lock:
            self._mapping = {}
            self._modified = 0.0
            self._checked_ms = None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Refresh the mapping when due, then update a batch of FlowFiles."""
        self._refresh(context)
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        mapping = self._mapping
        max_buffer = context.property(MAX_BUFFER_SIZE).as_data_size()
        for ff in batch:
            if ff.size > max_buffer:
                context.logger.warning(f"routing {ff!r} to failure: its {ff.size} bytes are more than the Maximum "
                                       f"Buffer Size ({max_buffer} bytes)")
                session.transfer(ff, FAILURE)
                continue
            try:
                updated = self._replace(context, session, ff, mapping)
            except _Failed as exc:
                context.logger.warning(f"routing {ff!r} to failure: {exc}")
                session.transfer(ff, FAILURE)
                continue
            session.transfer(updated, SUCCESS)

    def _refresh(self, context: ProcessContext) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another task is refreshing; use the mapping as it is
        try:
            now = context.now_ms()
            interval_ms = context.property(REFRESH_INTERVAL).as_duration() * 1000
            if self._checked_ms is not None and now <= self._checked_ms + interval_ms:
                return
            self._checked_ms = now
            value = context.property(MAPPING_FILE).as_str()
            if _is_inline(value):
                self._mapping = parse_mapping(value)
                return
            try:
                modified = os.stat(value).st_mtime
                if modified > self._modified:
                    with open(value, encoding="utf-8") as handle:
                        mapping = parse_mapping(handle.read())
                    self._mapping, self._modified = mapping, modified
                    context.logger.info(f"read {len(mapping)} mapping(s) from {value}")
            except (OSError, UnicodeDecodeError) as exc:
                context.logger.error(f"Mapping file does not exist or is not readable: {value} ({exc})")
        finally:
            self._lock.release()

    def _replace(self, context: ProcessContext, session: ProcessSession, ff: FlowFile,
                 mapping: Mapping[str, str]) -> FlowFile:
        charset = context.property(CHARACTER_SET).as_str()
        try:
            pattern = compile_java(evaluate_decorated(context.property(REGEX), ff.attributes, quote_literal))
            group = context.property(MATCHING_GROUP).evaluate(None).as_int()
        except (JavaRegexError, ValueError) as exc:
            raise _Failed(f"the Regular Expression cannot be used: {exc}") from exc
        if group > pattern.group_count:
            raise _Failed(f"the Regular Expression has no group {group}")
        try:
            text = session.read_bytes(ff).decode(charset)
        except UnicodeDecodeError as exc:
            raise _Failed(f"its content is not valid {charset}: {exc}") from exc
        prepared: dict[str, JavaReplacement] = {}

        def replace(match: re.Match[str]) -> str:
            key = match.group(group)
            value = mapping.get(key) if key is not None else None
            whole = match.group(0)
            if value is None:
                return whole
            replacement = prepared.get(value)
            if replacement is None:
                try:
                    replacement = JavaReplacement(fill_back_references(value, pattern.group_count), pattern)
                except JavaRegexError as exc:
                    raise _Failed(f"the mapping value {value!r} is not a valid replacement: {exc}") from exc
                prepared[value] = replacement
            start = match.start(group) - match.start()
            end = start + len(key or "")
            return whole[:start] + replacement.expand(match) + whole[end:]

        replaced, count = pattern.regex.subn(replace, text)
        if not count or replaced == text:
            return ff
        return session.write(ff, replaced.encode(charset, "replace"))
