"""``flowyard serve`` hashes the password its start will store while the rest
loads (``canvas_ui._hashing.hash_ahead``); what is stored, refused and reported
stays what it was without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from flowyard.bootstrap.compose import build
from flowyard.canvas_ui import _hashing
from flowyard.canvas_ui.auth import CREDENTIALS_FILE, store_credentials
from flowyard.runtime.sdk import ConfigurationError


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_hashing, "_hashing", {})
    monkeypatch.setattr(_hashing, "_generated", {})
    monkeypatch.delenv("FLOWYARD_USERNAME", raising=False)
    monkeypatch.delenv("FLOWYARD_PASSWORD", raising=False)


def _stored_hash(data: Path) -> str:
    return str(json.loads((data / CREDENTIALS_FILE).read_text())["password_hash"])


def test_the_environment_password_is_hashed_ahead_and_that_hash_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWYARD_USERNAME", "env-user")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "env-password")
    data = tmp_path / "data"
    _hashing.hash_ahead(data)
    ahead = _hashing._hashing["env-password"]
    with build(data) as app:
        assert app.auth.username == "env-user"
        assert app.auth.login("env-user", "env-password") is not None
    assert _hashing._hashing == {}  # handed out
    assert _stored_hash(data) == ahead.result()


def test_a_first_start_stores_and_reports_the_password_generated_ahead(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _hashing.hash_ahead(data)
    [generated] = _hashing._generated.values()
    with build(data) as app:
        assert app.auth.generated_password == generated
        assert app.auth.username == "admin"
        assert app.auth.login("admin", generated) is not None
    assert _hashing._generated == {} and _hashing._hashing == {}


def test_stored_credentials_are_read_and_nothing_is_hashed_ahead(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store_credentials(data, "keeper", "the-stored-password")
    before = (data / CREDENTIALS_FILE).read_bytes()
    _hashing.hash_ahead(data)
    assert _hashing._hashing == {} and _hashing._generated == {}
    with build(data) as app:
        assert app.auth.username == "keeper" and app.auth.generated_password is None
    assert (data / CREDENTIALS_FILE).read_bytes() == before


def test_a_short_environment_password_is_not_hashed_and_still_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWYARD_USERNAME", "env-user")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "short")
    _hashing.hash_ahead(tmp_path / "data")
    assert _hashing._hashing == {} and _hashing._generated == {}
    with pytest.raises(ConfigurationError, match="FLOWYARD_PASSWORD must have at least 8 characters"):
        build(tmp_path / "data")


def test_another_password_is_hashed_on_the_spot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWYARD_USERNAME", "env-user")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "env-password")
    _hashing.hash_ahead(tmp_path / "data")
    other = _hashing.hash_password("another-password")
    assert PasswordHasher().verify(other, "another-password")
    assert list(_hashing._hashing) == ["env-password"]  # still there for its own password
    assert PasswordHasher().verify(_hashing.hash_password("env-password"), "env-password")
    assert _hashing._hashing == {}


@pytest.mark.parametrize(("words", "hashed"), [
    (["serve", "--no-such-option"], True),
    (["demo", "--no-such-option"], True),
    (["demo", "--headless", "--no-such-option"], False),  # no web API, no credentials
    (["run", "--no-such-option"], False),
])
def test_the_command_line_hashes_the_environment_password_before_parsing(
        words: list[str], hashed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyard.bootstrap import cli

    monkeypatch.setenv("FLOWYARD_USERNAME", "env-user")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "env-password")
    with pytest.raises(SystemExit) as refused:
        cli.main(words)
    assert refused.value.code == 2  # argparse's refusal: the hashing came first
    assert list(_hashing._hashing) == (["env-password"] if hashed else [])
