"""Streaming compression codecs for CompressContent, writing the bytes NiFi writes.

Every codec is a function from an iterable of input chunks to an iterator of
output chunks, so content streams through with bounded memory. Decoders
raise ``CodecError`` for input that is corrupt, truncated, or followed by
garbage where NiFi's decoder refuses it.

Formats (NiFi's library in brackets):

- gzip [GZIPOutputStream / commons GzipCompressorInputStream]: RFC 1952,
  concatenated members decoded, anything else after a member is an error.
- deflate [java.util.zip Deflater/Inflater]: the zlib format (RFC 1950:
  header + deflate + Adler-32); bytes after the end are ignored.
- bzip2 [commons BZip2, block size 900k]: concatenated streams decoded.
- xz-lzma2 [xz-java XZOutputStream, CRC64]: concatenated streams and
  stream padding decoded.
- lzma [lzma-java LzmaOutputStream]: the legacy .lzma ("alone") format with
  an end marker.
- snappy [xerial snappy-java SnappyOutputStream]: not a standard format: the
  header ``82 'SNAPPY' 00`` + version 1 + compatible version 1 (big-endian
  int32 each), then per 32 KiB of input a big-endian int32 length and a raw
  Snappy block. Decoding also takes concatenated streams and, as xerial,
  content without the header as one raw Snappy block.
- snappy-hadoop [xerial SnappyHadoopCompatibleOutputStream]: Hadoop's
  BlockCompressorStream layout: per 32 KiB of input, big-endian int32
  uncompressed length, int32 compressed length, raw Snappy block. Compress
  only (NiFi cannot decompress it either).
- snappy framed [xerial SnappyFramedOutputStream]: the Snappy framing
  format (stream identifier ``ff 06 00 00 sNaPpY``, CRC-32C chunks).
- lz4-framed [commons FramedLZ4CompressorOutputStream]: the LZ4 frame
  format, independent blocks, content checksum; concatenated and skippable
  frames decoded.
- zstd [zstd-jni]: Zstandard frames; brotli [brotli4j]: a Brotli stream.

Private to ``flowyard.processors``.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator

__all__ = ["CodecError", "compressor", "decompressor"]

Codec = Callable[[Iterable[bytes]], Iterator[bytes]]

_OUT = 1 << 20  # most output produced per decoder call, so a small input cannot balloon in memory
_FLUSH_EVERY = 4 << 20  # input bytes between flushes of cramjam's compressors
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK = 32 * 1024
_FRAMED_IDENTIFIER = b"\xff\x06\x00\x00sNaPpY"
_LZ4_MAGIC = 0x184D2204
_LZ4_BLOCK_SIZES = {4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20}
_XZ_MAGIC = b"\xfd7zXZ\x00"


class CodecError(ValueError):
    """The input is not valid for the format (corrupt, truncated, garbage after the end)."""


class _Reader:
    """Exact-size reads over an iterable of chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the input."""
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def exactly(self, size: int, what: str) -> bytes:
        """``size`` bytes, or ``CodecError`` naming ``what`` was cut short."""
        data = self.read(size)
        if len(data) != size:
            raise CodecError(f"truncated input: the {what} ends early")
        return data

    def rest(self) -> bytes:
        """Everything left."""
        out = bytes(self._buffer) + b"".join(self._chunks)
        self._buffer.clear()
        return out


# -- zlib family ------------------------------------------------------------------


def _zlib_compress(chunks: Iterable[bytes], level: int, wbits: int) -> Iterator[bytes]:
    compressor = zlib.compressobj(level, zlib.DEFLATED, wbits)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def _inflate(decoder: zlib._Decompress, data: bytes) -> Iterator[bytes]:
    try:
        out = decoder.decompress(data, _OUT)
        if out:
            yield out
        while decoder.unconsumed_tail:
            out = decoder.decompress(decoder.unconsumed_tail, _OUT)
            if out:
                yield out
    except zlib.error as exc:
        raise CodecError(f"corrupt input: {exc}") from None


def _gzip_decompress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    decoder: zlib._Decompress | None = zlib.decompressobj(31)
    between = b""  # bytes after a member, until the next member's magic is seen
    seen = False
    for chunk in chunks:
        data = chunk
        while data:
            if decoder is None:
                between += data
                data = b""
                if len(between) < 2:
                    break
                if between[:2] != b"\x1f\x8b":
                    raise CodecError("corrupt input: garbage after a valid .gz stream")
                decoder, data, between = zlib.decompressobj(31), between, b""
            seen = True
            yield from _inflate(decoder, data)
            if decoder.eof:
                data = decoder.unused_data
                decoder = None
            else:
                data = b""
    if between:
        raise CodecError("corrupt input: garbage after a valid .gz stream")
    if decoder is not None:
        raise CodecError("truncated input: the gzip stream ends early" if seen else "input is not in the .gz format")


def _deflate_decompress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    decoder = zlib.decompressobj()
    for chunk in chunks:
        if decoder.eof:
            break  # as InflaterInputStream: what follows the stream is not read
        yield from _inflate(decoder, chunk)
    if not decoder.eof:
        raise CodecError("truncated input: unexpected end of ZLIB input stream")


# -- bz2 and lzma -----------------------------------------------------------------------


def _incremental_compress(make: Callable[[], bz2.BZ2Compressor | lzma.LZMACompressor]) -> Codec:
    def run(chunks: Iterable[bytes]) -> Iterator[bytes]:
        compressor = make()
        for chunk in chunks:
            out = compressor.compress(chunk)
            if out:
                yield out
        yield compressor.flush()
    return run


def _drain(decoder: bz2.BZ2Decompressor | lzma.LZMADecompressor, data: bytes) -> Iterator[bytes]:
    out = decoder.decompress(data, _OUT)
    if out:
        yield out
    while not decoder.eof and not decoder.needs_input:
        out = decoder.decompress(b"", _OUT)
        if out:
            yield out


def _multi_stream_decompress(make: Callable[[], bz2.BZ2Decompressor | lzma.LZMADecompressor], name: str,
                             magic: bytes, *, padding: bool = False, concatenated: bool = True) -> Codec:
    """Decoding of formats whose streams may follow one another (bzip2, xz)."""
    def run(chunks: Iterable[bytes]) -> Iterator[bytes]:
        decoder: bz2.BZ2Decompressor | lzma.LZMADecompressor | None = make()
        between = b""
        seen = False
        try:
            for chunk in chunks:
                data = chunk
                while data:
                    if decoder is None:
                        between += data
                        data = b""
                        if padding:
                            between = between.lstrip(b"\x00")
                        if len(between) < len(magic):
                            break
                        if between[:len(magic)] != magic:
                            raise CodecError(f"corrupt input: garbage after a valid {name} stream")
                        decoder, data, between = make(), between, b""
                    seen = True
                    yield from _drain(decoder, data)
                    if decoder.eof:
                        data = decoder.unused_data
                        decoder = None
                        if not concatenated:
                            return
                    else:
                        data = b""
        except (OSError, lzma.LZMAError, EOFError) as exc:
            raise CodecError(f"corrupt input: {exc}") from None
        if between:
            raise CodecError(f"corrupt input: garbage after a valid {name} stream")
        if decoder is not None:
            raise CodecError(f"truncated input: the {name} stream ends early" if seen
                             else f"input is not in the {name} format")
    return run


# -- snappy ---------------------------------------------------------------------------


def _blocks(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


def _raw_snappy(block: bytes) -> bytes:
    import cramjam
    return bytes(cramjam.snappy.compress_raw(block))


def _raw_unsnappy(block: bytes) -> bytes:
    import cramjam
    try:
        return bytes(cramjam.snappy.decompress_raw(block))
    except Exception as exc:  # cramjam raises its own DecompressionError, not an OSError
        raise CodecError(f"corrupt input: {exc}") from None


def _xerial_compress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    yield _XERIAL_HEADER
    for block in _blocks(chunks, _XERIAL_BLOCK):
        compressed = _raw_snappy(block)
        yield struct.pack(">i", len(compressed)) + compressed


def _xerial_decompress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    reader = _Reader(chunks)
    head = reader.read(len(_XERIAL_HEADER))
    if len(head) < len(_XERIAL_HEADER) or not head.startswith(_XERIAL_MAGIC):
        whole = head + reader.rest()  # xerial reads content without its header as one raw block
        if whole:
            yield _raw_unsnappy(whole)
        return
    while True:
        length = reader.read(4)
        if not length:
            return
        if len(length) < 4:
            raise CodecError("truncated input: a chunk length ends early")
        if length == _XERIAL_MAGIC[:4]:  # the header of a concatenated stream
            if reader.exactly(len(_XERIAL_HEADER) - 4, "stream header") != _XERIAL_HEADER[4:]:
                raise CodecError("corrupt input: invalid snappy stream header")
            continue
        (size,) = struct.unpack(">i", length)
        if size < 0:
            raise CodecError(f"corrupt input: negative chunk length {size}")
        yield _raw_unsnappy(reader.exactly(size, "chunk"))


def _hadoop_compress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    for block in _blocks(chunks, _XERIAL_BLOCK):
        compressed = _raw_snappy(block)
        yield struct.pack(">ii", len(block), len(compressed)) + compressed


def _cramjam_compress(make: Callable[[], object], *, empty: bytes = b"") -> Codec:
    """Streaming compression with a cramjam Compressor, flushed every few MiB."""
    def run(chunks: Iterable[bytes]) -> Iterator[bytes]:
        compressor = make()
        pending = 0
        wrote = False
        for chunk in chunks:
            compressor.compress(chunk)  # type: ignore[attr-defined]
            pending += len(chunk)
            if pending >= _FLUSH_EVERY:
                out = bytes(compressor.flush())  # type: ignore[attr-defined]
                pending = 0
                if out:
                    wrote = True
                    yield out
        out = bytes(compressor.finish())  # type: ignore[attr-defined]
        if out or wrote:
            yield out
        elif empty:
            yield empty
    return run


def _framed_decompress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    reader = _Reader(chunks)
    first = True
    while True:
        header = reader.read(4)
        if not header:
            if first:
                raise CodecError("input is not in the snappy framing format: it is empty")
            return
        if len(header) < 4:
            raise CodecError("truncated input: a chunk header ends early")
        kind = header[0]
        size = int.from_bytes(header[1:], "little")
        body = reader.exactly(size, "chunk")
        if first and kind != 0xFF:
            raise CodecError("input is not in the snappy framing format: no stream identifier")
        first = False
        if kind == 0xFF:
            if body != b"sNaPpY":
                raise CodecError("corrupt input: invalid stream identifier")
        elif kind == 0x00:
            if size < 4:
                raise CodecError("corrupt input: a compressed chunk has no checksum")
            yield _raw_unsnappy(body[4:])
        elif kind == 0x01:
            if size < 4:
                raise CodecError("corrupt input: an uncompressed chunk has no checksum")
            yield body[4:]
        elif kind <= 0x7F:
            raise CodecError(f"corrupt input: unskippable chunk type {kind:#x}")
        # 0x80-0xfe: skippable chunks and padding


# -- lz4 frame ------------------------------------------------------------------------------


def _lz4_decompress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    import cramjam
    reader = _Reader(chunks)
    frames = 0
    scratch = bytearray()
    while True:
        magic_bytes = reader.read(4)
        if not magic_bytes:
            if frames == 0:
                raise CodecError("input is not in the LZ4 frame format: it is empty")
            return
        if len(magic_bytes) < 4:
            raise CodecError("corrupt input: garbage after a valid LZ4 frame")
        (magic,) = struct.unpack("<I", magic_bytes)
        if 0x184D2A50 <= magic <= 0x184D2A5F:  # skippable frame
            (size,) = struct.unpack("<I", reader.exactly(4, "skippable frame"))
            reader.exactly(size, "skippable frame")
            continue
        if magic != _LZ4_MAGIC:
            raise CodecError("input is not in the LZ4 frame format" if frames == 0
                             else "corrupt input: garbage after a valid LZ4 frame")
        frames += 1
        descriptor = reader.exactly(2, "frame header")
        flags, block_descriptor = descriptor[0], descriptor[1]
        if flags >> 6 != 1:
            raise CodecError("corrupt input: unsupported LZ4 frame version")
        independent, block_checksum = bool(flags & 0x20), bool(flags & 0x10)
        content_size, content_checksum, dictionary = bool(flags & 0x08), bool(flags & 0x04), bool(flags & 0x01)
        max_block = _LZ4_BLOCK_SIZES.get((block_descriptor >> 4) & 0x07)
        if max_block is None:
            raise CodecError("corrupt input: invalid LZ4 block size")
        if dictionary:
            raise CodecError("LZ4 frames that need a dictionary are not supported")
        rest_of_header = reader.exactly((8 if content_size else 0) + 1, "frame header")
        linked: list[bytes] = [magic_bytes, descriptor, rest_of_header]
        while True:
            (size,) = struct.unpack("<I", reader.exactly(4, "block"))
            if size == 0:
                trailer = reader.exactly(4, "content checksum") if content_checksum else b""
                break
            stored = bool(size & 0x80000000)
            size &= 0x7FFFFFFF
            data = reader.exactly(size, "block")
            checksum = reader.exactly(4, "block checksum") if block_checksum else b""
            if not independent:  # a block may refer to the previous 64 KiB: decode the frame whole
                linked.extend((struct.pack("<I", size | (0x80000000 if stored else 0)), data, checksum))
                continue
            if stored:
                yield data
                continue
            if len(scratch) < max_block:
                scratch = bytearray(max_block)
            try:
                written = cramjam.lz4.decompress_block_into(data, scratch)
            except Exception as exc:  # cramjam's DecompressionError
                raise CodecError(f"corrupt input: {exc}") from None
            yield bytes(scratch[:written])
        if not independent:
            frame = b"".join((*linked, b"\x00\x00\x00\x00", trailer))
            try:
                yield bytes(cramjam.lz4.decompress(frame))
            except Exception as exc:
                raise CodecError(f"corrupt input: {exc}") from None


# -- zstd and brotli --------------------------------------------------------------------------


def _whole_decompress(decode: Callable[[bytes], object], name: str) -> Codec:
    """cramjam offers no incremental zstd or Brotli decoder: the content is decoded in one piece."""
    def run(chunks: Iterable[bytes]) -> Iterator[bytes]:
        data = b"".join(chunks)
        try:
            out = memoryview(bytes(decode(data)))  # type: ignore[call-overload]
        except Exception as exc:  # cramjam's DecompressionError
            raise CodecError(f"corrupt or truncated {name} input: {exc}") from None
        for start in range(0, len(out), _OUT):
            yield bytes(out[start:start + _OUT])
    return run


def compressor(name: str, level: int) -> Codec:
    """The compressing codec of NiFi format ``name`` at Compression Level ``level``
    (used by gzip, deflate, xz-lzma2, zstd — as zstd level ``2 * level`` — and brotli)."""
    import cramjam
    if name == "gzip":
        return lambda chunks: _zlib_compress(chunks, level, 31)
    if name == "deflate":
        return lambda chunks: _zlib_compress(chunks, level, 15)
    if name == "bzip2":
        return _incremental_compress(lambda: bz2.BZ2Compressor(9))
    if name == "xz-lzma2":
        return _incremental_compress(lambda: lzma.LZMACompressor(lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                                                 preset=level))
    if name == "lzma":
        return _incremental_compress(lambda: lzma.LZMACompressor(lzma.FORMAT_ALONE))
    if name == "snappy":
        return _xerial_compress
    if name == "snappy-hadoop":
        return _hadoop_compress
    if name == "snappy framed":
        return _cramjam_compress(cramjam.snappy.Compressor, empty=_FRAMED_IDENTIFIER)
    if name == "lz4-framed":
        return _cramjam_compress(lambda: cramjam.lz4.Compressor(content_checksum=True, block_linked=False))
    if name == "zstd":
        return _cramjam_compress(lambda: cramjam.zstd.Compressor(level=level * 2))
    if name == "brotli":
        return _cramjam_compress(lambda: cramjam.brotli.Compressor(level=level))
    raise KeyError(name)


def decompressor(name: str) -> Codec:
    """The decompressing codec of NiFi format ``name``; ``KeyError`` for
    snappy-hadoop, which NiFi cannot decompress either."""
    import cramjam
    if name == "gzip":
        return _gzip_decompress
    if name == "deflate":
        return _deflate_decompress
    if name == "bzip2":
        return _multi_stream_decompress(bz2.BZ2Decompressor, "bzip2", b"BZh")
    if name == "xz-lzma2":
        return _multi_stream_decompress(lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ), "xz", _XZ_MAGIC, padding=True)
    if name == "lzma":
        return _multi_stream_decompress(lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE), "lzma", b"",
                                        concatenated=False)
    if name == "snappy":
        return _xerial_decompress
    if name == "snappy framed":
        return _framed_decompress
    if name == "lz4-framed":
        return _lz4_decompress
    if name == "zstd":
        return _whole_decompress(cramjam.zstd.decompress, "zstd")
    if name == "brotli":
        return _whole_decompress(cramjam.brotli.decompress, "brotli")
    raise KeyError(name)
