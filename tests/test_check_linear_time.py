"""``kverify check`` on a snapshot: per-Service work does not grow with the number of nodes or of
Services when they are alike (issue 11). Structural checks by counting calls, no timing."""

from __future__ import annotations

import importlib
from typing import Any

import attrs
import pytest

from kverify.check import facts_for, run_builtin
from kverify.concrete.route import load_balancer_may_pick
from kverify.model import (
    ClientKind,
    Cluster,
    Destination,
    Endpoint,
    Flow,
    LoadBalancerIngress,
    LoadBalancerProfile,
    Node,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.report import check_json

#: kverify.concrete re-exports route(), which hides the module of the same name.
route_module = importlib.import_module("kverify.concrete.route")


def _nodes(n: int) -> tuple[Node, ...]:
    return tuple(
        Node(name=f"node-{i}", addresses=(f"192.168.{i // 250}.{i % 250 + 1}",), zone=f"zone-{i % 2}") for i in range(n)
    )


def _lb_service(*, node_0_ready: bool) -> Service:
    """eTP Local behind a health-checked LB: one endpoint on node-0 (Ready, or terminating) and one
    terminating endpoint on node-1."""
    return Service(
        namespace="shop",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("10.96.0.10",),
        ports=(ServicePort(name="http", port=80, node_port=30080, target_port=8080),),
        external_traffic_policy=TrafficPolicy.LOCAL,
        health_check_node_port=32000,
        load_balancer_ingress=(LoadBalancerIngress(ip="198.51.100.7"),),
        endpoints=(
            Endpoint(
                ip="10.244.0.5", node_name="node-0", ready=node_0_ready, serving=True, terminating=not node_0_ready
            ),
            Endpoint(ip="10.244.1.5", node_name="node-1", ready=False, serving=True, terminating=True),
        ),
    )


@pytest.mark.parametrize(
    ("node_0_ready", "may_pick"),
    [(True, False), (False, True)],
    ids=[
        "node-0 passes its probe: node-1 (terminating only) fails its own, and the LB does not pick it",
        "no node passes: the LB fails open and may pick node-1",
    ],
)
def test_fail_open_asks_the_probe_per_node_holding_endpoints_and_per_kind_of_node(  # type: ignore[no-untyped-def]
    monkeypatch, node_0_ready, may_pick
) -> None:
    """Rules lb-health-checked and lb-fail-open (kube-proxy's healthCheckNodePort answers 200 only with a
    local Ready endpoint, pkg/proxy/healthcheck/service_health.go): whether the load balancer may send
    to node-1 is decided by asking the probe of node-0 and node-1 (they hold endpoints) and of one node
    of each kind holding none (two zones), whether the cluster has 100 nodes or 1,000."""
    original = route_module.passes_probe
    counts = []
    for n_nodes in (100, 1000):
        calls = 0

        def counting(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            return original(*args)

        monkeypatch.setattr(route_module, "passes_probe", counting)
        cluster = Cluster(
            nodes=_nodes(n_nodes),
            services=(_lb_service(node_0_ready=node_0_ready),),
            load_balancer=LoadBalancerProfile.HEALTH_CHECKED,
        )
        flow = Flow(
            service="shop/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER, node="node-1"
        )
        assert load_balancer_may_pick(cluster, flow) is may_pick
        counts.append(calls)
    assert counts[0] == counts[1] <= 2 + 2  # two nodes holding endpoints, two kinds of node without


def test_fail_open_for_many_services_does_not_look_at_every_node_for_each(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """20 load-balanced Services on 1,000 nodes: the nodes are sorted by kind once per cluster, not
    looked at (their NodeView hashed) once per Service (was 20 x 1,000)."""
    from kverify.semantics.vocabulary import NodeView

    original = NodeView.__hash__
    calls = 0

    def counting(self: NodeView) -> int:
        nonlocal calls
        calls += 1
        return original(self)

    monkeypatch.setattr(NodeView, "__hash__", counting)
    services = tuple(
        attrs.evolve(_lb_service(node_0_ready=True), name=f"web-{s}", cluster_ips=(f"10.96.0.{s + 1}",))
        for s in range(20)
    )
    cluster = Cluster(nodes=_nodes(1000), services=services, load_balancer=LoadBalancerProfile.HEALTH_CHECKED)
    for s in range(20):
        flow = Flow(
            service=f"shop/web-{s}", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER, node="node-1"
        )
        assert load_balancer_may_pick(cluster, flow) is False
    assert calls <= 1000 + 50 * 20


def _alike_services(n_services: int) -> Cluster:
    """``n_services`` NodePort Services with eTP Local, each with its one endpoint on node-0: each
    drops on node-1 (check etp-local-node-port finds it)."""
    services = tuple(
        Service(
            namespace="shop",
            name=f"web-{s}",
            type=ServiceType.NODE_PORT,
            cluster_ips=(f"10.96.{s // 250}.{s % 250 + 1}",),
            ports=(ServicePort(name="http", port=80, node_port=30000 + s, target_port=8080),),
            external_traffic_policy=TrafficPolicy.LOCAL,
            endpoints=(Endpoint(ip=f"10.244.{s // 250}.{s % 250 + 1}", node_name="node-0"),),
        )
        for s in range(n_services)
    )
    return Cluster(nodes=_nodes(3), services=services)


def test_alike_services_are_decided_by_the_rule_table_a_fixed_number_of_times(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The rule table's answer for a kind of handling is shared by every flow in the cluster: 20 or
    200 alike Services cost the same number of rule-table evaluations."""
    alike = importlib.import_module("kverify.concrete.alike")
    original = alike.decide
    counts = []
    for n_services in (20, 200):
        calls = 0

        def counting(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            return original(*args)

        monkeypatch.setattr(alike, "decide", counting)
        cluster = _alike_services(n_services)
        run = run_builtin(cluster, facts_for(cluster), files=["snapshot.yaml"])
        assert {r.claim for r in run.results} == {"etp-local-node-port"}
        assert len(run.results) == n_services
        counts.append(calls)
    assert counts[0] == counts[1] >= 1


def test_the_report_finds_each_findings_service_without_scanning_every_service(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Checking and reporting 10 times more Services (each with a finding) names Services about 10
    times more often, not 100 times: the JSON report looked each finding's Service up by scanning
    every Service (Cluster.service), so 16,000 findings-prone Services cost 16,000 x findings."""
    original = Service.key
    counts = []
    for n_services in (20, 200):
        calls = 0

        def counting(self: Service) -> str:
            nonlocal calls
            calls += 1
            return original.fget(self)  # type: ignore[attr-defined,no-any-return]

        monkeypatch.setattr(Service, "key", property(counting))
        cluster = _alike_services(n_services)
        run = run_builtin(cluster, facts_for(cluster), files=["snapshot.yaml"])
        check_json.render(run)
        counts.append(calls)
    assert counts[1] <= 12 * counts[0]  # linear (was about 100x: quadratic)


def test_a_small_cluster_is_written_as_a_manifest_once_for_all_its_findings(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On a cluster of few nodes every counterexample carries the cluster as a manifest: written once,
    not once per finding (3 nodes and 200 Services with a finding each exported 200 x 200 Services)."""
    exhaustive = importlib.import_module("kverify.check.exhaustive")
    original = exhaustive.manifests
    calls = 0

    def counting(cluster: Cluster) -> str:
        nonlocal calls
        calls += 1
        return original(cluster)  # type: ignore[no-any-return]

    monkeypatch.setattr(exhaustive, "manifests", counting)
    cluster = _alike_services(40)
    run = run_builtin(cluster, facts_for(cluster), files=["snapshot.yaml"])
    manifests = {r.verdict.counterexample.manifest for r in run.results}  # type: ignore[union-attr]
    assert len(run.results) == 40 and calls == 1
    assert len(manifests) == 1 and "name: web-39" in manifests.pop()


def test_a_cluster_of_many_services_read_from_files_is_not_written_out_with_each_finding() -> None:
    """Every counterexample carries its cluster's manifest: on 3 nodes running 51 Services (more than a
    review reads whole) that made the report grow as findings x Services. On the user's files the
    command names them instead; an inline topology, which has no files, is still written out."""
    from kverify.check.exhaustive import EXPORT_MAX_SERVICES

    cluster = _alike_services(EXPORT_MAX_SERVICES + 1)
    on_files = run_builtin(cluster, facts_for(cluster), files=["snapshot.yaml"])
    assert len(on_files.results) == EXPORT_MAX_SERVICES + 1
    for result in on_files.results:
        cx = result.verdict.counterexample  # type: ignore[union-attr]
        assert cx.manifest == "" and " snapshot.yaml " in cx.command
    inline = run_builtin(cluster, facts_for(cluster), files=None)
    assert all("name: web-50" in r.verdict.counterexample.manifest for r in inline.results)  # type: ignore[union-attr]
