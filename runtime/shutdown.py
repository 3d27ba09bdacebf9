"""Stopping on SIGINT/SIGTERM within a bounded time, whatever a processor does.

A clean stop waits for the triggers in progress. A processor stuck in a thread
or looping without ever yielding to the event loop would make that wait, and
so the stop, endless. ``stop_signals`` installs the signal handlers itself
(Python runs them between bytecodes and during interrupted sleeps, even while
the event loop is busy): the first signal asks for the clean stop and starts a
timer; when the stop has not finished ``grace`` seconds later, or when a
second signal arrives, the process says why and exits at once with
``EXIT_FORCED``. That is as safe as kill -9, which flowyard survives by design:
every committed flowfile is in the repository's write-ahead log.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import trio

__all__ = ["DEFAULT_GRACE_SECONDS", "EXIT_FORCED", "stop_signals"]

#: Seconds a clean stop may take after SIGINT/SIGTERM before the process exits anyway.
DEFAULT_GRACE_SECONDS = 10.0
#: Exit status of a stop that did not finish in time.
EXIT_FORCED = 3
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _force_exit(out: TextIO, why: str) -> None:
    try:
        out.write(f"\nflowyard: {why}; exiting now (committed flowfiles are safe in the repository)\n")
        out.flush()
    finally:
        os._exit(EXIT_FORCED)


@contextmanager
def stop_signals(request_stop: Callable[[int], Any], *, grace: float = DEFAULT_GRACE_SECONDS,
                 out: TextIO = sys.stderr) -> Iterator[None]:
    """While inside: SIGINT or SIGTERM calls ``request_stop(signum)`` in the
    event loop (once); the process exits with ``EXIT_FORCED`` if it is still
    running ``grace`` seconds later or on a second signal. Must be entered
    from the main thread, inside ``trio.run``. The previous handlers come back
    on exit, and a pending deadline is cancelled."""
    token = trio.lowlevel.current_trio_token()
    received: list[int] = []
    timer: list[threading.Timer] = []

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        if len(received) > 1:
            _force_exit(out, f"{signal.Signals(signum).name} received again")
        deadline = threading.Timer(grace, _force_exit,
                                   args=(out, f"the stop did not finish within {grace:g} s (a processor is still "
                                              "busy)"))
        deadline.daemon = True
        deadline.start()
        timer.append(deadline)
        token.run_sync_soon(request_stop, signum)

    previous = {signum: signal.signal(signum, handler) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        for deadline in timer:
            deadline.cancel()
