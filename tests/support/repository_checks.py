"""Checks on the repository of a stopped engine, for the kill -9 tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from flowyard.runtime.repository import Repositories

from engine_process import names_in


def check_content_accounted(repository: Path) -> None:
    """After a clean stop: content files were written (the content took that path), recovery
    finds no orphan to delete, each content file belongs to a live or an archived claim, and
    each live claim's count is the number of queued flowfiles that hold its resource."""
    files = [int(name) for name in names_in(repository / "content")]  # before recovery deletes any
    assert files, "no content file was written: the content did not take the content-file path"
    repos = Repositories.open(repository)
    try:
        held: Counter[int] = Counter()
        for qid in repos.flowfiles.queues_with_records():
            for ff in repos.flowfiles.read_range(qid, -1, 1 << 62, 1 << 30):
                if ff.claim is not None:
                    held[ff.claim.resource] += 1
        figures = repos.recover()
        assert figures["orphans"] == 0, figures  # a clean stop leaves nothing for recovery to delete
        content = repos.content
        assert content.counts == dict(held), "every live claim is held by exactly its queued flowfiles"
        unaccounted = [r for r in files if r not in content.counts and r not in content.archived]
        assert unaccounted == [], f"{len(unaccounted)} content file(s) belong to no claim: {unaccounted[:10]}"
    finally:
        repos.close()


def queued(repository: Path, connection_id: str) -> int:
    """How many flowfiles the stopped engine's repository holds in ``connection_id``."""
    repos = Repositories.open(repository)
    try:
        return repos.flowfiles.count_queue(repos.flowfiles.queue_ids[connection_id])[0]
    finally:
        repos.close()
