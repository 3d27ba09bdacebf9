"""CompressContent, with the cases of NiFi's TestCompressContent, and byte compatibility of every format."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import struct
import zlib

import cramjam
import pytest

from flowyard.processors._content_codecs import CodecError, compressor, decompressor
from flowyard.processors.compress_content import CompressContent
from flowyard.runtime.sdk.testing import ProcessorRunner

SAMPLE = b"".join(b"This is line %d of the sample file, with some repetition to compress.\n" % i for i in range(2000))
BIG = os.urandom(1 << 16) + SAMPLE * 32  # over 4 MiB: crosses the chunk and flush sizes of the cramjam codecs
MEDIUM = os.urandom(1 << 16) + SAMPLE * 4  # many 64 KiB pieces, enough for the stdlib codecs (and much faster)
SLOW = ("bzip2", "xz-lzma2", "lzma")
ROUND_TRIP = ("gzip", "deflate", "bzip2", "xz-lzma2", "lzma", "snappy", "snappy framed", "lz4-framed", "zstd",
              "brotli")


def run(content: bytes, mode: str, fmt: str, attributes: dict[str, str] | None = None,
        **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(CompressContent)
    r.set_property("Mode", mode)
    r.set_property("Compression Format", fmt)
    for key, value in properties.items():
        r.set_property(key.replace("_", " "), value)
    r.enqueue(content, {"filename": "SampleFile.txt", **(attributes or {})})
    r.run()
    return r


def through(codec_chunks: object) -> bytes:
    return b"".join(codec_chunks)  # type: ignore[arg-type]


def pieces(data: bytes, size: int = 65536) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


@pytest.mark.parametrize("fmt", ROUND_TRIP)
@pytest.mark.parametrize("data", [b"", b"x", SAMPLE], ids=["empty", "one-byte", "sample"])
def test_round_trip(fmt: str, data: bytes) -> None:
    compressed = run(data, "compress", fmt, Update_Filename="true")
    compressed.assert_all_transferred("success", 1)
    packed = compressed.flowfiles_for("success")[0]
    assert packed.attributes["filename"].startswith("SampleFile.txt.")
    decompressed = run(packed.content, "decompress", "use mime.type attribute",
                       {"mime.type": packed.attributes["mime.type"], "filename": packed.attributes["filename"]},
                       Update_Filename="true")
    decompressed.assert_all_transferred("success", 1)
    out = decompressed.flowfiles_for("success")[0]
    out.assert_content_equals(data)
    out.assert_attribute_equals("filename", "SampleFile.txt")
    out.assert_attribute_equals("mime.type", None)


@pytest.mark.parametrize("fmt", ROUND_TRIP)
def test_big_content_streams_in_chunks(fmt: str) -> None:
    data = MEDIUM if fmt in SLOW else BIG
    packed = list(compressor(fmt, 1)(pieces(data)))
    assert through(decompressor(fmt)(pieces(b"".join(packed), 7919))) == data


@pytest.mark.parametrize(
    ("fmt", "reference"),
    [
        ("gzip", gzip.decompress), ("deflate", zlib.decompress), ("bzip2", bz2.decompress),
        ("xz-lzma2", lambda d: lzma.decompress(d, lzma.FORMAT_XZ)),
        ("lzma", lambda d: lzma.decompress(d, lzma.FORMAT_ALONE)),
        ("snappy framed", lambda d: bytes(cramjam.snappy.decompress(d))),
        ("lz4-framed", lambda d: bytes(cramjam.lz4.decompress(d))),
        ("zstd", lambda d: bytes(cramjam.zstd.decompress(d))),
        ("brotli", lambda d: bytes(cramjam.brotli.decompress(d))),
    ],
)
def test_output_reads_with_standard_decoders(fmt: str, reference: object) -> None:
    data = MEDIUM if fmt in SLOW else BIG
    packed = through(compressor(fmt, 6)(pieces(data)))
    assert reference(packed) == data  # type: ignore[operator]


@pytest.mark.parametrize(
    ("fmt", "encoded"),
    [
        ("gzip", gzip.compress(SAMPLE, mtime=0) + gzip.compress(b"second member")),
        ("deflate", zlib.compress(SAMPLE + b"second member", 9) + b"ignored trailing bytes"),
        ("bzip2", bz2.compress(SAMPLE) + bz2.compress(b"second member")),
        ("xz-lzma2", lzma.compress(SAMPLE) + b"\x00" * 8 + lzma.compress(b"second member")),
        ("lzma", lzma.compress(SAMPLE + b"second member", lzma.FORMAT_ALONE)),
        ("snappy framed", bytes(cramjam.snappy.compress(SAMPLE + b"second member"))),
        ("lz4-framed", bytes(cramjam.lz4.compress(SAMPLE)) + bytes(cramjam.lz4.compress(b"second member"))),
        ("lz4-framed", struct.pack("<II", 0x184D2A50, 3) + b"abc" + bytes(cramjam.lz4.Compressor(
            block_linked=False).finish()) + bytes(cramjam.lz4.compress(SAMPLE + b"second member"))),
        ("zstd", bytes(cramjam.zstd.compress(SAMPLE)) + bytes(cramjam.zstd.compress(b"second member"))),
        ("brotli", bytes(cramjam.brotli.compress(SAMPLE + b"second member"))),
    ],
)
def test_reads_what_other_tools_write(fmt: str, encoded: bytes) -> None:
    r = run(encoded, "decompress", fmt)
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(SAMPLE + b"second member")


def test_xerial_snappy_stream_bytes() -> None:
    header = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    assert through(compressor("snappy", 1)([b"hello"])) == header + b"\x00\x00\x00\x07\x05\x10hello"
    assert through(compressor("snappy", 1)([])) == header
    # 32 KiB blocks, each a length-prefixed raw snappy block
    data = os.urandom(70_000)
    packed = through(compressor("snappy", 1)(pieces(data, 1000)))
    pos, blocks = len(header), []
    while pos < len(packed):
        (size,) = struct.unpack(">i", packed[pos:pos + 4])
        blocks.append(bytes(cramjam.snappy.decompress_raw(packed[pos + 4:pos + 4 + size])))
        pos += 4 + size
    assert [len(b) for b in blocks] == [32768, 32768, 70_000 - 65536] and b"".join(blocks) == data


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (bytes(cramjam.snappy.compress_raw(b"raw block, no header")), b"raw block, no header"),
        (b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1) + b"\x00\x00\x00\x07\x05\x10hello" + b"\x82SNAPPY\x00"
         + struct.pack(">ii", 1, 1) + b"\x00\x00\x00\x07\x05\x10world", b"helloworld"),
        (b"", b""),
    ],
)
def test_xerial_snappy_reads_legacy_and_concatenated_streams(encoded: bytes, expected: bytes) -> None:
    assert through(decompressor("snappy")([encoded])) == expected


def test_snappy_hadoop_bytes_and_no_decompression() -> None:
    data = os.urandom(40_000)
    packed = through(compressor("snappy-hadoop", 1)([data]))
    raw, compressed = struct.unpack(">ii", packed[:8])
    assert raw == 32768 and bytes(cramjam.snappy.decompress_raw(packed[8:8 + compressed])) == data[:32768]
    r = ProcessorRunner(CompressContent)
    r.set_property("Mode", "decompress")
    r.set_property("Compression Format", "snappy-hadoop")
    r.assert_not_valid()
    r = run(packed, "decompress", "use mime.type attribute", {"mime.type": "application/x-snappy-hadoop"})
    r.assert_all_transferred("failure", 1)


def test_snappy_framed_empty_input_writes_the_stream_identifier() -> None:
    assert through(compressor("snappy framed", 1)([])) == b"\xff\x06\x00\x00sNaPpY"


def test_deflate_is_zlib_at_the_level() -> None:
    r = run(SAMPLE, "compress", "deflate", Compression_Level="6", Update_Filename="true")
    out = r.flowfiles_for("success")[0]
    out.assert_content_equals(zlib.compress(SAMPLE, 6))
    out.assert_attribute_equals("filename", "SampleFile.txt.zlib")
    out.assert_attribute_equals("mime.type", "application/deflate")


@pytest.mark.parametrize(
    ("fmt", "mime_type", "filename"),
    [("gzip", "application/gzip", "SampleFile.txt.gz"), ("bzip2", "application/x-bzip2", "SampleFile.txt.bz2"),
     ("xz-lzma2", "application/x-xz", "SampleFile.txt.xz"), ("lzma", "application/x-lzma", "SampleFile.txt.lzma"),
     ("snappy", "application/x-snappy", "SampleFile.txt.snappy"),
     ("snappy-hadoop", "application/x-snappy-hadoop", "SampleFile.txt.snappy"),
     ("snappy framed", "application/x-snappy-framed", "SampleFile.txt.sz"),
     ("lz4-framed", "application/x-lz4-framed", "SampleFile.txt.lz4"),
     ("zstd", "application/zstd", "SampleFile.txt.zst"),
     ("brotli", "application/x-brotli", "SampleFile.txt.br")],
)
def test_compress_sets_mime_type_and_filename(fmt: str, mime_type: str, filename: str) -> None:
    r = run(SAMPLE, "compress", fmt, Update_Filename="true")
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals("mime.type", mime_type)
    out.assert_attribute_equals("filename", filename)
    r = run(SAMPLE, "compress", fmt)
    r.flowfiles_for("success")[0].assert_attribute_equals("filename", "SampleFile.txt")


@pytest.mark.parametrize("mime_type", ["application/x-bzip2", "application/bzip2"])
def test_bzip2_with_both_mime_types(mime_type: str) -> None:
    r = run(bz2.compress(SAMPLE), "decompress", "use mime.type attribute",
            {"mime.type": mime_type, "filename": "SampleFile1.txt.bz2"}, Update_Filename="true")
    out = r.flowfiles_for("success")[0]
    out.assert_content_equals(SAMPLE)
    out.assert_attribute_equals("filename", "SampleFile1.txt")


def test_filename_kept_when_it_lacks_the_extension_or_not_updating() -> None:
    r = run(bz2.compress(SAMPLE), "decompress", "bzip2", {"filename": "SampleFileConcat.txt.bz2"})
    r.flowfiles_for("success")[0].assert_attribute_equals("filename", "SampleFileConcat.txt.bz2")
    r = run(gzip.compress(SAMPLE), "decompress", "gzip", {"filename": "data.bin"}, Update_Filename="true")
    r.flowfiles_for("success")[0].assert_attribute_equals("filename", "data.bin")
    r = run(gzip.compress(SAMPLE), "decompress", "gzip", {"filename": "DATA.GZ"}, Update_Filename="true")
    r.flowfiles_for("success")[0].assert_attribute_equals("filename", "DATA")


def test_mime_type_attribute_missing_or_not_compressed() -> None:
    r = run(SAMPLE, "decompress", "use mime.type attribute")
    r.assert_all_transferred("failure", 1)
    r = run(SAMPLE, "decompress", "use mime.type attribute", {"mime.type": "text/plain"})
    r.assert_all_transferred("success", 1)
    out = r.flowfiles_for("success")[0]
    out.assert_content_equals(SAMPLE)
    out.assert_attribute_equals("mime.type", "text/plain")


def test_xz_with_mime_type() -> None:
    r = run(lzma.compress(b"Content for compression"), "decompress", "use mime.type attribute",
            {"mime.type": "application/x-xz"})
    r.flowfiles_for("success")[0].assert_content_equals(b"Content for compression")


@pytest.mark.parametrize("level", ["0", "9"])
def test_levels(level: str) -> None:
    gz = run(SAMPLE, "compress", "gzip", Compression_Level=level).flowfiles_for("success")[0].content
    assert gzip.decompress(gz) == SAMPLE
    assert (len(gz) > len(SAMPLE)) == (level == "0")
    xz = run(SAMPLE, "compress", "xz-lzma2", Compression_Level=level).flowfiles_for("success")[0].content
    assert lzma.decompress(xz) == SAMPLE


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


BAD_INPUT = [
    ("gzip", bytes(range(1, 11))),
    ("gzip", _truncated(gzip.compress(SAMPLE))),
    ("gzip", gzip.compress(SAMPLE) + b"garbage"),
    ("gzip", gzip.compress(SAMPLE) + b"\x1f"),
    ("gzip", b""),
    ("deflate", _truncated(zlib.compress(SAMPLE))),
    ("deflate", b"not zlib at all"),
    ("bzip2", _truncated(bz2.compress(SAMPLE))),
    ("bzip2", bz2.compress(SAMPLE) + b"garbage"),
    ("bzip2", b"BZh9 not really"),
    ("xz-lzma2", _truncated(lzma.compress(SAMPLE))),
    ("xz-lzma2", lzma.compress(SAMPLE) + b"garbage!"),
    ("lzma", b"definitely not lzma data"),
    ("lzma", _truncated(lzma.compress(SAMPLE, lzma.FORMAT_ALONE))),
    ("snappy", _truncated(through(compressor("snappy", 1)([SAMPLE])))),
    ("snappy", b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1) + b"\x00\x00\x00\x05abcde"),
    ("snappy", b"\xff\xff not snappy"),
    ("snappy framed", _truncated(bytes(cramjam.snappy.compress(SAMPLE)))),
    ("snappy framed", b"no stream identifier"),
    ("snappy framed", b""),
    ("snappy framed", b"\xff\x06\x00\x00sNaPpY\x02\x01\x00\x00x"),
    ("lz4-framed", _truncated(bytes(cramjam.lz4.compress(SAMPLE)))),
    ("lz4-framed", bytes(cramjam.lz4.compress(SAMPLE)) + b"junk"),
    ("lz4-framed", b"not lz4"),
    ("zstd", _truncated(bytes(cramjam.zstd.compress(SAMPLE)))),
    ("zstd", b"not zstd"),
    ("brotli", _truncated(bytes(cramjam.brotli.compress(SAMPLE)))),
    ("brotli", b"\xff\xff\xff not brotli"),
]


@pytest.mark.parametrize(("fmt", "content"), BAD_INPUT)
def test_bad_input_goes_to_failure_unchanged(fmt: str, content: bytes) -> None:
    r = run(content, "decompress", fmt, {"mime.type": "keep/me"}, Update_Filename="true")
    r.assert_queue_empty()
    r.assert_all_transferred("failure", 1)
    failed = r.flowfiles_for("failure")[0]
    failed.assert_content_equals(content)
    failed.assert_attribute_equals("mime.type", "keep/me")
    failed.assert_attribute_equals("filename", "SampleFile.txt")
    assert r.bulletins


@pytest.mark.parametrize(("fmt", "content"), BAD_INPUT)
def test_codecs_raise_codec_error(fmt: str, content: bytes) -> None:
    with pytest.raises(CodecError):
        through(decompressor(fmt)(pieces(content, 3)))


def test_a_batch_keeps_going_after_a_failure() -> None:
    r = ProcessorRunner(CompressContent)
    r.set_property("Mode", "decompress")
    r.set_property("Compression Format", "gzip")
    r.enqueue(b"bad")
    r.enqueue(gzip.compress(b"good"))
    r.run()
    r.assert_transferred("failure", 1)
    r.assert_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(b"good")


def test_compression_level_only_for_levelled_formats() -> None:
    r = ProcessorRunner(CompressContent)
    r.set_property("Compression Format", "bzip2")
    r.set_property("Compression Level", "12")
    r.assert_valid()  # not used by bzip2, so not checked
    r.set_property("Compression Format", "gzip")
    r.assert_not_valid()


# NiFi's TestCompressContent: per format the mime.type and filename extension when compressing (with Update
# Filename), and the way back to the original name and content.
@pytest.mark.parametrize(
    ("fmt", "mime_type", "extension"),
    [
        ("snappy", "application/x-snappy", ".snappy"),
        ("snappy-hadoop", "application/x-snappy-hadoop", ".snappy"),
        ("snappy framed", "application/x-snappy-framed", ".sz"),
        ("lz4-framed", "application/x-lz4-framed", ".lz4"),
        ("zstd", "application/zstd", ".zst"),
        ("brotli", "application/x-brotli", ".br"),
        ("xz-lzma2", "application/x-xz", ".xz"),
        ("gzip", "application/gzip", ".gz"),
        ("bzip2", "application/x-bzip2", ".bz2"),
        ("deflate", None, ".zlib"),
    ],
)
def test_nifi_compress_names_and_types(fmt: str, mime_type: str | None, extension: str) -> None:
    r = ProcessorRunner(CompressContent)
    for name, value in {"Mode": "compress", "Compression Format": fmt, "Update Filename": "true"}.items():
        r.set_property(name, value)
    r.enqueue(SAMPLE, {"filename": "SampleFile.txt"})
    r.run()
    r.assert_all_transferred("success", 1)
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals("filename", "SampleFile.txt" + extension)
    if mime_type is not None:
        out.assert_attribute_equals("mime.type", mime_type)
    if fmt == "snappy-hadoop":  # compression only
        return
    back = ProcessorRunner(CompressContent)
    for name, value in {"Mode": "decompress", "Compression Format": fmt, "Update Filename": "true"}.items():
        back.set_property(name, value)
    back.enqueue(out.content, out.attributes)
    back.run()
    back.assert_all_transferred("success", 1)
    back.flowfiles_for("success")[0].assert_content_equals(SAMPLE)
    back.flowfiles_for("success")[0].assert_attribute_equals("filename", "SampleFile.txt")


def test_nifi_deflate_level_6_is_zlib_level_6() -> None:
    r = ProcessorRunner(CompressContent)
    for name, value in {"Mode": "compress", "Compression Format": "deflate", "Compression Level": "6"}.items():
        r.set_property(name, value)
    r.enqueue(SAMPLE)
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(zlib.compress(SAMPLE, 6))


def test_nifi_snappy_hadoop_cannot_decompress() -> None:
    r = ProcessorRunner(CompressContent)
    r.set_property("Mode", "decompress")
    r.set_property("Compression Format", "snappy-hadoop")
    r.assert_not_valid()


def test_nifi_bzip2_concatenated_without_updating_the_filename() -> None:
    r = ProcessorRunner(CompressContent)
    for name, value in {"Mode": "decompress", "Compression Format": "bzip2", "Update Filename": "false"}.items():
        r.set_property(name, value)
    r.enqueue(bz2.compress(SAMPLE[:100]) + bz2.compress(SAMPLE[100:]), {"filename": "SampleFileConcat.txt.bz2"})
    r.run()
    out = r.flowfiles_for("success")[0]
    out.assert_content_equals(SAMPLE)
    out.assert_attribute_equals("filename", "SampleFileConcat.txt.bz2")


@pytest.mark.parametrize(
    ("mime_type", "encode"),
    [("application/x-gzip", gzip.compress), ("application/x-xz", lzma.compress), ("application/bzip2", bz2.compress),
     ("application/x-bzip2", bz2.compress)],
)
def test_nifi_decompress_by_mime_type(mime_type: str, encode: object) -> None:
    assert callable(encode)
    r = ProcessorRunner(CompressContent)
    for name, value in {"Mode": "decompress", "Compression Format": "use mime.type attribute",
                        "Update Filename": "true"}.items():
        r.set_property(name, value)
    r.enqueue(encode(SAMPLE), {"mime.type": mime_type})
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(SAMPLE)
