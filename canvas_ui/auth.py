"""Single-user authentication: credentials hashed with argon2, bearer tokens for
scripts, a session cookie with CSRF protection for the browser. Pure apart from
the credentials file."""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

__all__ = ["AuthManager", "Session", "store_credentials"]

CREDENTIALS_FILE = "credentials.json"
TOKEN_TTL_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """An authenticated session: its bearer token and the CSRF token that
    cookie-authenticated, state-changing requests must echo in ``X-CSRF-Token``."""

    username: str
    token: str
    csrf: str
    expires: float


def store_credentials(data_dir: Path, username: str, password: str) -> None:
    """Store ``username`` and the argon2 hash of ``password`` for ``data_dir`` (mode 0600)."""
    if not username or not password:
        raise ValueError("username and password must not be empty")
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CREDENTIALS_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"username": username, "password_hash": PasswordHasher().hash(password)}, fh)
    os.replace(tmp, path)


class AuthManager:
    """Credentials of one data directory, and the sessions issued for them."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / CREDENTIALS_FILE
        self._hasher = PasswordHasher()
        self._sessions: dict[str, Session] = {}
        self._clock = time.time
        self.generated_password: str | None = None
        self._load_or_create()

    def _load_or_create(self) -> None:
        env_user, env_password = os.environ.get("FLOWYARD_USERNAME"), os.environ.get("FLOWYARD_PASSWORD")
        if env_user and env_password:
            self.set_credentials(env_user, env_password)
            return
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self.username, self._hash = data["username"], data["password_hash"]
            return
        password = secrets.token_urlsafe(18)
        self.set_credentials("admin", password)
        self.generated_password = password  # printed once by the server, never stored

    def set_credentials(self, username: str, password: str) -> None:
        """Replace the credentials (stored hashed, file mode 0600); ends every session."""
        store_credentials(self.path.parent, username, password)
        data = json.loads(self.path.read_text())
        self.username, self._hash = data["username"], data["password_hash"]
        self._sessions.clear()

    def login(self, username: str, password: str) -> Session | None:
        """A new session if the credentials match, else None (same time either way)."""
        ok: bool
        try:
            ok = self._hasher.verify(self._hash, password)
        except VerificationError:
            ok = False
        if not ok or not hmac.compare_digest(username.encode(), self.username.encode()):
            return None
        session = Session(username, secrets.token_urlsafe(32), secrets.token_urlsafe(16),
                          self._clock() + TOKEN_TTL_SECONDS)
        self._sessions[session.token] = session
        return session

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
