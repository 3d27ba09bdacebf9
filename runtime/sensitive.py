"""Encryption of sensitive values at rest (AES-GCM, 256-bit key).

The key is generated at first start into ``DATA/flowyard.key`` (mode 0600) and
never written into the flow file. Encrypted values are stored as
``enc:v1:<base64(nonce || ciphertext)>``; the component id and property name
are bound as associated data, so a value cannot be moved to another property.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from flowyard.runtime.sdk._errors import ConfigurationError

__all__ = ["PREFIX", "SecretBox"]

PREFIX = "enc:v1:"
KEY_FILE = "flowyard.key"


class SecretBox:
    """Encrypts and decrypts sensitive values with the data directory's key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def open(cls, data_dir: Path) -> SecretBox:
        """The data directory's key, created (0600) on first use."""
        path = data_dir / KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(AESGCM.generate_key(bit_length=256))
        key = path.read_bytes()
        if len(key) != 32:
            raise ConfigurationError(f"{path} does not hold a 256-bit key")
        return cls(key)

    def encrypt(self, value: str, context: str) -> str:
        """``value`` encrypted, bound to ``context`` (e.g. ``component/property``)."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), context.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str, context: str) -> str:
        """The plain value of ``stored`` (values without the prefix are returned as is).
        Raises ``ConfigurationError`` if it was encrypted with another key or context."""
        if not stored.startswith(PREFIX):
            return stored
        raw = base64.b64decode(stored[len(PREFIX):])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError):
            raise ConfigurationError(f"a sensitive value of {context} cannot be decrypted with this data "
                                     "directory's key") from None
