"""The runtime facade: what the web API (and any other front end) uses.

``FlowService`` owns the repositories, the flow definition and the engine of
one data directory. Front ends call its methods and never reach into the
engine or the repositories (the same rule Node-RED's HTTP layer follows).
Its parts live in mixins: ``_observe`` (status, metrics), ``_queues``,
``_provenance``, ``_preview`` (content as a table), ``_lookup`` (finding
components, their JSON, the edit lock), ``_edits`` (the one edit path:
validate, apply, log, save, reconcile; undo/redo), ``_runstate``,
``_components`` (create, change, delete, several at once, move),
``_exchange`` (export/import), ``_replica`` (in a cluster: proposing edits
to a ``Replicator`` instead of applying them, applying the committed ones,
snapshots) and ``_core`` (lifecycle, secrets, the flow document); ``_log`` is
the edit log (the flow's history); ``_replication`` the values that travel
between the nodes of a cluster (``Proposal``, ``Entry``) and the
``Replicator`` protocol ``flowyard.clusters`` implements.
"""

from flowyard.runtime.engine import ReplayError
from flowyard.runtime.service._base import FLOW_FILE, FlowNotSavedError, RevisionConflict, UnknownComponentError
from flowyard.runtime.service._core import FlowService
from flowyard.runtime.service._preview import ContentPreviewError
from flowyard.runtime.service._replication import Entry, NotConnected, Proposal, Replicator

__all__ = ["FLOW_FILE", "ContentPreviewError", "Entry", "FlowNotSavedError", "FlowService", "NotConnected",
           "Proposal", "ReplayError", "Replicator", "RevisionConflict", "UnknownComponentError"]
