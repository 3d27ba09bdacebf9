"""Password hashes computed ahead of need, to shorten ``flowyard serve``'s start.

As soon as ``flowyard serve`` has read its command line it knows which password
its start will store: ``FLOWYARD_PASSWORD`` when the environment sets the
credentials, else, at a data directory's first start, a generated one.
``hash_ahead`` starts hashing that password (argon2: ~0.2 s of native code that
releases the GIL) on a thread of its own, so that the hashing overlaps loading
the engine and the web stack instead of following them
(``hash_environment_ahead``, for ``FLOWYARD_PASSWORD``, even before the
command line is parsed).

Nothing else changes: ``AuthManager`` still decides, at the same point of the
start and by the same rules, which credentials it stores. ``hash_password``
returns the hash made ahead when it is asked for the very password hashed
ahead (waiting for it if it is not done yet) and hashes any other password
itself; ``new_password`` hands out the password generated ahead for a data
directory, once, and a fresh one otherwise. This module loads neither trio nor
argon2 when imported (the hashing thread loads argon2).
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

__all__ = ["CREDENTIALS_FILE", "MIN_PASSWORD_LENGTH", "hash_ahead", "hash_environment_ahead", "hash_password",
           "new_password"]

CREDENTIALS_FILE = "credentials.json"
#: The shortest password accepted (``set-credentials`` and ``FLOWYARD_PASSWORD`` alike).
MIN_PASSWORD_LENGTH = 8


class _Hashing:
    """One password being hashed on a daemon thread."""

    def __init__(self, password: str) -> None:
        self._password = password
        self._hash: str | None = None
        self._thread = threading.Thread(target=self._run, name="flowyard-hash-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            from argon2 import PasswordHasher

            self._hash = PasswordHasher().hash(self._password)
        except Exception:  # hash_password hashes again, and raises it where it always did
            self._hash = None

    def result(self) -> str | None:
        """The hash, or None when hashing failed."""
        self._thread.join()
        return self._hash


#: Passwords being hashed ahead, by password; each hash is handed out once.
_hashing: dict[str, _Hashing] = {}
#: Passwords generated ahead, by data directory (absolute path); each is handed out once.
_generated: dict[str, str] = {}


def _key(data_dir: Path) -> str:
    return os.path.abspath(data_dir)


def hash_environment_ahead() -> bool:
    """Start hashing ``FLOWYARD_PASSWORD`` on a thread of its own if
    ``FLOWYARD_USERNAME`` and a long enough ``FLOWYARD_PASSWORD`` are set. True
    when both are set (the environment sets the credentials; a password too short
    is refused by ``AuthManager``, as without this call). Needs no data directory:
    the command line calls it before it is parsed. Never raises."""
    user, password = os.environ.get("FLOWYARD_USERNAME"), os.environ.get("FLOWYARD_PASSWORD")
    if not (user and password):
        return False
    if len(password) >= MIN_PASSWORD_LENGTH and password not in _hashing:
        _hashing[password] = _Hashing(password)
    return True


def hash_ahead(data_dir: Path) -> None:
    """Start hashing, on a thread of its own, the password that the next
    ``AuthManager(data_dir)`` of this process will store: ``FLOWYARD_PASSWORD``
    when the environment sets the credentials (``hash_environment_ahead``), else
    a password generated now when ``data_dir`` has no credentials file. Does
    nothing otherwise (the stored credentials are read, nothing is hashed), nor
    for a password already being hashed, and never raises."""
    if hash_environment_ahead():
        return
    if (data_dir / CREDENTIALS_FILE).exists() or _key(data_dir) in _generated:
        return
    generated = secrets.token_urlsafe(18)
    _generated[_key(data_dir)] = generated
    _hashing[generated] = _Hashing(generated)


def hash_password(password: str) -> str:
    """The argon2 hash of ``password``: the one made ahead for it if there is one
    (handed out once), else a new one."""
    ahead = _hashing.pop(password, None)
    if ahead is not None:
        done = ahead.result()
        if done is not None:
            return done
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def new_password(data_dir: Path) -> str:
    """A new random password for ``data_dir``'s first credentials: the one
    generated ahead for it (handed out once), else a fresh one."""
    return _generated.pop(_key(data_dir), None) or secrets.token_urlsafe(18)
