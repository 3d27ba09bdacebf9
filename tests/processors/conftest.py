"""Helpers shared by the processor tests."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

_REFERENCE = re.compile(r"\$\{([^}:]+)\}")


def template_evaluator(text: str, attributes: Mapping[str, str] | None) -> str:
    """A stand-in for the Expression Language: ``${name}`` becomes the attribute
    (empty when missing or when there are no attributes); ``${boom}`` raises
    ``ValueError`` like an evaluation error would."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "boom":
            raise ValueError("evaluation failed on purpose")
        return (attributes or {}).get(name, "")

    return _REFERENCE.sub(replace, text)


def write_file(path: Path, content: bytes | str = b"data", *, age: float | None = None) -> Path:
    """Create ``path`` (and its parents) with ``content``; with ``age``, set its
    modification time that many seconds in the past."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    if age is not None:
        when = time.time() - age
        os.utime(path, (when, when))
    return path


Evaluator = Callable[[str, Mapping[str, str] | None], str]
FileMaker = Callable[..., Path]


@pytest.fixture
def evaluator() -> Evaluator:
    """``template_evaluator``, a stand-in Expression Language evaluator."""
    return template_evaluator


@pytest.fixture
def make_file() -> FileMaker:
    """``write_file``: create a file with content and, optionally, an age."""
    return write_file
