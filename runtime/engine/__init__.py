"""The engine: queues, sessions, the committer and the scheduler (trio).

Public names for the rest of flowyard (the service, the CLI):
``Engine``, ``EngineStatus``, ``Bulletin``; and the one way its running graph
changes, ``plan`` then ``reconcile`` to a new flow (``Plan``,
``ReconcileReport``, ``ReconcileRefused``); provenance replay and the
statistics the service shows.
"""

from typing import TYPE_CHECKING

from flowyard.runtime.engine._diskguard import DEFAULT_PAUSE_BELOW, DEFAULT_RESUME_ABOVE
from flowyard.runtime.flow import register_period_check
from flowyard.runtime.schedule import CronSchedule
from flowyard.runtime.sdk._lazy import lazy_names

# The engine runs the schedules, so it says what a cron-driven period may be: the flow reader checks
# every CRON_DRIVEN processor's period with it (the flow model knows no cron syntax).
register_period_check("CRON_DRIVEN", CronSchedule)

if TYPE_CHECKING:
    from flowyard.runtime.engine._engine import Engine, EngineStatus
    from flowyard.runtime.engine._node import Bulletin
    from flowyard.runtime.engine._reconcile import Plan, ReconcileRefused, ReconcileReport, plan, reconcile
    from flowyard.runtime.engine._replay import ReplayError, content_retained, replay_event, replay_refusal
    from flowyard.runtime.engine._stats import ComponentStatistics

#: Where each public name lives. They load on first use (the first name of a module asked
#: for): the command line reads the disk guard's defaults without loading the engine, and
#: a start loads the reconciliation only with the first flow change.
__getattr__ = lazy_names(globals(), {
    "_engine": ("Engine", "EngineStatus"),
    "_node": ("Bulletin",),
    "_reconcile": ("Plan", "ReconcileRefused", "ReconcileReport", "plan", "reconcile"),
    "_replay": ("ReplayError", "content_retained", "replay_event", "replay_refusal"),
    "_stats": ("ComponentStatistics",),
})


__all__ = ["DEFAULT_PAUSE_BELOW", "DEFAULT_RESUME_ABOVE", "Bulletin", "ComponentStatistics", "Engine", "EngineStatus",
           "Plan", "ReconcileRefused", "ReconcileReport", "ReplayError", "content_retained", "plan", "reconcile",
           "replay_event", "replay_refusal"]
