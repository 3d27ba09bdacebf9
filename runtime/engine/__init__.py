"""The engine: queues, sessions, the committer and the scheduler (trio).

Public names for the rest of flowyard (the service, the CLI):
``Engine``, ``EngineStatus``, ``Bulletin``; and the one way its running graph
changes, ``plan`` then ``reconcile`` to a new flow (``Plan``,
``ReconcileReport``, ``ReconcileRefused``); provenance replay and the
statistics the service shows.
"""

from flowyard.runtime.engine._diskguard import DEFAULT_PAUSE_BELOW, DEFAULT_RESUME_ABOVE
from flowyard.runtime.engine._engine import Engine, EngineStatus
from flowyard.runtime.engine._node import Bulletin
from flowyard.runtime.engine._reconcile import Plan, ReconcileRefused, ReconcileReport, plan, reconcile
from flowyard.runtime.engine._replay import ReplayError, content_retained, replay_event, replay_refusal
from flowyard.runtime.engine._stats import ComponentStatistics

__all__ = ["DEFAULT_PAUSE_BELOW", "DEFAULT_RESUME_ABOVE", "Bulletin", "ComponentStatistics", "Engine", "EngineStatus",
           "Plan", "ReconcileRefused", "ReconcileReport", "ReplayError", "content_retained", "plan", "reconcile",
           "replay_event", "replay_refusal"]
