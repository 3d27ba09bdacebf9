"""NiFi's hash algorithms (``HashAlgorithm``) for CryptographicHashContent and
CryptographicHashAttribute: names, digest lengths, descriptions, and streaming
hashers. MD2, which OpenSSL no longer offers, is implemented here (RFC 1319).

Private to ``flowyard.processors``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from flowyard.runtime.sdk import AllowableValue

__all__ = ["ALGORITHMS", "CHARACTER_SETS", "DEFAULT_ALGORITHM", "Hasher", "algorithm_values", "new_hasher"]

DEFAULT_ALGORITHM = "SHA-256"

# RFC 1319's permutation of 0..255 built from the digits of pi.
_MD2_S = bytes((
    41, 46, 67, 201, 162, 216, 124, 1, 61, 54, 84, 161, 236, 240, 6, 19, 98, 167, 5, 243, 192, 199, 115, 140,
    152, 147, 43, 217, 188, 76, 130, 202, 30, 155, 87, 60, 253, 212, 224, 22, 103, 66, 111, 24, 138, 23, 229, 18,
    190, 78, 196, 214, 218, 158, 222, 73, 160, 251, 245, 142, 187, 47, 238, 122, 169, 104, 121, 145, 21, 178, 7,
    63, 148, 194, 16, 137, 11, 34, 95, 33, 128, 127, 93, 154, 90, 144, 50, 39, 53, 62, 204, 231, 191, 247, 151, 3,
    255, 25, 48, 179, 72, 165, 181, 209, 215, 94, 146, 42, 172, 86, 170, 198, 79, 184, 56, 210, 150, 164, 125,
    182, 118, 252, 107, 226, 156, 116, 4, 241, 69, 157, 112, 89, 100, 113, 135, 32, 134, 91, 207, 101, 230, 45,
    168, 2, 27, 96, 37, 173, 174, 176, 185, 246, 28, 70, 97, 105, 52, 64, 126, 15, 85, 71, 163, 35, 221, 81, 175,
    58, 195, 92, 249, 206, 186, 197, 234, 38, 44, 83, 13, 110, 133, 40, 132, 9, 211, 223, 205, 244, 65, 129, 77,
    82, 106, 220, 55, 200, 108, 193, 171, 250, 36, 225, 123, 8, 12, 189, 177, 74, 120, 136, 149, 139, 227, 99,
    232, 109, 233, 203, 213, 254, 59, 0, 29, 57, 242, 239, 183, 14, 102, 88, 208, 228, 166, 119, 114, 248, 235,
    117, 75, 10, 49, 68, 80, 180, 143, 237, 31, 26, 219, 153, 141, 51, 159, 17, 131, 20,
))


class Hasher(Protocol):
    """What hashlib objects offer and this module uses."""

    def update(self, data: bytes, /) -> None:
        """Add ``data``."""

    def hexdigest(self) -> str:
        """The digest as lower-case hexadecimal."""


class _MD2:
    """MD2 (RFC 1319), streamed. Slow (pure Python): legacy use only."""

    def __init__(self) -> None:
        self._state = bytearray(48)
        self._checksum = bytearray(16)
        self._pending = b""

    def update(self, data: bytes, /) -> None:
        data = self._pending + data
        whole = len(data) - len(data) % 16
        for start in range(0, whole, 16):
            self._block(data[start:start + 16])
        self._pending = data[whole:]

    def _block(self, block: bytes) -> None:
        state, checksum, s = self._state, self._checksum, _MD2_S
        last = checksum[15]
        for j in range(16):
            checksum[j] ^= s[block[j] ^ last]
            last = checksum[j]
        for j in range(16):
            state[16 + j] = block[j]
            state[32 + j] = block[j] ^ state[j]
        t = 0
        for round_ in range(18):
            for k in range(48):
                state[k] ^= s[t]
                t = state[k]
            t = (t + round_) & 0xFF

    def hexdigest(self) -> str:
        copy = _MD2()
        copy._state, copy._checksum = bytearray(self._state), bytearray(self._checksum)
        pad = 16 - len(self._pending)
        copy._block(self._pending + bytes([pad]) * pad)
        copy._block(bytes(copy._checksum))
        return bytes(copy._state[:16]).hex()


@dataclass(frozen=True, slots=True)
class _Algorithm:
    name: str
    bits: int
    factory: Callable[[], Hasher]
    note: str = ""


def _hashlib(name: str, digest_size: int | None = None) -> Callable[[], Hasher]:
    def make() -> Hasher:
        if digest_size is not None:  # BLAKE2b with a chosen digest size
            return hashlib.blake2b(digest_size=digest_size)
        return hashlib.new(name)
    return make


_BROKEN = "Broken: collisions can be made, so not for security use."
ALGORITHMS: dict[str, _Algorithm] = {a.name: a for a in (
    _Algorithm("MD2", 128, _MD2, _BROKEN),
    _Algorithm("MD5", 128, _hashlib("md5"), _BROKEN),
    _Algorithm("SHA-1", 160, _hashlib("sha1"), _BROKEN),
    _Algorithm("SHA-224", 224, _hashlib("sha224")),
    _Algorithm("SHA-256", 256, _hashlib("sha256")),
    _Algorithm("SHA-384", 384, _hashlib("sha384")),
    _Algorithm("SHA-512", 512, _hashlib("sha512")),
    _Algorithm("SHA-512/224", 224, _hashlib("sha512_224")),
    _Algorithm("SHA-512/256", 256, _hashlib("sha512_256")),
    _Algorithm("SHA3-224", 224, _hashlib("sha3_224")),
    _Algorithm("SHA3-256", 256, _hashlib("sha3_256")),
    _Algorithm("SHA3-384", 384, _hashlib("sha3_384")),
    _Algorithm("SHA3-512", 512, _hashlib("sha3_512")),
    _Algorithm("BLAKE2-160", 160, _hashlib("blake2b", digest_size=20), "Computed with BLAKE2b."),
    _Algorithm("BLAKE2-256", 256, _hashlib("blake2b", digest_size=32), "Computed with BLAKE2b."),
    _Algorithm("BLAKE2-384", 384, _hashlib("blake2b", digest_size=48), "Computed with BLAKE2b."),
    _Algorithm("BLAKE2-512", 512, _hashlib("blake2b", digest_size=64), "Computed with BLAKE2b."),
)}


def algorithm_values() -> tuple[AllowableValue, ...]:
    """NiFi's Hash Algorithm choices, in NiFi's order."""
    return tuple(
        AllowableValue(a.name, a.name, f"A {a.bits}-bit hash ({a.bits // 8} bytes). {a.note}".strip())
        for a in ALGORITHMS.values()
    )


def new_hasher(name: str) -> Hasher:
    """A fresh hasher for NiFi algorithm ``name``; ``KeyError`` for an unknown one."""
    return ALGORITHMS[name].factory()


CHARACTER_SETS = (
    AllowableValue("US-ASCII", "US-ASCII", "US-ASCII"),
    AllowableValue("ISO-8859-1", "ISO-8859-1", "ISO-8859-1"),
    AllowableValue("UTF-8", "UTF-8", "UTF-8"),
    AllowableValue("UTF-16BE", "UTF-16BE", "UTF-16BE"),
    AllowableValue("UTF-16LE", "UTF-16LE", "UTF-16LE"),
    AllowableValue("UTF-16", "UTF-16", "Hashed as UTF-16BE, with no byte-order mark in front."),
)
"""NiFi's HashService character sets."""
