"""Rule nftables-no-endpoint-nodeports-output, checked against its source (issue 9).

Up to v1.30 kube-proxy's nftables proxier looked NodePorts up in @no-endpoint-nodeports from the chain
filter-output jumps to (openshift/kubernetes@84a2e12f pkg/proxy/nftables/proxier.go nftablesJumpChains,
setupNFTables), at a priority before nat-output's DNAT: the node's own connection to one of its NodePorts
of an eTP Local Service without a local endpoint was dropped, where iptables short-circuits it. Later
copies (npinaeva/kubernetes@04ef96cd, aroradaman/kubernetes@15ac54fe, both before PR #127318 of v1.32)
check NodePorts from filter-input only. The release in between, v1.31, is not pinned: Unknown. The flow
rows are in tests/kubernetes_cases/versions.yaml; here the solver checks the rule as encoded, and the
Unknown is checked in every engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
import z3

from kverify.check.exhaustive import unsupported
from kverify.cli import main
from kverify.concrete import route
from kverify.errors import NotModelled
from kverify.model import ClientKind, Dataplane, Destination, Flow
from kverify.semantics import nftables_nodeports
from kverify.semantics.decide import decide
from kverify.semantics.endpoints import any_usable, local_endpoints
from kverify.symbolic.differential import compare
from kverify.symbolic.prove import _solver
from kverify.symbolic.smt_ops import SmtOps
from kverify.symbolic.universe import Universe
from tests.kubernetes_cases import rows

ROWS = [r for r in rows.load_rows("flow") if "NodePort" in r["id"] and r["id"].startswith("nftables v1.")]
OWN = "nftables v1.30: the node itself to its own NodePort"


def _row(prefix: str) -> dict[str, Any]:
    (case,) = [r for r in ROWS if r["id"].startswith(prefix)]
    return case


def _own_node_port(u: Universe, minor: int) -> list[Any]:
    """The node's own process to one of its NodePorts of an eTP Local Service, at Kubernetes v1.``minor``."""
    return [
        *u.well_formed(),
        u.k8s_minor == minor,
        u.gates["NFTablesProxyMode"],
        u.etp_local,
        u.client == int(ClientKind.NODE),
        u.client_node == u.handling_node,
        u.destination == int(Destination.NODE_PORT),
        z3.Not(u.dst_is_localhost),
    ]


def _differs_from_iptables(u: Universe) -> Any:
    """The drop kind or the endpoint set differs between nftables and iptables, all else equal."""
    d = decide(SmtOps(), u.situation())

    def on(term: Any, dataplane: Dataplane) -> Any:
        return z3.substitute(term, (u.dataplane, z3.IntVal(int(dataplane))))

    return z3.Or(
        on(d.drop_kind, Dataplane.NFTABLES) != on(d.drop_kind, Dataplane.IPTABLES),
        *(on(c, Dataplane.NFTABLES) != on(c, Dataplane.IPTABLES) for c in d.chosen),
    )


@pytest.mark.parametrize("minor", [29, 30])
def test_up_to_v1_30_the_node_is_dropped_where_iptables_short_circuits_it(minor: int) -> None:
    u = Universe(max_nodes=3, max_endpoints=3)
    d = decide(SmtOps(), u.situation())

    def on(term: Any, dataplane: Dataplane) -> Any:
        return z3.substitute(term, (u.dataplane, z3.IntVal(int(dataplane))))

    solver = _solver(120_000)
    solver.add(*_own_node_port(u, minor), u.address_captured, on(d.delivered, Dataplane.IPTABLES))
    solver.add(on(d.drop_kind, Dataplane.NFTABLES) == 1)  # DropKind.DROP
    assert solver.check() == z3.sat
    # And only where the rule says: the proof that nftables drops nothing else of these flows.
    solver.add(z3.Not(on(nftables_nodeports.output_drop(SmtOps(), u.situation()), Dataplane.NFTABLES)))
    assert solver.check() == z3.unsat


@pytest.mark.parametrize("minor", [32, 33, 34])
def test_from_v1_32_the_node_gets_what_iptables_gives_it(minor: int) -> None:
    """Proof within 3 nodes and 3 endpoints: the same drop kind and endpoint set as iptables."""
    u = Universe(max_nodes=3, max_endpoints=3)
    solver = _solver(120_000)
    solver.add(*_own_node_port(u, minor), u.address_captured, _differs_from_iptables(u))
    result = solver.check()
    assert result == z3.unsat, solver.model() if result == z3.sat else result


def test_the_encoding_leaves_out_exactly_the_unpinned_situation() -> None:
    u = Universe(max_nodes=3, max_endpoints=3)
    s = u.situation()
    no_local = z3.Not(z3.Or(*local_endpoints(SmtOps(), s, s.handling_node)))
    base = [*_own_node_port(u, 31), u.dataplane == int(Dataplane.NFTABLES), u.address_captured]
    solver = _solver(60_000)
    solver.add(*base, no_local, any_usable(SmtOps(), s))
    assert solver.check() == z3.unsat, "v1.31, no local endpoint, endpoints elsewhere: left out"
    for still_there in (z3.Not(no_local), z3.Not(any_usable(SmtOps(), s))):
        solver = _solver(60_000)
        solver.add(*base, still_there)
        assert solver.check() == z3.sat, "a local endpoint, or none anywhere: every version answers alike"


@pytest.mark.parametrize("case", ROWS, ids=[r["id"] for r in ROWS])
def test_z3_encoding_admits_exactly_the_executable_models_outcomes_on_the_rows(case: dict[str, Any]) -> None:
    for comparison in compare(rows.cluster(case), rows.flow(case)):
        assert comparison.well_formed
        assert comparison.symbolic == comparison.concrete, comparison


def _at(minor: int, case: dict[str, Any] | None = None) -> tuple[Any, Flow]:
    case = case or _row(OWN)
    cluster = rows.cluster(case)
    proxy = attrs.evolve(cluster.proxy, kubernetes_version=minor, feature_gates=(("NFTablesProxyMode", True),))
    return attrs.evolve(cluster, proxy=proxy), rows.flow(case)


def test_v1_31_is_unknown_not_guessed() -> None:
    cluster, flow = _at(31)
    with pytest.raises(NotModelled, match="not pinned"):
        route(cluster, flow)
    assert unsupported(cluster, flow) == f"{nftables_nodeports.NOT_MODELLED}"
    for minor in (30, 32):
        assert unsupported(*_at(minor)) is None


def test_v1_31_answers_what_does_not_depend_on_the_change() -> None:
    # Another node's NodePort, and a Service with a local endpoint, are decided at every version.
    other, flow = _at(31, _row("nftables v1.30: the node to another node's NodePort is decided there"))
    assert [o.endpoint_ip for o in route(other, flow)] == ["10.180.2.1"]
    cluster, flow = _at(31)
    (service,) = cluster.services
    local = attrs.evolve(service.endpoints[0], node_name="test-node")
    cluster = attrs.evolve(cluster, services=(attrs.evolve(service, endpoints=(local,)),))
    assert [o.endpoint_ip for o in route(cluster, flow) if o.delivered] == ["10.180.2.1"]


MANIFESTS = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
status: {addresses: [{type: InternalIP, address: 192.168.0.11}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  clusterIP: 10.96.0.10
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 80}]
endpoints:
  - addresses: [10.244.1.5]
    nodeName: node-b
"""
TRACE = ["--service", "default/web", "--to", "node-port", "--from", "node", "--node", "node-a"]


@pytest.mark.parametrize(
    ("version", "delivered"),
    [("1.29", False), ("1.30", False), ("1.32", True), ("1.34", True)],
    ids=["v1.29 dropped", "v1.30 dropped", "v1.32 delivered", "v1.34 delivered"],
)
def test_trace_from_the_node_says_what_its_version_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str, delivered: bool
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(MANIFESTS)
    gates = ["--feature-gates", "NFTablesProxyMode=true"]
    args = ["trace", str(path), *TRACE, "--dataplane", "nftables", "--kubernetes-version", version, *gates]
    assert main([*args, "--format", "json"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)["outcomes"]
    assert outcome["delivered"] is delivered
    assert (nftables_nodeports.RULE_ID in outcome["rules"]) is not delivered
    if delivered:
        assert outcome["masqueraded"] and outcome["endpoint_ip"] == "10.244.1.5"


def test_trace_at_v1_31_is_unknown_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(MANIFESTS)
    assert main(["trace", str(path), *TRACE, "--dataplane", "nftables", "--kubernetes-version", "1.31"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not modelled" in err[0] and nftables_nodeports.RULE_ID in err[0]


def test_prove_at_v1_31_states_what_it_leaves_out(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["prove", "pod-cluster-ip-keeps-pod-ip", "--dataplane", "nftables", "--format", "json"]
    assert main([*args, "--kubernetes-version", "1.31"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["verdict"] == "proved"
    assert any(nftables_nodeports.RULE_ID in a for a in result["assumptions"])
    assert main([*args, "--kubernetes-version", "1.32"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert not any(nftables_nodeports.RULE_ID in a for a in result["assumptions"])


def test_prove_text_says_what_it_leaves_out_at_v1_31(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["prove", "pod-cluster-ip-keeps-pod-ip", "--dataplane", "nftables"]
    assert main([*args, "--kubernetes-version", "1.31"]) == 0
    text = capsys.readouterr().out
    assert "PROVED" in text and f"not covered (not modelled): {nftables_nodeports.NOT_MODELLED}" in text
    assert main([*args, "--kubernetes-version", "1.32"]) == 0
    assert "not covered" not in capsys.readouterr().out


def _diff(tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> list[dict[str, Any]]:
    """`kverify diff` of a rollout that takes node-a's endpoint away: the node-port paths from host clients."""
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    new.write_text(MANIFESTS)
    both = "  - addresses: [10.244.1.5]\n    nodeName: node-b\n  - addresses: [10.244.0.5]\n    nodeName: node-a\n"
    old.write_text(MANIFESTS.replace("  - addresses: [10.244.1.5]\n    nodeName: node-b\n", both))
    assert main(["diff", str(old), str(new), "--dataplane", "nftables", *flags, "--format", "json"]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    return [c for c in changes if (c["entry_point"], c["client"]) == ("node-port", "host")]


def test_diff_shows_the_rollout_dropping_the_nodes_own_connection_at_v1_30(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (change,) = _diff(tmp_path, capsys, "--kubernetes-version", "1.30", "--feature-gates", "NFTablesProxyMode=true")
    dropped = [w for w in change["witnesses"] if w["change"] == "appears" and not w["kind"]["delivered"]]
    assert [w["outcome"]["rules"][-1] for w in dropped] == [nftables_nodeports.RULE_ID]
    assert [w["nodes"] for w in dropped] == [["node-a"]]
    after = [k for c in _diff(tmp_path, capsys, "--kubernetes-version", "1.32") for k in c["after"]["kinds"]]
    assert all(k["delivered"] for k in after), "v1.32: node-a's own connection short-circuits to node-b"
    (change,) = _diff(tmp_path, capsys, "--kubernetes-version", "1.31")
    assert change["before"]["unknown"] is None, "node-a had a local endpoint: every version answers alike"
    assert change["after"]["unknown"] == nftables_nodeports.NOT_MODELLED, "v1.31: Unknown, not a guess"
