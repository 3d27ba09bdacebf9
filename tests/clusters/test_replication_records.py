"""The pure parts of replication: the flow election's choice, fingerprints,
the etcd keys of the flow, and sealed values bound to their key."""

from __future__ import annotations

import pytest

from flowyard.clusters._flowsync import (
    Candidate,
    FlowKeys,
    Snapshot,
    elect,
    fingerprint,
    is_empty_flow,
    open_entry,
    seal_entry,
)
from flowyard.clusters._members import ClusterConfig
from flowyard.clusters.channel import ClusterError, Sealer, derive_keys
from flowyard.runtime.service._replication import Entry, Proposal

SEALER = Sealer(derive_keys(b"s" * 32).seal)
KEYS = FlowKeys.of(ClusterConfig(node_id="n1", address="127.0.0.1:9443", api_url="", etcd_endpoints=("http://e:1",),
                                 cluster_name="c"))


def candidate(node: str, flow: str, components: int) -> Candidate:
    return Candidate(node, fingerprint({"rootGroup": flow}), {"rootGroup": flow},
                     {f"x{i}": 0 for i in range(components)})


@pytest.mark.parametrize(("candidates", "winner"), [
    ([candidate("n1", "a", 9), candidate("n2", "b", 1), candidate("n3", "b", 1)], "n2"),  # most common first
    ([candidate("n2", "a", 2), candidate("n1", "b", 3)], "n1"),  # a tie: most components
    ([candidate("n3", "a", 2), candidate("n2", "b", 2)], "n2"),  # then the lowest node id
    ([candidate("n3", "a", 2), candidate("n2", "a", 2), candidate("n1", "b", 5)], "n2"),  # its lowest holder
])
def test_the_flow_election_follows_nifi(candidates: list[Candidate], winner: str) -> None:
    assert elect(candidates).node_id == winner


def test_an_empty_flow_is_elected_only_when_every_flow_is_empty() -> None:
    empty = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": []}}
    full = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [{"identifier": "p"}]}}
    votes = [Candidate("n1", fingerprint(empty), empty, {}), Candidate("n2", fingerprint(empty), empty, {}),
             Candidate("n3", fingerprint(full), full, {"p": 0})]
    assert elect(votes).node_id == "n3"  # two empty flows lose to the one flow with something in it
    assert elect(votes[:2]).node_id == "n1"
    assert is_empty_flow(empty) and not is_empty_flow(full)
    assert not is_empty_flow({**empty, "parameterContexts": [{"identifier": "c"}]})


def test_no_candidates_is_an_error() -> None:
    with pytest.raises(ValueError, match="no flow candidates"):
        elect([])


def test_a_fingerprint_ignores_the_files_bookkeeping_only() -> None:
    flow = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root"}}
    assert fingerprint(flow) == fingerprint({**flow, "editSeq": 7})
    assert fingerprint(flow) != fingerprint({**flow, "rootGroup": {"identifier": "other"}})


def test_flow_keys() -> None:
    assert KEYS.head == "/flowyard/c/flow/head"
    assert KEYS.entry(42) == "/flowyard/c/flow/log/0000000000000042"
    assert KEYS.seq_of(KEYS.entry(42)) == 42
    with pytest.raises(ClusterError, match="not a flow log entry's key"):
        KEYS.seq_of("/flowyard/c/flow/log/12")


def test_sealed_values_open_only_at_their_key() -> None:
    entry = Entry(3, Proposal({"op": "batch", "edits": []}, {"op": "batch", "edits": []}, "ann", "d", (), False))
    blob = seal_entry(SEALER, KEYS, entry)
    assert open_entry(SEALER, KEYS, KEYS.entry(3), blob) == entry
    with pytest.raises(ClusterError, match="cannot be opened"):
        open_entry(SEALER, KEYS, KEYS.entry(4), blob)  # moved to another key
    other = Sealer(derive_keys(b"t" * 32).seal)
    with pytest.raises(ClusterError, match="another cluster secret"):
        open_entry(other, KEYS, KEYS.entry(3), blob)
    snap = Snapshot(5, {"rootGroup": {}}, {"a": 1})
    assert Snapshot.open(SEALER, KEYS.snapshot, snap.seal(SEALER, KEYS.snapshot)) == snap
    with pytest.raises(ClusterError, match="not a flow snapshot"):
        Snapshot.open(SEALER, KEYS.snapshot, SEALER.seal(KEYS.snapshot, b"not zlib"))
