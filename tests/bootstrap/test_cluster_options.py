"""``flowyard serve``'s cluster settings: the command line over DATA/cluster.json,
every bad setting refused naming it, before anything is opened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowyard.bootstrap.cli import _parser, serve_options
from flowyard.bootstrap.cluster_options import ClusterOptions
from flowyard.runtime.sdk import ConfigurationError

NODE = ["--cluster", "http://127.0.0.1:2379", "--node-id", "n1", "--node-address", "127.0.0.1:9443",
        "--cluster-secret-file", "/secrets/cluster.secret"]


def read(tmp_path: Path, *argv: str) -> ClusterOptions | None:
    args = _parser().parse_args(["serve", "--data-dir", str(tmp_path), *argv])
    return ClusterOptions.read(args, tmp_path)


def test_without_an_etcd_the_node_is_a_single_node(tmp_path: Path) -> None:
    assert read(tmp_path) is None
    assert serve_options(_parser().parse_args(["serve", "--data-dir", str(tmp_path)])).cluster is None


def test_the_command_line_gives_every_setting_with_defaults(tmp_path: Path) -> None:
    options = read(tmp_path, *NODE)
    assert options == ClusterOptions(etcd=("http://127.0.0.1:2379",), node_id="n1", node_address="127.0.0.1:9443",
                                     secret_file=Path("/secrets/cluster.secret"))
    assert (options.lease_ttl, options.flow_election_wait, options.flow_election_candidates) == (10, 30.0, 3)
    several = read(tmp_path, *NODE, "--cluster", "http://a:2379, http://b:2379", "--lease-ttl", "3")
    assert several is not None and several.etcd == ("http://a:2379", "http://b:2379") and several.lease_ttl == 3


def test_cluster_json_gives_the_settings_and_the_command_line_wins(tmp_path: Path) -> None:
    (tmp_path / "cluster.json").write_text(json.dumps({
        "etcd": ["http://127.0.0.1:2379"], "nodeId": "from-file", "nodeAddress": "127.0.0.1:9000",
        "secretFile": "cluster.secret", "leaseTtl": 4, "flowElectionCandidates": 2}))
    options = read(tmp_path)
    assert options is not None and options.node_id == "from-file" and options.lease_ttl == 4
    assert options.secret_file == tmp_path / "cluster.secret", "relative to the data directory"
    assert options.flow_election_candidates == 2
    overridden = read(tmp_path, "--node-id", "from-cli")
    assert overridden is not None and overridden.node_id == "from-cli" and overridden.node_address == "127.0.0.1:9000"


@pytest.mark.parametrize(("argv", "message"), [
    (["--node-id", "n1"], "no etcd to join"),
    (["--cluster", "127.0.0.1:2379"], "is not an etcd URL"),
    ([*NODE, "--node-id", "bad id!"], "--node-id"),
    ([*NODE, "--node-address", "9443"], "--node-address"),
    ([*NODE, "--node-address", "127.0.0.1:99999"], "--node-address"),
    ([*NODE[:6]], "--cluster-secret-file"),
    ([*NODE, "--lease-ttl", "1"], "leaseTtl"),
    ([*NODE, "--cluster-name", "a/b"], "--cluster-name"),
])
def test_a_bad_setting_is_refused_naming_it(tmp_path: Path, argv: list[str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        read(tmp_path, *argv)


@pytest.mark.parametrize(("content", "message"), [
    ("{", "cannot read the cluster settings file"),
    ("[]", "must hold a JSON object"),
    (json.dumps({"etcd": "http://e:2379", "nodeID": "n1"}), "unknown setting 'nodeID'"),
])
def test_a_bad_cluster_json_is_refused_naming_it(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "cluster.json").write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        read(tmp_path)


def test_serve_refuses_bad_cluster_settings_with_exit_status_2(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from flowyard.bootstrap.cli import main

    assert main(["serve", "--data-dir", str(tmp_path / "d"), "--node-id", "n1"]) == 2
    assert "no etcd to join" in capsys.readouterr().err
    assert not (tmp_path / "d").exists(), "nothing was touched"
