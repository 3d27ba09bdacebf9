"""What the service's parts share: errors, constants and the state they read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import FlowDef
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sensitive import SecretBox

FLOW_FILE = "flow.json"
#: What the API shows instead of a sensitive value (and accepts back as "unchanged").
SENSITIVE_MASK = "********"


class UnknownComponentError(FlowyardError, KeyError):
    """No component has the given id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class FlowNotSavedError(FlowyardError):
    """The flow file could not be written, so the edit was not applied (nothing
    changed, live or on disk). ``disk_full``: the disk (or quota) is full."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


class RevisionConflict(FlowyardError):
    """A change named a revision that is no longer current; ``current`` is the component as it is now."""

    def __init__(self, message: str, current: dict[str, Any]) -> None:
        super().__init__(message)
        self.current = current


class ServiceState:
    """The state every part of ``FlowService`` works on (set by its constructor)."""

    flow: FlowDef
    engine: Engine
    repositories: Repositories
    registry: Mapping[str, type[Processor]]
    secrets: SecretBox
    data_dir: Path
    #: Revision of every component; a change must name the one it saw.
    revisions: dict[str, int]

    def _mask(self, doc: dict[str, Any], kind: str = "processor") -> dict[str, Any]:
        raise NotImplementedError

    def _refers_to_service(self, kind: str, type_name: str, name: str) -> bool:
        raise NotImplementedError

    async def _off_loop(self, work: Callable[[], Any], adding: int = 0) -> Any:
        raise NotImplementedError

    async def _write(self, doc: dict[str, Any], adding: int = 0) -> None:
        raise NotImplementedError

    def _sensitive_names(self, type_name: str, properties: Mapping[str, Any], kind: str = "processor") -> set[str]:
        raise NotImplementedError
