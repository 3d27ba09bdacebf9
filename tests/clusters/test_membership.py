"""Membership rules as data (clusters._members): the config checks, the
member record's API form, and what the view makes of etcd's keys."""

from __future__ import annotations

import json

import pytest

from flowyard.clusters._members import (
    ClusterConfig,
    ClusterConfigError,
    Member,
    MembershipView,
    NodeState,
    format_time,
)

ROOT = "/flowyard/c1/"


def config(**changes: object) -> ClusterConfig:
    values: dict[str, object] = {
        "node_id": "n1",
        "address": "127.0.0.1:9443",
        "api_url": "http://127.0.0.1:8080",
        "etcd_endpoints": ("http://127.0.0.1:2379",),
    }
    values.update(changes)
    return ClusterConfig(**values)  # type: ignore[arg-type]


def test_config_key_layout() -> None:
    c = config(cluster_name="c1")
    assert c.key("nodes", "n1") == "/flowyard/c1/nodes/n1"
    assert c.key("election", "coordinator", "") == "/flowyard/c1/election/coordinator/"
    assert config().root == "/flowyard/flowyard/"


def test_config_accepts_a_list_of_endpoints() -> None:
    assert config(etcd_endpoints=["http://a:1", "http://b:2"]).etcd_endpoints == ("http://a:1", "http://b:2")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"node_id": ""}, "node id"),
        ({"node_id": "a/b"}, "node id"),
        ({"node_id": "x" * 65}, "node id"),
        ({"cluster_name": "a b"}, "cluster name"),
        ({"address": "127.0.0.1"}, "node address"),
        ({"address": ":9443"}, "node address"),
        ({"address": "h:0"}, "node address"),
        ({"address": "h:70000"}, "node address"),
        ({"address": "h:x"}, "node address"),
        ({"etcd_endpoints": ()}, "etcd endpoints"),
        ({"etcd_endpoints": "http://a:1"}, "etcd endpoints"),
        ({"etcd_endpoints": ("a:1",)}, "etcd endpoint"),
        ({"lease_ttl": 1}, "lease ttl"),
        ({"lease_ttl": 2.5}, "lease ttl"),
        ({"lease_ttl": True}, "lease ttl"),
        ({"heartbeat_interval": 0}, "heartbeat interval"),
        ({"heartbeat_interval": 10}, "heartbeat interval"),
        ({"retry_initial": 0}, "retry"),
    ],
)
def test_config_refuses_bad_settings(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ClusterConfigError, match=message):
        config(**changes)


def test_member_to_dict_is_camel_case_with_age_at_call() -> None:
    member = Member(
        node_id="n1",
        address="h:1",
        api_url="http://h:2",
        state=NodeState.CONNECTED,
        reason="",
        heartbeat=100.0,
        alive=True,
        roles=frozenset({"primary", "coordinator"}),
        queued_count=3,
        queued_bytes=40,
    )
    assert member.to_dict(now=102.5) == {
        "nodeId": "n1",
        "address": "h:1",
        "apiUrl": "http://h:2",
        "state": "CONNECTED",
        "reason": "",
        "heartbeat": 100.0,
        "heartbeatAgeSeconds": 2.5,
        "roles": ["coordinator", "primary"],
        "queuedCount": 3,
        "queuedBytes": 40,
        "alive": True,
    }
    never = Member("n2", "h:1", "", NodeState.CONNECTING, "", None, False)
    assert never.to_dict()["heartbeatAgeSeconds"] is None


def put(view: MembershipView, key: str, value: object, rev: int = 1) -> bool:
    raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    return view.put(ROOT + key, raw, rev)


def test_view_live_node_shows_its_own_record_and_roles() -> None:
    view = MembershipView(ROOT)
    put(view, "members/n1", {"nodeId": "n1", "address": "h:1", "apiUrl": "u1"})
    put(view, "nodes/n1", {"state": "CONNECTED", "reason": "", "heartbeat": 50.0, "queuedCount": 2, "queuedBytes": 9,
                           "address": "h:1", "apiUrl": "u1"})
    put(view, "election/coordinator/aa", "n2", rev=5)
    put(view, "election/coordinator/bb", "n1", rev=4)
    put(view, "election/primary/cc", "n1", rev=7)
    [member] = view.members()
    assert member == Member("n1", "h:1", "u1", NodeState.CONNECTED, "", 50.0, True,
                            frozenset({"coordinator", "primary"}), 2, 9)
    assert view.leader("coordinator") == ("n1", ROOT + "election/coordinator/bb", 4)
    view.delete(ROOT + "election/coordinator/bb")
    assert view.leader("coordinator") == ("n2", ROOT + "election/coordinator/aa", 5)


def test_view_dead_node_is_disconnected_since_its_last_heartbeat() -> None:
    view = MembershipView(ROOT)
    put(view, "members/n1", {"nodeId": "n1", "address": "h:1", "apiUrl": "u1"})
    put(view, "nodes/n1", {"state": "CONNECTED", "heartbeat": 1_000_000_000.0})
    assert view.delete(ROOT + "nodes/n1")
    [member] = view.members()
    assert (member.state, member.alive, member.heartbeat) == (NodeState.DISCONNECTED, False, 1_000_000_000.0)
    assert member.reason == "no heartbeat since 2001-09-09T01:46:40Z"


def test_view_dead_node_shows_an_admin_request_or_that_it_left() -> None:
    view = MembershipView(ROOT)
    put(view, "members/n1", {"nodeId": "n1", "address": "h:1", "apiUrl": "u1"})
    put(view, "admin/n1", {"state": "OFFLOADING", "reason": "by user", "by": "user"})
    [member] = view.members()
    assert (member.state, member.reason, member.heartbeat) == (NodeState.OFFLOADING, "by user", None)
    assert view.admin("n1") == {"state": "OFFLOADING", "reason": "by user", "by": "user"}
    put(view, "members/n1", {"nodeId": "n1", "address": "h:1", "apiUrl": "u1", "left": True,
                             "state": "DISCONNECTED", "reason": "left the cluster"})
    [member] = view.members()
    assert (member.state, member.reason) == (NodeState.DISCONNECTED, "left the cluster")


def test_view_ignores_foreign_keys_and_bad_values() -> None:
    view = MembershipView(ROOT)
    assert not put(view, "flow/head", {"seq": 1})
    assert not put(view, "nodes/n1", "not json")
    assert not put(view, "nodes/n2", [1, 2])
    assert not view.put("/flowyard/other/nodes/n1", b"{}", 1)
    assert put(view, "nodes/n3", {"state": "NOPE", "queuedCount": -4, "heartbeat": "x"})
    [member] = view.members()
    assert (member.node_id, member.state, member.queued_count) == ("n3", NodeState.CONNECTING, 0)
    assert member.heartbeat is None


def test_format_time() -> None:
    assert format_time(None) == "an unknown time"
    assert format_time(0) == "1970-01-01T00:00:00Z"


def test_view_dead_node_never_seen_alive_shows_its_members_record_heartbeat() -> None:
    view = MembershipView(ROOT)
    put(view, "members/n1", {"nodeId": "n1", "address": "h:1", "apiUrl": "u1", "heartbeat": 0.0,
                             "queuedCount": 5, "queuedBytes": 50})
    [member] = view.members()
    assert (member.heartbeat, member.reason) == (0.0, "no heartbeat since 1970-01-01T00:00:00Z")
    assert (member.queued_count, member.queued_bytes, member.alive) == (5, 50, False)


def test_view_replace_reads_a_prefix_afresh() -> None:
    view = MembershipView(ROOT)
    put(view, "nodes/n1", {"state": "CONNECTED", "heartbeat": 7.0})
    put(view, "election/primary/aa", "n1", rev=3)
    view.replace(ROOT + "nodes/", [(ROOT + "nodes/n2", b'{"state": "CONNECTING"}', 9)])
    assert [m.node_id for m in view.members()] == ["n2"]
    assert view.holds(ROOT + "election/primary/aa")
    view.replace(ROOT + "election/", [])
    assert not view.holds(ROOT + "election/primary/aa") and view.leader("primary") is None
    assert view.last_heartbeat == {"n1": 7.0}
