"""Regression tests for the rule-table review of issue 9: explanations and CLI inputs.

The routing fixes themselves are rows of ``tests/kubernetes_cases/review_fixes.yaml`` (each citing the
source line it follows); these tests cover what a row cannot say: which rules an outcome lists, how
``kverify trace`` words it, and the CLI options the review found missing.
"""

from __future__ import annotations

import json

import attrs
import pytest

from kverify.cli import main
from kverify.concrete import route
from kverify.load.export import manifests
from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    Endpoint,
    Flow,
    LoadBalancerIngress,
    LoadBalancerProfile,
    Node,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.report.trace_text import outcome_line

NODES = (
    Node(name="node-a", addresses=("192.168.0.10",), zone="zone-a"),
    Node(name="node-b", addresses=("192.168.0.11",), zone="zone-b"),
)


def _cluster(dataplane: Dataplane, **service: object) -> Cluster:
    svc = Service(
        namespace="default",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("172.30.0.10",),
        ports=(ServicePort(name="http", port=80, node_port=30080),),
        load_balancer_ingress=(LoadBalancerIngress(ip="192.0.2.10"),),
        endpoints=(Endpoint(ip="10.244.1.5", node_name="node-b", pod="default/web-0"),),
    )
    return Cluster(
        nodes=NODES,
        services=(attrs.evolve(svc, **service),),
        proxy=ProxyConfig(dataplane=dataplane),
        load_balancer=LoadBalancerProfile.NO_HEALTH_CHECK,
    )


def test_a_source_range_drop_does_not_also_blame_missing_local_endpoints() -> None:
    cluster = _cluster(
        Dataplane.IPTABLES,
        external_traffic_policy=TrafficPolicy.LOCAL,
        health_check_node_port=32000,
        load_balancer_source_ranges=("198.18.0.0/15",),
    )
    flow = Flow(service="default/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER, node="node-a")
    (outcome,) = route(cluster, flow)
    assert outcome.drop_kind is not None and outcome.drop_kind.spelling == "drop"
    assert "lb-source-ranges" in outcome.rules
    assert "drop-no-local-endpoints" not in outcome.rules


@pytest.mark.parametrize("dataplane", [Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR])
def test_cilium_outcomes_do_not_list_the_topology_rules_cilium_ignores(dataplane: Dataplane) -> None:
    endpoints = (
        Endpoint(ip="10.244.0.5", node_name="node-a", zone_hints=("zone-a",)),
        Endpoint(ip="10.244.1.5", node_name="node-b", zone_hints=("zone-b",)),
    )
    cluster = _cluster(dataplane, type=ServiceType.CLUSTER_IP, load_balancer_ingress=(), endpoints=endpoints)
    cluster = attrs.evolve(
        cluster, services=(attrs.evolve(cluster.services[0], ports=(ServicePort(name="http", port=80),)),)
    )
    flow = Flow(service="default/web", client=ClientKind.POD, destination=Destination.CLUSTER_IP, node="node-a")
    outcomes = route(cluster, flow)
    assert {o.endpoint_ip for o in outcomes} == {"10.244.0.5", "10.244.1.5"}  # hints ignored: both reachable
    for outcome in outcomes:
        assert "topology-prefer-same-zone" not in outcome.rules


def test_ipvs_host_to_its_own_lb_ip_is_not_called_client_ip_kept() -> None:
    cluster = _cluster(Dataplane.IPVS, external_traffic_policy=TrafficPolicy.LOCAL, health_check_node_port=32000)
    flow = Flow(service="default/web", client=ClientKind.NODE, destination=Destination.LOAD_BALANCER, node="node-a")
    (outcome,) = route(cluster, flow)
    assert outcome.delivered and outcome.source_ip_seen == "192.0.2.10"
    line = outcome_line(outcome)
    assert "client IP kept" not in line
    assert "not the client's address 192.168.0.10" in line


def test_ip_target_outcome_says_the_pod_sees_the_load_balancer() -> None:
    cluster = attrs.evolve(_cluster(Dataplane.IPTABLES), load_balancer=LoadBalancerProfile.IP_TARGET)
    flow = Flow(service="default/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
    (outcome,) = route(cluster, flow)
    line = outcome_line(outcome)
    assert "pod sees load-balancer (the load balancer's address)" in line
    assert "client IP kept" not in line


def _trace(capsys: pytest.CaptureFixture[str], cluster: Cluster, tmp_path, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "cluster.yaml"
    path.write_text(manifests(cluster))
    code = main(["trace", str(path), "--service", "default/web", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_trace_to_the_health_check_node_port_by_its_number(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cluster = _cluster(Dataplane.IPTABLES, external_traffic_policy=TrafficPolicy.LOCAL, health_check_node_port=32000)
    code, out, _ = _trace(
        capsys,
        cluster,
        tmp_path,
        "--to",
        "health-check-node-port",
        "--port",
        "32000",
        "--from",
        "external",
        "--node",
        "node-b",
        "--format",
        "json",
    )
    assert code == 0
    (outcome,) = json.loads(out)["outcomes"]
    assert outcome["health_check"]["status"] == 200  # node-b runs the Ready endpoint
    assert "service-port-unmatched" not in outcome["rules"]


def test_trace_to_another_port_than_the_health_check_node_port_is_not_intercepted(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cluster = _cluster(Dataplane.IPTABLES, external_traffic_policy=TrafficPolicy.LOCAL, health_check_node_port=32000)
    code, out, _ = _trace(
        capsys,
        cluster,
        tmp_path,
        "--to",
        "health-check-node-port",
        "--port",
        "32001",
        "--from",
        "external",
        "--node",
        "node-b",
        "--format",
        "json",
    )
    assert code == 0
    (outcome,) = json.loads(out)["outcomes"]
    assert outcome["drop_kind"] == "not-intercepted" and outcome["rules"] == ["service-port-unmatched"]


@pytest.mark.parametrize(("value", "intercepted"), [("true", True), ("false", False)])
def test_iptables_localhost_nodeports_flag(capsys, tmp_path, value: str, intercepted: bool) -> None:  # type: ignore[no-untyped-def]
    cluster = _cluster(Dataplane.IPTABLES, type=ServiceType.NODE_PORT, load_balancer_ingress=())
    code, out, _ = _trace(
        capsys,
        cluster,
        tmp_path,
        "--to",
        "node-port",
        "--from",
        "node",
        "--node",
        "node-b",
        "--dst-ip",
        "127.0.0.1",
        "--port",
        "30080",
        f"--iptables-localhost-nodeports={value}",
        "--format",
        "json",
    )
    assert code == 0
    outcomes = json.loads(out)["outcomes"]
    assert all(o["delivered"] == intercepted for o in outcomes)
    if not intercepted:
        assert {o["drop_kind"] for o in outcomes} == {"not-intercepted"}


def test_iptables_localhost_nodeports_rejects_a_non_boolean(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cluster = _cluster(Dataplane.IPTABLES)
    with pytest.raises(SystemExit) as exit_:
        _trace(capsys, cluster, tmp_path, "--to", "node-port", "--from", "node", "--iptables-localhost-nodeports=maybe")
    assert exit_.value.code == 2
    assert "must be true or false" in capsys.readouterr().err
