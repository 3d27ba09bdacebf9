"""The cluster settings of ``flowyard serve`` (docs/cluster.md, "Settings"):
from its command line and ``DATA/cluster.json``, the command line winning,
all checked before anything is opened. Imports nothing of the cluster itself
(commands that do not serve a cluster never load it)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowyard.bootstrap.options import json_object_file
from flowyard.runtime.sdk import ConfigurationError

__all__ = ["CLUSTER_FILE", "ClusterOptions", "add_cluster_options"]

#: The cluster settings of a data directory (optional; the command line wins).
CLUSTER_FILE = "cluster.json"
_NODE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ADDRESS = re.compile(r"(?P<host>[^\s:]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})")


@dataclass(frozen=True)
class ClusterOptions:
    """How a node joins its cluster (docs/cluster.md, "Settings")."""

    etcd: tuple[str, ...]
    node_id: str
    node_address: str
    secret_file: Path
    cluster_name: str = "flowyard"
    lease_ttl: int = 10
    heartbeat_interval: float = 2.0
    flow_election_wait: float = 30.0
    flow_election_candidates: int = 3

    @classmethod
    def read(cls, args: argparse.Namespace, data_dir: Path) -> ClusterOptions | None:
        """The cluster options of ``flowyard serve``: ``--cluster`` and the rest
        of its options over ``DATA/cluster.json``. None when neither names an
        etcd (a single node). Raises ``ConfigurationError`` naming the setting."""
        settings = _file_settings(data_dir / CLUSTER_FILE)
        given = {
            "etcd": args.cluster, "nodeId": args.node_id, "nodeAddress": args.node_address,
            "secretFile": args.cluster_secret_file, "clusterName": args.cluster_name, "leaseTtl": args.lease_ttl,
            "flowElectionWait": args.flow_election_wait, "flowElectionCandidates": args.flow_election_candidates,
        }
        settings.update({k: v for k, v in given.items() if v is not None})
        if not settings.get("etcd"):
            if len(settings) > 0 and any(k in settings for k in ("nodeId", "nodeAddress")):
                raise ConfigurationError("cluster settings are given but no etcd to join: add --cluster "
                                         "http://HOST:2379 (or \"etcd\" in cluster.json)")
            return None
        return cls.from_settings(settings, data_dir)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], data_dir: Path) -> ClusterOptions:
        etcd = settings["etcd"]
        endpoints = tuple(e.strip() for e in (etcd.split(",") if isinstance(etcd, str) else etcd) if e.strip())
        for e in endpoints:
            if not re.fullmatch(r"https?://[^\s/]+(:\d+)?/?", e):
                raise ConfigurationError(f"--cluster: {e!r} is not an etcd URL like http://127.0.0.1:2379")
        node_id = settings.get("nodeId")
        if not isinstance(node_id, str) or not _NODE_ID.fullmatch(node_id):
            raise ConfigurationError("--node-id: a cluster node needs an id of 1 to 64 letters, digits, '.', '_' "
                                     f"or '-', found {node_id!r}")
        address = settings.get("nodeAddress")
        match = _ADDRESS.fullmatch(address) if isinstance(address, str) else None
        if match is None or not 0 < int(match["port"]) < 65536:
            raise ConfigurationError("--node-address: where the other nodes reach this one, HOST:PORT (e.g. "
                                     f"127.0.0.1:9443), found {address!r}")
        secret = settings.get("secretFile")
        if not secret:
            raise ConfigurationError("--cluster-secret-file: every node of a cluster needs the same secret file "
                                     "(make one with: flowyard cluster-secret FILE)")
        secret_path = Path(secret)
        name = settings.get("clusterName", "flowyard")
        if not isinstance(name, str) or not _NODE_ID.fullmatch(name):
            raise ConfigurationError(f"--cluster-name: 1 to 64 letters, digits, '.', '_' or '-', found {name!r}")
        return cls(etcd=endpoints, node_id=node_id, node_address=str(address), secret_file=secret_path,
                   cluster_name=name, lease_ttl=_whole(settings, "leaseTtl", 10, 2),
                   flow_election_wait=_number(settings, "flowElectionWait", 30.0),
                   flow_election_candidates=_whole(settings, "flowElectionCandidates", 3, 1))


def _file_settings(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = json_object_file(path, "cluster settings")
    known = {"etcd", "nodeId", "nodeAddress", "secretFile", "clusterName", "leaseTtl", "flowElectionWait",
             "flowElectionCandidates"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigurationError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    if isinstance(data.get("secretFile"), str) and not Path(data["secretFile"]).is_absolute():
        data["secretFile"] = str(path.parent / data["secretFile"])  # relative to the data directory
    return data


def _whole(settings: Mapping[str, Any], key: str, default: int, least: int) -> int:
    value = settings.get(key, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ConfigurationError(f"{key}: expected a whole number of at least {least}, found {value!r}")
    return value


def _number(settings: Mapping[str, Any], key: str, default: float) -> float:
    value = settings.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number < 0:
        raise ConfigurationError(f"{key}: expected a number of seconds, found {value!r}")
    return number


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """``flowyard serve``'s cluster options (all default to ``DATA/cluster.json``'s)."""
    group = parser.add_argument_group("cluster", "join a cluster coordinated by etcd (docs/cluster.md); "
                                      "the same settings can live in DIR/cluster.json")
    group.add_argument("--cluster", metavar="URL[,URL...]", help="etcd client URL(s), e.g. http://127.0.0.1:2379")
    group.add_argument("--node-id", metavar="ID", help="this node's id in the cluster (unique)")
    group.add_argument("--node-address", metavar="HOST:PORT",
                       help="where the other nodes reach this one (node protocol and load balancing)")
    group.add_argument("--cluster-secret-file", type=Path, metavar="FILE",
                       help="the cluster's shared secret (the same file on every node; flowyard cluster-secret "
                            "FILE makes one)")
    group.add_argument("--cluster-name", metavar="NAME", help="several clusters can share one etcd (default: "
                                                              "flowyard)")
    group.add_argument("--lease-ttl", type=int, metavar="SECONDS",
                       help="a node that does not heartbeat for this long is disconnected and loses its roles "
                            "(default: 10)")
    group.add_argument("--flow-election-wait", type=float, metavar="SECONDS",
                       help="at a cold start, how long to wait for nodes to offer their flow (default: 30)")
    group.add_argument("--flow-election-candidates", type=int, metavar="N",
                       help="at a cold start, elect as soon as N nodes offered their flow (default: 3)")
