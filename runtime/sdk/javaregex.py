"""Java regular expressions for processors: the Expression Language's implementation, shared.

NiFi users write patterns in Java's dialect (``java.util.regex``) and
replacement strings in ``Matcher.appendReplacement``'s syntax. One
implementation serves the Expression Language and every processor; what it
translates, and the few Java features it refuses, are documented in
``flowyard.runtime.expression._javaregex``.

- ``compile_java(pattern, flags)`` → ``JavaPattern`` (``.regex`` is the
  Python pattern; group count and names are Java's), ``JavaRegexError`` naming
  the position otherwise; ``java_regex_problem`` gives a validation message.
- ``JavaReplacement(replacement, pattern)`` expands ``$n``, ``${name}``, ``\\x``.
"""

from __future__ import annotations

from flowyard.runtime.expression._javaregex import (
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
    JavaRegexError,
    compile_java,
    java_regex_problem,
    quote_literal,
)
from flowyard.runtime.expression._javareplace import JavaReplacement, quote_replacement

__all__ = [
    "CANON_EQ",
    "CASE_INSENSITIVE",
    "COMMENTS",
    "DOTALL",
    "LITERAL",
    "MULTILINE",
    "UNICODE_CASE",
    "UNICODE_CHARACTER_CLASS",
    "UNIX_LINES",
    "JavaPattern",
    "JavaRegexError",
    "JavaReplacement",
    "compile_java",
    "java_regex_problem",
    "quote_literal",
    "quote_replacement",
]
