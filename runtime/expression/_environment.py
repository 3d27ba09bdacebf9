"""The environment as the Expression Language sees it. Pure (reads ``os.environ``)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

__all__ = ["ENVIRONMENT"]


class _PublicEnvironment(Mapping[str, str]):
    """The process environment as expressions see it: a live view without
    flowyard's own settings (``FLOWYARD_*``: credentials among them), so that
    ``${FLOWYARD_PASSWORD}`` is nothing, as any unknown name."""

    def __getitem__(self, name: str) -> str:
        if name.startswith(_PRIVATE_PREFIX):
            raise KeyError(name)
        return os.environ[name]

    def __iter__(self) -> Iterator[str]:
        return (k for k in os.environ if not k.startswith(_PRIVATE_PREFIX))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """The variable's value, or ``default``; one lookup fewer than ``Mapping.get``
        (every missing attribute an expression reads ends here)."""
        if name.startswith(_PRIVATE_PREFIX):
            return default
        return os.environ.get(name, default)


_PRIVATE_PREFIX = "FLOWYARD_"
#: What the Expression Language falls back to after attributes: the environment minus ``FLOWYARD_*``.
ENVIRONMENT: Mapping[str, str] = _PublicEnvironment()
