"""The one error hierarchy of flowyard.

::

    FlowyardError
     ├── ConfigurationError (also ValueError)   a setting is wrong; the message names which and where
     │    ├── InvalidComponentError               a component cannot run; carries the validation results
     │    └── FlowDefinitionError                 a flow file cannot be read; names the file and the place
     ├── ProcessingError                          expected failure of one trigger (bad input, remote refused):
     │                                            the framework rolls the session back and penalizes its input
     ├── FlowFileHandlingError                    a processor misused its session (a bug): rolled back,
     │                                            processor administratively yielded, bulletin raised
     └── RepositoryError                          storage failed or is unusable
          ├── DataDirectoryInUseError             another process holds the data directory
          ├── ContentNotFoundError                content a flowfile points at is missing
          ├── StorageFullError                    the disk (or quota) is full: writes fail until there is room
          └── RepositoryCorruptedError            stored data is damaged; names the file and what is affected

Property values that cannot be converted raise ``PropertyValueError`` and unknown
property names raise ``UnknownPropertyError``; both are ``ConfigurationError``
subclasses defined beside the property specs.

Anything else raised from ``on_trigger`` counts as unexpected: the session is
rolled back with its input penalized, a bulletin is raised and the processor is
administratively yielded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowyard.runtime.sdk._properties import ValidationResult

__all__ = [
    "ConfigurationError",
    "ContentNotFoundError",
    "DataDirectoryInUseError",
    "FlowDefinitionError",
    "FlowFileHandlingError",
    "FlowyardError",
    "InvalidComponentError",
    "ProcessingError",
    "RepositoryCorruptedError",
    "RepositoryError",
    "StorageFullError",
]


class FlowyardError(Exception):
    """Base of every error flowyard raises on purpose."""


class ConfigurationError(FlowyardError, ValueError):
    """A configured value is wrong. The message names the setting and the place."""


class InvalidComponentError(ConfigurationError):
    """A component is not valid and therefore cannot be started.

    ``results`` holds every reason, in the component's property order.
    """

    def __init__(self, component: str, results: Sequence[ValidationResult]) -> None:
        self.component = component
        self.results = tuple(results)
        reasons = "; ".join(str(r) for r in self.results)
        super().__init__(f"{component} is invalid: {reasons}")


class FlowDefinitionError(ConfigurationError):
    """A flow definition cannot be read or is inconsistent.

    ``source`` names the file (or other origin) and ``where`` the place inside
    it, e.g. ``processors[2].properties``. ``problems`` lists every problem
    found when the reader collected them (the API shows each by its field).
    """

    def __init__(self, message: str, *, source: str = "", where: str = "",
                 problems: Sequence[tuple[str, str]] = ()) -> None:
        self.source = source
        self.where = where
        self.reason = message
        #: Every problem found, as (where, message) pairs; the first is ``where``/``reason``.
        self.problems: tuple[tuple[str, str], ...] = tuple(problems) or ((where, message),)
        prefix = ": ".join(p for p in (source, where) if p)
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__((f"{prefix}: {message}" if prefix else message) + suffix)


class ProcessingError(FlowyardError):
    """An expected failure while processing (NiFi's ``ProcessException``).

    Raised from ``on_trigger``, it makes the framework roll the session back and
    penalize the flowfiles it had taken; the processor keeps running.
    Processors that can route bad input to ``failure`` should do that instead.
    """


class FlowFileHandlingError(FlowyardError):
    """A session was used against its rules: a flowfile left unaccounted at
    commit, a stale or foreign flowfile passed in, an unknown relationship."""


class RepositoryError(FlowyardError):
    """The repositories cannot do what was asked (I/O failure, corruption)."""


class DataDirectoryInUseError(RepositoryError):
    """The data directory is locked by another running process. Nothing was touched."""


class ContentNotFoundError(RepositoryError):
    """A content claim points at content that is not in the content repository,
    or that cannot be read (damaged). ``resource`` names the content resource
    when known: the engine then sends the flowfiles holding it to ``failure``
    instead of retrying them forever."""

    def __init__(self, message: str, *, resource: int | None = None) -> None:
        super().__init__(message)
        self.resource = resource


class StorageFullError(RepositoryError):
    """A write failed because the disk or the quota holding the repository is
    full. Nothing of the failed write is visible; it may succeed once there is room."""


class RepositoryCorruptedError(RepositoryError):
    """Stored data is damaged (a checksum mismatch, a torn log, a missing file).
    The message names the file or place and what is affected; nothing is
    repaired automatically (``flowyard repair`` does that, on request)."""
