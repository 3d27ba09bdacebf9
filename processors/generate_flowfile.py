"""GenerateFlowFile: new flowfiles with random or fixed content, for tests and load."""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Iterable, Iterator

from flowyard.processors._common import BOOLEAN_VALUES
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    PropertyValue,
    Relationship,
    SchedulingDefaults,
    ValidationResult,
    validators,
)

__all__ = ["GenerateFlowFile"]

_CHUNK = 1 << 20
# Printable characters Text data is drawn from; every byte of random data is
# mapped onto one of them, so text generation costs one translate per chunk.
_TEXT_ALPHABET = (string.ascii_letters + string.digits + "!@#$%^&*()-_=+/?.,';:\"<>\n\t ").encode("ascii")
_TEXT_TABLE = bytes(_TEXT_ALPHABET[i % len(_TEXT_ALPHABET)] for i in range(256))

SUCCESS = Relationship("success", "Every generated FlowFile goes here.")

FILE_SIZE = PropertySpec(
    key="file-size",
    display_name="File Size",
    description="How much random content each FlowFile gets. Ignored when Custom Text is set.",
    required=True,
    default="0B",
    validator=validators.DATA_SIZE,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
BATCH_SIZE = PropertySpec(
    key="batch-size",
    display_name="Batch Size",
    description="How many FlowFiles one run creates.",
    required=True,
    default="1",
    validator=validators.POSITIVE_INTEGER,
)
DATA_FORMAT = PropertySpec(
    key="data-format",
    display_name="Data Format",
    description="Whether random content is printable text or arbitrary bytes.",
    required=True,
    default="Text",
    allowed_values=(AllowableValue("Binary"), AllowableValue("Text")),
)
UNIQUE_FLOWFILES = PropertySpec(
    key="unique-flowfiles",
    display_name="Unique FlowFiles",
    description=(
        "When true every FlowFile gets its own random content. When false the content is chosen once when "
        "the processor starts and every FlowFile carries the same bytes, which is much cheaper."
    ),
    required=True,
    default="false",
    allowed_values=BOOLEAN_VALUES,
)
CUSTOM_TEXT = PropertySpec(
    key="custom-text",
    display_name="Custom Text",
    description=(
        "Fixed text to use as the content instead of random data (File Size is then ignored). Only valid with "
        "Data Format 'Text' and Unique FlowFiles 'false'. Expression Language is evaluated once per run."
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
    aliases=("generate-ff-custom-text",),
)
CHARACTER_SET = PropertySpec(
    key="character-set",
    display_name="Character Set",
    description="The encoding used to turn Custom Text into bytes.",
    required=True,
    default="UTF-8",
    validator=validators.CHARACTER_SET,
)
MIME_TYPE = PropertySpec(
    key="mime-type",
    display_name="Mime Type",
    description="When set, the value of the mime.type attribute of every generated FlowFile.",
    validator=validators.NON_EMPTY,
)


def _random_chunks(size: int, text: bool, seed: int) -> Iterator[bytes]:
    """``size`` pseudo-random bytes in chunks; the same ``seed`` gives the same bytes."""
    rng = random.Random(seed)
    remaining = size
    while remaining > 0:
        n = min(_CHUNK, remaining)
        piece = rng.randbytes(n)
        yield piece.translate(_TEXT_TABLE) if text else piece
        remaining -= n


def _evaluated(value: PropertyValue, name: str) -> PropertyValue:
    """``value`` evaluated; a failing expression raises ``ValueError`` naming the property ``name``."""
    try:
        return value.evaluate(None)
    except ValueError as exc:  # the expression failed (ExpressionError)
        raise ValueError(f"{name} cannot be evaluated: {exc}") from None


class GenerateFlowFile(Processor):
    """Creates FlowFiles out of nothing: random bytes, random text or a fixed text.

    Content larger than one chunk is generated while it is written, so a
    ``File Size`` of gigabytes never sits in memory. With Unique FlowFiles
    ``false`` the random content is fixed by a seed chosen when the processor
    starts; each FlowFile regenerates the same bytes from it (small content is
    kept in memory instead). Dynamic properties become attributes; their
    values, like Custom Text and File Size, are evaluated once per run. An
    expression that fails there generates nothing in that run: a
    ``ProcessingError`` naming the property (NiFi: ProcessException), and the
    processor yields. Characters of Custom Text that the Character Set cannot
    hold are written as ``?``, as Java's ``String.getBytes`` does.
    """

    spec = ProcessorSpec(
        description=(
            "Creates FlowFiles with random or custom content. Useful for load testing, trying out a flow, "
            "and simulating a data source."
        ),
        tags=("test", "random", "generate", "load"),
        properties=(FILE_SIZE, BATCH_SIZE, DATA_FORMAT, UNIQUE_FLOWFILES, CUSTOM_TEXT, CHARACTER_SET, MIME_TYPE),
        relationships=(SUCCESS,),
        dynamic_properties=DynamicPropertySpec(
            name_description="Generated FlowFile attribute name",
            value_description="Generated FlowFile attribute value",
            expression_scope=ExpressionScope.ENVIRONMENT,
        ),
        input_requirement=InputRequirement.FORBIDDEN,
        scheduling=SchedulingDefaults(period="1 min"),
        writes_attributes=(("mime.type", "Set from the Mime Type property, when it is set."),),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seed: int | None = None
        self._cached: tuple[int, bool, bytes] | None = None

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Custom Text needs Data Format 'Text' and Unique FlowFiles 'false'."""
        if not context.property(CUSTOM_TEXT).is_set:
            return ()
        unique = context.property(UNIQUE_FLOWFILES).as_bool()
        if unique or context.property(DATA_FORMAT).as_str() != "Text":
            return (ValidationResult(
                CUSTOM_TEXT.display_name,
                "Custom Text requires Data Format 'Text' and Unique FlowFiles 'false'",
                CUSTOM_TEXT.key,
            ),)
        return ()

    def on_scheduled(self, context: ProcessContext) -> None:
        """Choose the seed of shared (non-unique) content."""
        with self._lock:
            self._seed = random.SystemRandom().getrandbits(64)
            self._cached = None

    def _shared_content(self, size: int, text: bool) -> bytes | Iterable[bytes]:
        with self._lock:
            if self._seed is None:
                self._seed = random.SystemRandom().getrandbits(64)
            seed = self._seed
            if size <= _CHUNK:
                cached = self._cached
                if cached is None or cached[:2] != (size, text):
                    cached = (size, text, b"".join(_random_chunks(size, text, seed)))
                    self._cached = cached
                return cached[2]
        return _random_chunks(size, text, seed)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Create Batch Size FlowFiles and send them to success."""
        count = context.property(BATCH_SIZE).as_int()
        unique = context.property(UNIQUE_FLOWFILES).as_bool()
        text = context.property(DATA_FORMAT).as_str() == "Text"
        custom = context.property(CUSTOM_TEXT)
        fixed: bytes | None = None
        size = 0
        try:
            if not unique and custom.is_set:
                charset = context.property(CHARACTER_SET).as_str()
                # Java's getBytes(charset) writes '?' for what the charset cannot hold
                fixed = _evaluated(custom, CUSTOM_TEXT.display_name).as_str().encode(charset, "replace")
            else:
                size = _evaluated(context.property(FILE_SIZE), FILE_SIZE.display_name).as_data_size()
            attributes = {name: _evaluated(value, f"dynamic property {name!r}").as_str()
                          for name, value in context.dynamic_properties.items()}
        except ValueError as exc:  # a failing expression, a File Size that is no data size
            context.yield_()
            raise ProcessingError(f"nothing generated: {exc}") from None
        mime = context.property(MIME_TYPE)
        if mime.is_set:
            attributes["mime.type"] = mime.as_str()

        sys_random = random.SystemRandom()
        for _ in range(count):
            ff: FlowFile = session.create()
            if fixed is not None:
                if fixed:
                    ff = session.write(ff, fixed)
            elif size:
                content = _random_chunks(size, text, sys_random.getrandbits(64)) if unique else \
                    self._shared_content(size, text)
                ff = session.write(ff, content)
            if attributes:
                ff = session.put_attributes(ff, attributes)
            session.transfer(ff, SUCCESS)
