"""CompressContent: compress or decompress content, streamed, in NiFi's formats."""

from __future__ import annotations

from collections.abc import Iterable

from flowyard.processors._common import boolean_property
from flowyard.processors._content_codecs import CodecError, compressor, decompressor
from flowyard.runtime.sdk import (
    AllowableValue,
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

__all__ = ["CompressContent"]

_BATCH = 10
COMPRESS, DECOMPRESS = "compress", "decompress"
USE_MIME_TYPE = "use mime.type attribute"
FORMATS = ("gzip", "deflate", "bzip2", "xz-lzma2", "lzma", "snappy", "snappy-hadoop", "snappy framed", "lz4-framed",
           "zstd", "brotli")
LEVELLED = (USE_MIME_TYPE, "gzip", "deflate", "xz-lzma2", "zstd", "brotli")

#: mime.type -> format, for 'use mime.type attribute' (NiFi's table, plus application/x-xz as newer NiFi reads it).
FORMAT_BY_MIME_TYPE = {
    "application/gzip": "gzip", "application/x-gzip": "gzip",
    "application/deflate": "deflate", "application/x-deflate": "deflate",
    "application/bzip2": "bzip2", "application/x-bzip2": "bzip2",
    "application/x-xz": "xz-lzma2",
    "application/x-lzma": "lzma",
    "application/x-snappy": "snappy",
    "application/x-snappy-hadoop": "snappy-hadoop",
    "application/x-snappy-framed": "snappy framed",
    "application/x-lz4-framed": "lz4-framed",
    "application/zstd": "zstd",
    "application/x-brotli": "brotli",
}
MIME_TYPE_BY_FORMAT = {
    "gzip": "application/gzip", "deflate": "application/deflate", "bzip2": "application/x-bzip2",
    "xz-lzma2": "application/x-xz", "lzma": "application/x-lzma", "snappy": "application/x-snappy",
    "snappy-hadoop": "application/x-snappy-hadoop", "snappy framed": "application/x-snappy-framed",
    "lz4-framed": "application/x-lz4-framed", "zstd": "application/zstd", "brotli": "application/x-brotli",
}
EXTENSION_BY_FORMAT = {
    "gzip": ".gz", "deflate": ".zlib", "lzma": ".lzma", "xz-lzma2": ".xz", "bzip2": ".bz2", "snappy": ".snappy",
    "snappy-hadoop": ".snappy", "snappy framed": ".sz", "lz4-framed": ".lz4", "zstd": ".zst", "brotli": ".br",
}

SUCCESS = Relationship("success", "FlowFiles compressed or decompressed (or passed through, see the notes).")
FAILURE = Relationship("failure", "FlowFiles that cannot be compressed or decompressed, unchanged.")

MODE = PropertySpec(
    key="mode",
    display_name="Mode",
    description="Whether the content is compressed or decompressed.",
    required=True,
    default=COMPRESS,
    allowed_values=(AllowableValue(COMPRESS), AllowableValue(DECOMPRESS)),
)
COMPRESSION_FORMAT = PropertySpec(
    key="compression-format",
    display_name="Compression Format",
    description=(
        "The compression format: gzip, deflate, zstd, bzip2, xz-lzma2, lzma, brotli, snappy, snappy-hadoop, "
        "snappy framed or lz4-framed; or the one the mime.type attribute names."
    ),
    required=True,
    default=USE_MIME_TYPE,
    allowed_values=tuple(AllowableValue(v) for v in (USE_MIME_TYPE, *FORMATS)),
)
COMPRESSION_LEVEL = PropertySpec(
    key="compression-level",
    display_name="Compression Level",
    description=(
        "The compression level (gzip, deflate, xz-lzma2, zstd, brotli): lower is faster, higher compresses "
        "better; 0 means no compression for gzip and deflate, the fastest preset for xz-lzma2. zstd uses twice "
        "this level, brotli it as its quality."
    ),
    required=True,
    default="1",
    allowed_values=tuple(AllowableValue(str(n)) for n in range(10)),
    dependencies=(PropertyDependency(COMPRESSION_FORMAT.key, LEVELLED), PropertyDependency(MODE.key, (COMPRESS,))),
)
UPDATE_FILENAME = boolean_property(
    "update-filename", "Update Filename",
    "Whether the filename follows the content: compressing adds the format's extension (e.g. .gz), "
    "decompressing takes it off when present.",
    "false",
)


class CompressContent(Processor):
    """Compresses or decompresses content in NiFi's formats, streamed in
    chunks (never loaded whole, except to decompress zstd and brotli), off the
    event loop, as NiFi's CompressContent.

    Compressing sets ``mime.type`` to the format's type; decompressing removes
    ``mime.type``. Update Filename adds the format's extension when
    compressing (``.gz``, ``.zlib``, ``.bz2``, ``.xz``, ``.lzma``, ``.snappy``,
    ``.sz``, ``.lz4``, ``.zst``, ``.br``) and removes it, if present, when
    decompressing. With 'use mime.type attribute' the format comes from
    ``mime.type`` (``application/gzip``, ``application/x-bzip2``, ...): a
    FlowFile without ``mime.type`` goes to ``failure``; one whose type is not a
    compression format goes to ``success`` unchanged (so IdentifyMimeType then
    CompressContent decompresses only what is compressed). Content that does
    not decode — not the format, truncated, corrupt, garbage after the end —
    goes to ``failure`` unchanged, with an error logged.

    The bytes are those NiFi's libraries write and read, so data moves both
    ways between NiFi and flowyard: 'snappy' is snappy-java's own stream
    format (``82 SNAPPY 00`` header, then length-prefixed 32 KiB raw Snappy
    blocks) — not the Snappy framing format, which is 'snappy framed'; and
    'snappy-hadoop' is Hadoop's block layout, which cannot be decompressed
    (as in NiFi). 'deflate' is the zlib format (RFC 1950). See
    ``_content_codecs`` for every format.

    Differences from NiFi: compressing with 'deflate' sets ``mime.type`` to
    ``application/deflate`` (NiFi sets ``application/gzip``, which then
    decodes as gzip and fails); checksums inside snappy framed (CRC-32C) and
    lz4 frames (xxHash32) are not verified, so some corruption is only caught
    if the block does not decode; zstd and brotli decompression hold the
    content and its output in memory (cramjam has no incremental decoder for
    them); LZ4 frames with linked blocks are decoded a frame at a time, also
    in memory (NiFi and the lz4 tool write independent blocks by default).
    """

    spec = ProcessorSpec(
        description=(
            "Compresses the content of FlowFiles with a chosen format (gzip, zstd, bzip2, xz and others), or "
            "decompresses it, keeping mime.type in step."
        ),
        tags=("content", "compress", "decompress", "gzip", "bzip2", "lzma", "xz-lzma2", "snappy", "snappy-hadoop",
              "snappy framed", "lz4-framed", "deflate", "zstd", "brotli"),
        properties=(MODE, COMPRESSION_FORMAT, COMPRESSION_LEVEL, UPDATE_FILENAME),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(("mime.type", "With 'use mime.type attribute', names the compression format."),),
        writes_attributes=(("mime.type", "Set to the format's MIME type when compressing; removed when "
                                         "decompressing."),),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """snappy-hadoop cannot be decompressed."""
        if context.property(COMPRESSION_FORMAT).as_str() == "snappy-hadoop" and \
                context.property(MODE).as_str() == DECOMPRESS:
            return (ValidationResult(
                COMPRESSION_FORMAT.display_name,
                "<Compression Format> set to <snappy-hadoop> and <MODE> set to <decompress> is not permitted. Data "
                "that is compressed with Snappy Hadoop can not be decompressed using this processor.",
                COMPRESSION_FORMAT.key,
            ),)
        return ()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Compress or decompress a batch of FlowFiles."""
        mode = context.property(MODE).as_str()
        configured = context.property(COMPRESSION_FORMAT).as_str()
        level_value = context.property(COMPRESSION_LEVEL)
        level = level_value.as_int() if level_value.is_set else 1
        update_filename = context.property(UPDATE_FILENAME).as_bool()
        log = context.logger
        for ff in session.get_batch(_BATCH):
            name = configured
            if name == USE_MIME_TYPE:
                mime_type = ff.get_attribute("mime.type")
                if mime_type is None:
                    log.error(f"no mime.type attribute on {ff!r}; routing it to failure")
                    session.transfer(ff, FAILURE)
                    continue
                found = FORMAT_BY_MIME_TYPE.get(mime_type)
                if found is None:
                    log.info(f"mime.type of {ff!r} is {mime_type!r}, not a compression format; routing it to "
                             "success unchanged")
                    session.transfer(ff, SUCCESS)
                    continue
                name = found
            try:
                codec = compressor(name, level) if mode == COMPRESS else decompressor(name)
                ff = session.write(ff, codec(session.iter_content(ff)))
            except (CodecError, KeyError) as exc:
                problem = "snappy-hadoop cannot be decompressed" if isinstance(exc, KeyError) else str(exc)
                log.error(f"cannot {mode} {ff!r} as {name}: {problem}; routing it to failure")
                session.transfer(ff, FAILURE)
                continue
            extension = EXTENSION_BY_FORMAT[name]
            filename = ff.get_attribute("filename") or ""
            if mode == COMPRESS:
                ff = session.put_attribute(ff, "mime.type", MIME_TYPE_BY_FORMAT[name])
                if update_filename:
                    ff = session.put_attribute(ff, "filename", filename + extension)
            else:
                ff = session.remove_attribute(ff, "mime.type")
                if update_filename and filename.lower().endswith(extension):
                    ff = session.put_attribute(ff, "filename", filename[:-len(extension)])
            session.transfer(ff, SUCCESS)
