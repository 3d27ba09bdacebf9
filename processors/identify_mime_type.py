"""IdentifyMimeType: detect the MIME type of the content (puremagic plus Tika's names and rules)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flowyard.processors._common import boolean_property
from flowyard.processors._content_mime import HEAD_SIZE, CustomTypes, detect, parse_custom_types
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationError,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
)

__all__ = ["IdentifyMimeType"]

_BATCH = 50
PRESET, REPLACE, MERGE = "Preset", "Replace", "Merge"

SUCCESS = Relationship("success", "All FlowFiles.")

USE_FILENAME = boolean_property(
    "use-filename-in-detection", "Use Filename In Detection",
    "Whether the filename attribute helps detection (e.g. a .csv name makes text 'text/csv').", "true",
)
CONFIG_STRATEGY = PropertySpec(
    key="config-strategy",
    display_name="Config Strategy",
    description="Which MIME type definitions are used.",
    required=True,
    default=PRESET,
    allowed_values=(
        AllowableValue(PRESET, PRESET, "Use the built-in MIME types."),
        AllowableValue(REPLACE, REPLACE, "Use the Custom MIME Configuration types only."),
        AllowableValue(MERGE, MERGE, "Use the Custom MIME Configuration types first, then the built-in ones."),
    ),
)
CUSTOM_CONFIGURATION = PropertySpec(
    key="custom-mime-configuration",
    display_name="Custom MIME Configuration",
    description=(
        "MIME type definitions in Tika's <mime-info> XML format, given as the text itself or as the path of a "
        "file holding it."
    ),
    required=True,
    dependencies=(PropertyDependency(CONFIG_STRATEGY.key, (REPLACE, MERGE)),),
)


def _load_custom(value: str) -> CustomTypes:
    """The custom types of a configuration given as XML text or a file path;
    raises ``ValueError`` saying what is wrong."""
    text = value.strip()
    if not text.startswith("<"):
        path = Path(text)
        if not path.is_file():
            raise ValueError(f"{text!r} is neither a <mime-info> document nor the path of an existing file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {text!r}: {exc}") from None
    return parse_custom_types(text)


class IdentifyMimeType(Processor):
    """Detects the MIME type of the content and sets ``mime.type``,
    ``mime.extension`` (the usual extension with its dot, or empty) and, for
    text types, ``mime.charset``, as NiFi's IdentifyMimeType; undetectable
    content is ``application/octet-stream``.

    Detection reads the first 64 KiB: custom types first (Merge, Replace),
    then NiFi's FlowFile package types (``application/flowfile-v3``, and
    ``application/flowfile-v1`` for a tar starting with flowfile.attributes),
    a table of common formats with Tika's names (gzip, bzip2, xz, zstd, lz4,
    7z, zip and the formats built on it — jar, docx/xlsx/pptx, odt/ods, apk —,
    tar, PDF, PNG, JPEG, GIF, TIFF, BMP, WebP, MS Access, OLE2, SQLite,
    Parquet, Avro, XML with its root element — XHTML, SVG, RSS, Atom —, HTML),
    then puremagic (a well-kept pure-Python signature library) for other
    binary formats, then a text check (``text/plain``). With Use Filename In
    Detection, a type known from the filename's extension wins when it
    specialises the detected one, as Tika's: ``.csv``/``.json``/``.xml`` text,
    ``.jar`` over zip, or anything over unrecognised binary. Custom MIME
    Configuration is Tika's ``<mime-info>`` format (``mime-type`` with
    ``glob`` patterns and ``magic``/``match`` of type string,
    stringignorecase, byte, big16/little16/big32/little32, offsets ``n`` or
    ``n:m``, nested matches).

    Differences from NiFi (which uses Apache Tika): the signature set is
    smaller than Tika's, so rarer formats may be reported by puremagic's name
    or as ``application/octet-stream``; ``mime.charset`` is UTF-8 (valid UTF-8
    beyond ASCII), UTF-16LE/BE or UTF-8 from a byte-order mark, else
    ISO-8859-1 (Tika's statistical detector can also answer e.g.
    windows-1252 or Shift_JIS); JSON content without a .json name is
    ``text/plain`` as in Tika; Tika's regular-expression globs, masks and
    priorities of custom magic are not supported.
    """

    spec = ProcessorSpec(
        description=(
            "Works out the type of the content of FlowFiles from its first bytes (and, optionally, the filename) "
            "and writes it to mime.type, with mime.extension and, for text, mime.charset."
        ),
        tags=("compression", "gzip", "bzip2", "zip", "MIME", "mime.type", "file", "identify"),
        properties=(USE_FILENAME, CONFIG_STRATEGY, CUSTOM_CONFIGURATION),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("mime.type", "The detected MIME type, or application/octet-stream."),
            ("mime.extension", "The extension of the detected type (e.g. '.pdf'), empty when none is known."),
            ("mime.charset", "For text/* types, the detected character set."),
        ),
    )

    def __init__(self) -> None:
        self._custom: CustomTypes | None = None

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """A custom configuration must be a readable <mime-info> document."""
        configured = context.property(CUSTOM_CONFIGURATION)
        if context.property(CONFIG_STRATEGY).as_str() == PRESET or not configured.is_set:
            return ()
        try:
            _load_custom(configured.as_str())
        except ValueError as exc:
            return (ValidationResult(CUSTOM_CONFIGURATION.display_name, str(exc), CUSTOM_CONFIGURATION.key),)
        return ()

    def on_scheduled(self, context: ProcessContext) -> None:
        """Load the custom MIME types."""
        self._custom = None
        if context.property(CONFIG_STRATEGY).as_str() != PRESET:
            try:
                self._custom = _load_custom(context.property(CUSTOM_CONFIGURATION).as_str())
            except ValueError as exc:
                raise ConfigurationError(f"Custom MIME Configuration: {exc}") from None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Identify a batch of FlowFiles."""
        use_filename = context.property(USE_FILENAME).as_bool()
        builtin = context.property(CONFIG_STRATEGY).as_str() != REPLACE
        for ff in session.get_batch(_BATCH):
            with session.read(ff) as stream:
                head = stream.read(HEAD_SIZE)
            filename = ff.get_attribute("filename") if use_filename else None
            found = detect(head, filename, self._custom, builtin=builtin)
            attributes = {"mime.type": found.mime_type, "mime.extension": found.extension}
            if found.charset is not None:
                attributes["mime.charset"] = found.charset
            session.transfer(session.put_attributes(ff, attributes), SUCCESS)
