"""A full disk is back pressure, not an error storm.

``DiskGuard`` watches the free space of the file system holding the
repository. Below ``pause_below`` bytes no processor (nor funnel or port) is
triggered: every trigger ends in a commit, and a commit needs room. It says
so once, in a bulletin naming how much is free and how much is needed, and
resumes by itself once ``resume_above`` bytes are free (a higher mark, so it
does not flap). A write that fails for want of space anyway (the floor was
too low, a quota, another program filling the disk) pauses at once, whatever
the free space says; the commit waits and is tried again, with back-off,
once there is room, after the store is reopened (RocksDB refuses every write
after a failed one until then).

The state logic is pure (``observe``, ``write_failed``); the engine runs the
watch (``Engine._watch_disk``) and the committer the retries.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_PAUSE_BELOW", "DEFAULT_RESUME_ABOVE", "DiskGuard", "human_size"]

#: Free bytes below which processing pauses (``--disk-pause-below``).
DEFAULT_PAUSE_BELOW = 256 * 1024 * 1024
#: Free bytes above which it resumes (``--disk-resume-above``).
DEFAULT_RESUME_ABOVE = 512 * 1024 * 1024


def human_size(n: int) -> str:
    """``n`` bytes for a person: ``77.7 GB``, ``512 MB``, ``300 B`` (powers of 1024, as NiFi)."""
    for unit, size in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    return f"{n} B"


def _free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


@dataclass
class DiskGuard:
    """Free space as back pressure (see the module docstring). ``path`` None: no
    disk to watch (in-memory repositories)."""

    path: Path | None
    pause_below: int = DEFAULT_PAUSE_BELOW
    resume_above: int = DEFAULT_RESUME_ABOVE
    free_space: Callable[[Path], int] = field(default=_free_bytes)
    #: Whether processing is paused.
    paused: bool = False
    #: Whether a write failed for want of space (the store needs reopening before the next one).
    failed: bool = False
    #: Free bytes at the last look (None: not looked yet).
    free: int | None = None
    #: Why it is paused, in words (empty while not paused).
    reason: str = ""

    def __post_init__(self) -> None:
        if self.resume_above < self.pause_below:
            raise ValueError(f"the disk resume mark ({human_size(self.resume_above)}) must not be below "
                             f"the pause mark ({human_size(self.pause_below)})")

    def look(self) -> int | None:
        """Read the free space now (None when there is no path or it cannot be read)."""
        if self.path is None:
            return None
        try:
            self.free = self.free_space(self.path)
        except OSError:
            return None
        return self.free

    def observe(self, free: int | None) -> str | None:
        """Take a reading; returns ``"pause"`` or ``"resume"`` when the state
        changes (the caller reopens the store before resuming after a failure)."""
        if free is None:
            return None
        self.free = free
        if not self.paused and free < self.pause_below:
            self.paused = True
            self.reason = (f"processing is paused: the repository's disk has {human_size(free)} free, less than "
                           f"the {human_size(self.pause_below)} needed; nothing is lost, and it resumes by itself "
                           f"once {human_size(self.resume_above)} are free")
            return "pause"
        if self.paused and free >= self.resume_above:
            return "resume"
        return None

    def write_failed(self, error: BaseException) -> bool:
        """A write failed for want of space; returns whether this paused processing."""
        self.failed = True
        if self.paused:
            return False
        self.paused = True
        free = f" ({human_size(self.free)} free)" if self.free is not None else ""
        self.reason = (f"processing is paused: a write to the repository failed, the disk is full{free} "
                       f"({error}); nothing committed is lost, and it resumes by itself once "
                       f"{human_size(self.resume_above)} are free")
        return True

    def resumed(self) -> None:
        """Processing goes on (the store was reopened if a write had failed)."""
        self.paused = False
        self.failed = False
        self.reason = ""

    def snapshot(self) -> dict[str, object]:
        """The figures the status API shows."""
        return {"freeBytes": self.free, "paused": self.paused, "reason": self.reason,
                "pauseBelowBytes": self.pause_below, "resumeAboveBytes": self.resume_above}
