"""The engine: queues, sessions, the committer and the scheduler (trio).

Public names for the rest of flowyard (the CLI, later the web API):
``Engine``, ``EngineStatus``, ``Bulletin``.
"""

from flowyard.runtime.engine._engine import Engine, EngineStatus
from flowyard.runtime.engine._node import Bulletin

__all__ = ["Bulletin", "Engine", "EngineStatus"]
