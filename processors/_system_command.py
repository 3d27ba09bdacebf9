"""What ExecuteStreamCommand and ExecuteProcess share: NiFi's argument
splitting, the child's environment, exit statuses, and the set of live
children a processor kills when it stops."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterable, Mapping

from flowyard.runtime.sdk import ValidationResult, validators

__all__ = [
    "SINGLE_CHARACTER",
    "LiveChildren",
    "child_environment",
    "exit_status",
    "split_args",
]

# NiFi's ArgumentUtils also splits on these, whatever the configured delimiter.
_ALWAYS_DELIMITING = frozenset("\t\r\n")
_QUOTE = '"'


def split_args(text: str | None, delimiter: str) -> list[str]:
    """NiFi's ``ArgumentUtils.splitArgs``: split ``text`` on ``delimiter`` (one
    character) and on tab, CR and LF, except inside double quotes; the quotes
    themselves are dropped. Empty pieces are kept (``"a;;b"`` gives three
    arguments), as in NiFi. ``None`` gives no arguments; ``""`` gives one
    empty argument (callers skip blank text, as NiFi does)."""
    if text is None:
        return []
    args: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == delimiter or ch in _ALWAYS_DELIMITING:
            if quoted:
                current.append(ch)
            else:
                args.append("".join(current))
                current.clear()
        elif ch == _QUOTE:
            quoted = not quoted
        else:
            current.append(ch)
    args.append("".join(current))
    return args


def _check_single_character(value: str) -> str | None:
    return None if len(value) == 1 else f"{value!r} is not a single character"


SINGLE_CHARACTER = validators.Validator("single character", "exactly one character, such as ';'",
                                        _check_single_character)
"""NiFi's SINGLE_CHAR_VALIDATOR."""


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """flowyard's environment with ``extra`` (the dynamic properties) added."""
    env = dict(os.environ)
    env.update(extra)
    return env


def exit_status(returncode: int) -> int:
    """The exit status as Java's ``Process.exitValue`` reports it: a child
    killed by signal N gives 128 + N (Python says -N)."""
    return 128 - returncode if returncode < 0 else returncode


def environment_problems(names: Iterable[str]) -> list[ValidationResult]:
    """Dynamic property names that cannot be environment variables."""
    return [
        ValidationResult(name, "an environment variable name cannot contain '=' or NUL", name)
        for name in names if "=" in name or "\0" in name
    ]


class LiveChildren:
    """The child processes a processor has running, so ``on_stopped`` can kill
    them. Children are started in their own session (process group), and
    killing one kills its group: a shell's own children go too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: set[subprocess.Popen[bytes]] = set()

    def add(self, child: subprocess.Popen[bytes]) -> None:
        """Track ``child``."""
        with self._lock:
            self._children.add(child)

    def discard(self, child: subprocess.Popen[bytes]) -> None:
        """Forget ``child`` (it has been waited for)."""
        with self._lock:
            self._children.discard(child)

    def __len__(self) -> int:
        with self._lock:
            return len(self._children)

    def kill_all(self) -> int:
        """SIGKILL every tracked child's process group; returns how many were still running."""
        with self._lock:
            children = list(self._children)
        killed = 0
        for child in children:
            if child.poll() is None:
                kill_group(child)
                killed += 1
        return killed


def kill_group(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``child`` and its process group (it leads one: ``start_new_session``)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            child.kill()
        except ProcessLookupError:
            pass
