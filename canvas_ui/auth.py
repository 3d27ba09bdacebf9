"""Single-user authentication: credentials hashed with argon2, bearer tokens for
scripts, a session cookie with CSRF protection for the browser.

Logging in must not be a way to stall the server or to guess the password:

* the argon2 hash is checked in a worker thread, at most ``HASHING_AT_ONCE``
  at a time, never on the event loop that runs the engine and the API;
* failed logins are throttled per client address and per user
  (``LoginThrottle``): after a few failures each new try must wait longer,
  and a client that keeps failing is locked out for a while (429 with
  ``Retry-After``). Nothing is locked for good: the waits end, and the right
  password works again once they have.
"""

from __future__ import annotations

import hmac
import json
import math
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from flowyard.canvas_ui._hashing import CREDENTIALS_FILE, MIN_PASSWORD_LENGTH, hash_password, new_password
from flowyard.runtime.sdk import ConfigurationError

__all__ = ["CREDENTIALS_FILE", "MIN_PASSWORD_LENGTH", "AuthManager", "LoginRefused", "LoginThrottle", "Session",
           "check_credentials", "store_credentials"]

TOKEN_TTL_SECONDS = 12 * 3600
#: Password hashes checked at the same time (each in a worker thread).
HASHING_AT_ONCE = 1


@dataclass(frozen=True, slots=True)
class Session:
    """An authenticated session: its bearer token and the CSRF token that
    cookie-authenticated, state-changing requests must echo in ``X-CSRF-Token``."""

    username: str
    token: str
    csrf: str
    expires: float


class LoginRefused(Exception):
    """Too many failed logins: try again in ``retry_after`` seconds (HTTP 429)."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"too many failed logins: try again in {self.retry_after} s")


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class LoginThrottle:
    """Failed logins per client address and per user name. Pure; ``clock`` is a
    monotonic clock in seconds.

    The first ``free`` failures cost nothing. After that, a key must wait
    ``2 ** (failures - free)`` seconds after its last failure (capped at
    ``max_delay``) before it may try again. A client with ``lockout`` failures
    waits ``lockout_seconds`` instead. A user is never locked out (that would let
    anyone lock the owner out): its wait is capped at ``max_user_delay``.
    Failures are forgotten ``window`` seconds after the last one, and a
    successful login forgets the client's and the user's at once. At most
    ``max_keys`` keys are remembered (the oldest go first).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, free: int = 5, max_delay: float = 60,
                 max_user_delay: float = 10, lockout: int = 20, lockout_seconds: float = 900,
                 window: float = 900, max_keys: int = 10_000) -> None:
        self.clock = clock
        self.free, self.max_delay, self.max_user_delay = free, max_delay, max_user_delay
        self.lockout, self.lockout_seconds, self.window = lockout, lockout_seconds, window
        self.max_keys = max_keys
        self._clients: OrderedDict[str, _Failures] = OrderedDict()
        self._users: OrderedDict[str, _Failures] = OrderedDict()

    def _wait(self, table: OrderedDict[str, _Failures], key: str, cap: float, lockout: bool) -> float:
        entry = table.get(key)
        if entry is None:
            return 0.0
        now = self.clock()
        if now - entry.last > max(self.window, self.lockout_seconds if lockout else 0):
            del table[key]
            return 0.0
        if entry.count < self.free:
            return 0.0
        if lockout and entry.count >= self.lockout:
            delay = self.lockout_seconds
        else:
            delay = min(2.0 ** (entry.count - self.free), cap)
        return max(0.0, entry.last + delay - now)

    def retry_after(self, client: str, user: str) -> float:
        """Seconds before ``client`` may try to log in as ``user`` (0: now)."""
        return max(self._wait(self._clients, client, self.max_delay, True),
                   self._wait(self._users, user, self.max_user_delay, False))

    def failed(self, client: str, user: str | None) -> None:
        """Record a failed login (``user``: None when the name is not a real user's)."""
        now = self.clock()
        for table, key in ((self._clients, client), (self._users, user)):
            if key is None:
                continue
            entry = table.pop(key, None) or _Failures(0, now)
            entry.count += 1
            entry.last = now
            table[key] = entry
            while len(table) > self.max_keys:
                table.popitem(last=False)

    def succeeded(self, client: str, user: str) -> None:
        self._clients.pop(client, None)
        self._users.pop(user, None)


def store_credentials(data_dir: Path, username: str, password: str) -> None:
    """Store ``username`` and the argon2 hash of ``password`` for ``data_dir`` (mode 0600).
    Raises ``ValueError`` for an empty name or a password shorter than ``MIN_PASSWORD_LENGTH``."""
    if not username:
        raise ValueError("the username must not be empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / CREDENTIALS_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"username": username, "password_hash": hash_password(password)}, fh)
    os.replace(tmp, path)


def _read_credentials(path: Path) -> tuple[str, str]:
    """``(username, hash)`` from a credentials file. Raises ``ConfigurationError``
    naming the file and what is wrong with it."""
    fix = f"set new credentials with: flowyard set-credentials --data-dir {path.parent}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigurationError(f"{path} is damaged (not JSON: {exc}); {fix}") from None
    if not isinstance(data, dict) or not isinstance(data.get("username"), str) or not data["username"] \
            or not isinstance(data.get("password_hash"), str) or not data["password_hash"].startswith("$argon2"):
        raise ConfigurationError(f"{path} is damaged (expected a username and an argon2 password_hash); {fix}")
    return data["username"], data["password_hash"]


def _environment_credentials() -> tuple[str, str] | None:
    user, password = os.environ.get("FLOWYARD_USERNAME"), os.environ.get("FLOWYARD_PASSWORD")
    if not (user and password):
        return None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigurationError(f"FLOWYARD_PASSWORD must have at least {MIN_PASSWORD_LENGTH} characters "
                                 "(the same rule as flowyard set-credentials)")
    return user, password


def check_credentials(data_dir: Path) -> None:
    """Check, without changing anything, that the credentials ``AuthManager``
    would use are usable: ``FLOWYARD_USERNAME``/``FLOWYARD_PASSWORD`` when set,
    else the data directory's credentials file when there is one. Raises
    ``ConfigurationError`` saying what is wrong and how to fix it."""
    if _environment_credentials() is None and (data_dir / CREDENTIALS_FILE).exists():
        _read_credentials(data_dir / CREDENTIALS_FILE)


class AuthManager:
    """Credentials of one data directory, and the sessions issued for them.

    ``FLOWYARD_USERNAME``/``FLOWYARD_PASSWORD``, when both are set, replace the
    stored credentials; the password is then removed from the process's
    environment so that nothing started later (an expression, a command) sees it.
    Without credentials, a password is generated and kept in
    ``generated_password`` for the server to print once. Raises
    ``ConfigurationError`` for a damaged credentials file or a short password."""

    def __init__(self, data_dir: Path, *, throttle: LoginThrottle | None = None) -> None:
        self.path = data_dir / CREDENTIALS_FILE
        self._hasher = PasswordHasher()
        self._sessions: dict[str, Session] = {}
        self._clock = time.time
        self.throttle = throttle or LoginThrottle()
        self._hashing = trio.CapacityLimiter(HASHING_AT_ONCE)
        self.generated_password: str | None = None
        self._load_or_create()

    def _load_or_create(self) -> None:
        from_environment = _environment_credentials()
        if from_environment is not None:
            self.set_credentials(*from_environment)
            os.environ.pop("FLOWYARD_PASSWORD", None)
            return
        if self.path.exists():
            self.username, self._hash = _read_credentials(self.path)
            return
        password = new_password(self.path.parent)
        self.set_credentials("admin", password)
        self.generated_password = password  # printed once by the server, never stored

    def set_credentials(self, username: str, password: str) -> None:
        """Replace the credentials (stored hashed, file mode 0600); ends every session."""
        store_credentials(self.path.parent, username, password)
        self.username, self._hash = _read_credentials(self.path)
        self._sessions.clear()

    def _verify(self, username: str, password: str) -> bool:
        """Whether the credentials match (blocking: argon2; same time either way)."""
        ok: bool
        try:
            ok = self._hasher.verify(self._hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        return ok and hmac.compare_digest(username.encode(), self.username.encode())

    def _session(self, username: str) -> Session:
        session = Session(username, secrets.token_urlsafe(32), secrets.token_urlsafe(16),
                          self._clock() + TOKEN_TTL_SECONDS)
        self._sessions[session.token] = session
        return session

    def login(self, username: str, password: str) -> Session | None:
        """A new session if the credentials match, else None. Blocking and not
        throttled: for scripts and tests; the server uses ``login_from``."""
        return self._session(username) if self._verify(username, password) else None

    async def login_from(self, client: str, username: str, password: str) -> Session | None:
        """``login`` for a request from address ``client``, throttled (raises
        ``LoginRefused`` while the client or user must wait), with the hash
        checked in a worker thread."""
        wait = self.throttle.retry_after(client, username)
        if wait > 0:
            raise LoginRefused(wait)
        async with self._hashing:
            wait = self.throttle.retry_after(client, username)  # others may have failed while this one queued
            if wait > 0:
                raise LoginRefused(wait)
            ok = await trio.to_thread.run_sync(self._verify, username, password)
        if not ok:
            real = hmac.compare_digest(username.encode(), self.username.encode())
            self.throttle.failed(client, username if real else None)
            return None
        self.throttle.succeeded(client, username)
        return self._session(username)

    def session(self, token: str | None) -> Session | None:
        """The live session of ``token``, or None."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        if session.expires < self._clock():
            del self._sessions[token]
            return None
        return session

    def logout(self, token: str) -> None:
        self._sessions.pop(token, None)
