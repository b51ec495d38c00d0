"""``kverify trace`` at scale (issue 11): above ``--max-outcomes`` outcomes it prints one line (one
JSON entry) per group of outcomes alike but for their endpoint; pod names are shown escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kverify.cli import main


def _manifests(tmp_path: Path, *, nodes: int, per_node: int, etp: str, pod: str = "web-{j}") -> str:
    """``nodes`` nodes, one NodePort Service with ``per_node`` endpoints on each (endpoint j on node j % nodes)."""
    items: list[dict] = [  # type: ignore[type-arg]
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"node-{i}"},
            "status": {"addresses": [{"type": "InternalIP", "address": f"192.168.0.{10 + i}"}]},
        }
        for i in range(nodes)
    ]
    items.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "type": "NodePort",
                "clusterIP": "10.96.0.10",
                "externalTrafficPolicy": etp,
                "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}],
            },
        }
    )
    endpoints = [
        {
            "addresses": [f"10.244.{j // 250}.{j % 250 + 1}"],
            "conditions": {"ready": True},
            "nodeName": f"node-{j % nodes}",
            "targetRef": {"kind": "Pod", "namespace": "shop", "name": pod.format(j=j)},
        }
        for j in range(nodes * per_node)
    ]
    items.append(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "web-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080}],
            "endpoints": endpoints,
        }
    )
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return str(path)


TRACE = ["--service", "shop/web", "--to", "node-port", "--from", "external"]


def test_above_the_limit_each_node_is_one_line_with_its_endpoints_counted(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """eTP Local from each of 4 nodes, 6 endpoints each: 24 outcomes; with --max-outcomes 10, one line
    per node saying it delivers to its own 6 endpoints (3 named, 3 more)."""
    path = _manifests(tmp_path, nodes=4, per_node=6, etp="Local")
    assert main(["trace", path, *TRACE, "--max-outcomes", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    groups = [line for line in lines if line.startswith("  at ")]
    assert len(groups) == 4
    assert groups[1].startswith(
        "  at node-1: delivered to 6 endpoints: 10.244.0.2 (shop/web-1), 10.244.0.6 (shop/web-5), "
        "10.244.0.10 (shop/web-9) and 3 more; each stays on node-1; pod sees 203.0.113.10 (client IP kept); reply ok"
    )
    assert lines[-1].startswith("24 outcome(s): 24 delivered, 0 not delivered; 4 line(s)")


def test_at_or_below_the_limit_every_outcome_is_listed(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _manifests(tmp_path, nodes=4, per_node=6, etp="Local")
    assert main(["trace", path, *TRACE, "--max-outcomes", "24"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if line.startswith("  at ")]) == 24
    assert lines[-1] == "24 outcome(s): 24 delivered, 0 not delivered"


def test_json_groups_hold_every_endpoint_and_outcomes_only_below_the_limit(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """eTP Cluster from 3 nodes with 2 endpoints each: every node reaches all 6 (2 here, 4 elsewhere)."""
    path = _manifests(tmp_path, nodes=3, per_node=2, etp="Cluster")
    assert main(["trace", path, *TRACE, "--format", "json", "--max-outcomes", "5"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["outcomes"] is None
    groups = document["outcome_groups"]
    assert sum(g["count"] for g in groups) == 18
    for node in ("node-0", "node-1", "node-2"):
        mine = [g for g in groups if g["node"] == node]
        reached = sorted(e["ip"] for g in mine for e in g["endpoints"])
        assert reached == sorted(f"10.244.0.{j + 1}" for j in range(6))
        here = [g for g in mine if not g["crosses_nodes"]]
        assert [e["node"] for g in here for e in g["endpoints"]] == [node, node]
    assert main(["trace", path, *TRACE, "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed["outcomes"]) == 18
    assert sum(g["count"] for g in listed["outcome_groups"]) == 18


@pytest.mark.parametrize("limit", ["0", "-3", "many"])
def test_max_outcomes_must_be_a_whole_number_of_at_least_one(tmp_path, capsys, limit) -> None:  # type: ignore[no-untyped-def]
    path = _manifests(tmp_path, nodes=1, per_node=1, etp="Local")
    with pytest.raises(SystemExit) as exited:
        main(["trace", path, *TRACE, "--max-outcomes", limit])
    assert exited.value.code == 2
    assert "must be a whole number of at least 1" in capsys.readouterr().err


def test_a_pod_name_from_a_target_ref_is_shown_escaped(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A targetRef name is not validated by the API server as a DNS name here: printed raw, an escape
    sequence in it would drive the terminal and a newline would forge a line."""
    path = _manifests(tmp_path, nodes=1, per_node=1, etp="Local", pod="web\x1b[2J\nFORGED")
    assert main(["trace", path, *TRACE, "--hops"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "FORGED" not in out.replace("\\nFORGED", "")  # only as the escaped \n, never at a line start
    assert "(shop/web\\x1b[2J\\nFORGED)" in out
    assert "-> shop/web\\x1b[2J\\nFORGED:" in out
    assert main(["trace", path, *TRACE, "--max-outcomes", "1", "--hops"]) == 0  # one outcome: listed
    assert "\x1b" not in capsys.readouterr().out
