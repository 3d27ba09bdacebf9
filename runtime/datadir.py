"""The data directory's permissions: it holds the flow (with encrypted secrets),
the key that decrypts them, the credentials and every flowfile's content, so
it is readable by its owner only.

``protect`` makes an existing directory owner-only (folders 0700, files 0600,
symbolic links left alone), fixing what an older flowyard or another tool left
group- or world-readable. ``flowyard`` itself runs with umask 077 (set by the
command line) so that everything created afterwards, RocksDB's own files
included, is owner-only from the start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["OWNER_ONLY_UMASK", "protect"]

#: The umask of a flowyard process: new files 0600, new folders 0700.
OWNER_ONLY_UMASK = 0o077


def protect(data_dir: Path) -> None:
    """Create ``data_dir`` if needed and make it, and everything below it,
    owner-only. Files or folders that cannot be changed (not ours) are skipped."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _fix(data_dir, 0o700)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            _fix(Path(root) / name, 0o700)
        for name in files:
            _fix(Path(root) / name, 0o600)


def _fix(path: Path, wanted: int) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:  # removed meanwhile (RocksDB renames and deletes its files)
        return
    if stat.S_ISLNK(mode) or stat.S_IMODE(mode) & ~wanted == 0:
        return
    try:
        os.chmod(path, stat.S_IMODE(mode) & wanted)
    except (PermissionError, FileNotFoundError):
        pass
