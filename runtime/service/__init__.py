"""The runtime facade: what the web API (and any other front end) uses.

``FlowService`` owns the repositories, the flow definition and the engine of
one data directory. Front ends call its methods and never reach into the
engine or the repositories (the same rule Node-RED's HTTP layer follows).
Its parts live in mixins: ``_observe`` (status, metrics), ``_queues``,
``_provenance``, ``_preview`` (content as a table), ``_lookup`` (finding components, their JSON, checks, the edit
lock), ``_runstate``, ``_components`` (create, change, delete), ``_exchange``
(export/import), ``_history`` (undo/redo) and ``_core`` (lifecycle, secrets,
the flow document).
"""

from flowyard.runtime.engine import ReplayError
from flowyard.runtime.service._base import FlowNotSavedError, RevisionConflict, UnknownComponentError
from flowyard.runtime.service._core import FlowService
from flowyard.runtime.service._preview import ContentPreviewError

__all__ = ["ContentPreviewError", "FlowNotSavedError", "FlowService", "ReplayError", "RevisionConflict",
           "UnknownComponentError"]
