"""ConvertCharacterSet: re-encode text content from one character set to another."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

from flowyard.runtime.sdk import (
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["ConvertCharacterSet", "transcode"]

_BATCH = 50
_REPLACE = "flowyard-java-replace"


def _question_mark(error: UnicodeError) -> tuple[str, int]:
    """Java's CodingErrorAction.REPLACE with '?': one '?' per malformed sequence or unmappable character."""
    if isinstance(error, UnicodeEncodeError):
        return "?" * (error.end - error.start), error.end  # Python reports a run of characters at once
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "?", error.end


codecs.register_error(_REPLACE, _question_mark)

SUCCESS = Relationship("success", "FlowFiles with their content re-encoded.")

INPUT_CHARSET = PropertySpec(
    key="input-character-set",
    display_name="Input Character Set",
    description="The character set of the content, e.g. ISO-8859-1.",
    required=True,
    validator=validators.CHARACTER_SET,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
OUTPUT_CHARSET = PropertySpec(
    key="output-character-set",
    display_name="Output Character Set",
    description="The character set to convert to, e.g. UTF-8.",
    required=True,
    validator=validators.CHARACTER_SET,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)

_BOMS = ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"))
_BOMS16 = ((codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))


def _decoder_name(name: str, head: bytes) -> tuple[str, int]:
    """The codec to decode with and the BOM bytes to skip. Java's UTF-16 and
    UTF-32 read a byte-order mark and default to big-endian without one
    (Python's default to the machine's order)."""
    canonical = codecs.lookup(name).name
    if canonical in ("utf-16", "utf-32"):
        for bom, codec in _BOMS16 if canonical == "utf-16" else _BOMS:
            if head.startswith(bom):
                return codec, len(bom)
        return canonical + "-be", 0
    return name, 0


def _encoder_prefix(name: str) -> tuple[str, bytes]:
    """The codec to encode with and the bytes to write first: Java's UTF-16
    writes a big-endian BOM, its UTF-32 big-endian without a BOM."""
    canonical = codecs.lookup(name).name
    if canonical == "utf-16":
        return "utf-16-be", codecs.BOM_UTF16_BE
    if canonical == "utf-32":
        return "utf-32-be", b""
    return name, b""


def transcode(chunks: Iterable[bytes], source: str, target: str) -> Iterator[bytes]:
    """Streamed re-encoding of ``chunks`` from ``source`` to ``target``, replacing
    undecodable input and unmappable characters with '?', as NiFi does."""
    pieces = iter(chunks)
    head = b""
    for chunk in pieces:  # enough bytes to see a byte-order mark
        head += chunk
        if len(head) >= 4:
            break
    decoder_name, skip = _decoder_name(source, head)
    encoder_name, prefix = _encoder_prefix(target)
    decoder = codecs.getincrementaldecoder(decoder_name)(_REPLACE)
    encoder = codecs.getincrementalencoder(encoder_name)(_REPLACE)
    if prefix:
        yield prefix
    if head[skip:]:
        yield encoder.encode(decoder.decode(head[skip:]))
    for chunk in pieces:
        out = encoder.encode(decoder.decode(chunk))
        if out:
            yield out
    tail = encoder.encode(decoder.decode(b"", final=True), final=True)
    if tail:
        yield tail


class ConvertCharacterSet(Processor):
    """Re-encodes the content from Input Character Set to Output Character Set,
    streamed, as NiFi's ConvertCharacterSet.

    As in NiFi the conversion is lenient: input that is not valid in the input
    character set, and characters the output character set cannot represent,
    become '?' (one per malformed sequence or character), and every FlowFile
    goes to ``success`` — NiFi has no failure relationship here. Names are
    Python codec names, which accept the usual Java names (UTF-8, ISO-8859-1,
    US-ASCII, windows-1252, UTF-16LE...). UTF-16 and UTF-32 behave as Java's:
    read a byte-order mark, big-endian without one; UTF-16 output starts with
    a big-endian byte-order mark, UTF-32 output is big-endian without one. A
    character set that evaluates (Expression Language) to an unknown name
    leaves the FlowFile on its queue, penalized, with an error logged (NiFi
    rolls the session back).

    Differences from NiFi: the character sets are Python's, so a few Java-only
    names (e.g. x-IBM1047 spellings) are unknown, and Python's decoders may
    count a malformed sequence differently from Java's (so the number of '?'
    can differ for broken input).
    """

    spec = ProcessorSpec(
        description="Re-encodes the text content of FlowFiles from one character set into another.",
        tags=("text", "convert", "characterset", "character set"),
        properties=(INPUT_CHARSET, OUTPUT_CHARSET),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.REQUIRED,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Convert a batch of FlowFiles."""
        for ff in session.get_batch(_BATCH):
            try:
                source = context.property(INPUT_CHARSET).evaluate(ff.attributes).as_str().strip()
                target = context.property(OUTPUT_CHARSET).evaluate(ff.attributes).as_str().strip()
                for name in (source, target):
                    problem = validators.CHARACTER_SET(name)
                    if problem is not None:
                        raise ValueError(problem)
            except ValueError as exc:
                context.logger.error(
                    f"invalid character set for {ff!r}: {exc}; penalizing it and returning it to its queue")
                session.transfer(session.penalize(ff))
                continue
            ff = session.write(ff, transcode(session.iter_content(ff), source, target))
            session.transfer(ff, SUCCESS)
