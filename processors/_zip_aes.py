"""WinZip AES encrypted ZIP entries (compression method 99), which Python's zipfile cannot read.

An AES entry holds a salt, a 2-byte password verifier, the data encrypted with
AES in counter mode (a little-endian counter from 1), and the first 10 bytes of
an HMAC-SHA1 of the encrypted data; the keys come from PBKDF2-HMAC-SHA1 (1000
rounds). Decrypted, the data is stored or deflated as the AES extra field says.
The entry streams: it is decrypted, authenticated and inflated chunk by chunk.
"""

from __future__ import annotations

import hmac
import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from hashlib import sha1
from typing import IO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

__all__ = ["AES_METHOD", "ZipAesError", "open_aes_entry"]

AES_METHOD = 99
_AES_EXTRA = 0x9901
_KEY_SIZES = {1: 16, 2: 24, 3: 32}
_AUTH_SIZE = 10
_CHUNK = 1 << 16


class ZipAesError(ValueError):
    """The entry cannot be decrypted: wrong password, damaged data or an unknown layout."""


def _aes_extra(info: zipfile.ZipInfo) -> tuple[int, int, int]:
    """(vendor version, strength, actual compression method) from the entry's AES extra field."""
    extra = info.extra
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag == _AES_EXTRA and size >= 7:
            version, vendor, strength, method = struct.unpack_from("<H2sBH", extra, i + 4)
            if vendor != b"AE" or strength not in _KEY_SIZES:
                break
            return version, strength, method
        i += 4 + size
    raise ZipAesError(f"entry {info.filename!r} has no valid AES extra field")


def _keystream_xor(cipher: Cipher[modes.ECB], data: bytes, counter: int) -> bytes:
    blocks = (len(data) + 15) // 16
    counters = b"".join((counter + n).to_bytes(16, "little") for n in range(blocks))
    encryptor = cipher.encryptor()
    stream = encryptor.update(counters) + encryptor.finalize()
    size = len(data)
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream[:size], "big")).to_bytes(size, "big")


def _plaintext(stream: IO[bytes], info: zipfile.ZipInfo, password: bytes) -> Iterator[bytes]:
    version, strength, method = _aes_extra(info)
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ZipAesError(f"entry {info.filename!r}: compression method {method} inside AES is not supported")
    key_size = _KEY_SIZES[strength]
    salt_size = key_size // 2
    stream.seek(info.header_offset)
    local = stream.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise ZipAesError(f"entry {info.filename!r}: bad local header")
    name_size, extra_size = struct.unpack_from("<HH", local, 26)
    stream.seek(info.header_offset + 30 + name_size + extra_size)
    salt = stream.read(salt_size)
    verifier = stream.read(2)
    data_size = info.compress_size - salt_size - 2 - _AUTH_SIZE
    if len(salt) != salt_size or len(verifier) != 2 or data_size < 0:
        raise ZipAesError(f"entry {info.filename!r} is truncated")
    keys = PBKDF2HMAC(hashes.SHA1(), 2 * key_size + 2, salt, 1000).derive(password)
    if not hmac.compare_digest(keys[-2:], verifier):
        raise ZipAesError(f"wrong password for entry {info.filename!r}")
    cipher = Cipher(algorithms.AES(keys[:key_size]), modes.ECB())
    mac = hmac.new(keys[key_size:2 * key_size], digestmod=sha1)
    inflater = zlib.decompressobj(-15) if method == zipfile.ZIP_DEFLATED else None
    crc = 0
    counter = 1
    left = data_size
    while left:
        chunk = stream.read(min(_CHUNK, left))
        if not chunk:
            raise ZipAesError(f"entry {info.filename!r} is truncated")
        left -= len(chunk)
        mac.update(chunk)
        plain = _keystream_xor(cipher, chunk, counter)
        counter += (len(chunk) + 15) // 16
        if inflater is not None:
            try:
                plain = inflater.decompress(plain)
            except zlib.error as exc:
                raise ZipAesError(f"entry {info.filename!r}: {exc}") from None
        crc = zlib.crc32(plain, crc)
        if plain:
            yield plain
    if not hmac.compare_digest(mac.digest()[:_AUTH_SIZE], stream.read(_AUTH_SIZE)):
        raise ZipAesError(f"entry {info.filename!r} fails its authentication code")
    if inflater is not None:
        tail = inflater.flush()
        crc = zlib.crc32(tail, crc)
        if tail:
            yield tail
        if not inflater.eof:
            raise ZipAesError(f"entry {info.filename!r}: incomplete deflate data")
    if version == 1 and crc != info.CRC:  # AE-2 leaves the CRC out (0)
        raise ZipAesError(f"entry {info.filename!r}: bad CRC")


class _ChunkReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def open_aes_entry(stream: IO[bytes], info: zipfile.ZipInfo, password: bytes) -> IO[bytes]:
    """The decrypted content of AES entry ``info`` of the zip in ``stream`` (seekable);
    reading raises ZipAesError for a wrong password or damaged data."""
    return io.BufferedReader(_ChunkReader(_plaintext(stream, info, password)))
