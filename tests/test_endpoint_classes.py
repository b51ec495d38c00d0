"""Endpoint classes (issue 11): the executable model decides each handling node on one endpoint view
per class (``kverify/concrete/endpoint_set.py``). These tests hold that to the rule table on the full
endpoint list: every endpoint gets the decision, the explanation and the outcome it gets there.
"""

from __future__ import annotations

import types

import attrs
import pytest
from hypothesis import given, settings

from kverify.concrete.alike import decided
from kverify.concrete.explain import explain, explain_decision
from kverify.concrete.route import _load_balancer_picks, _service, handlings, load_balancer_may_pick, route
from kverify.errors import InputError
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
from kverify.model.versions import VERSIONS
from kverify.semantics.decide import decide
from kverify.semantics.load_balancer import may_receive
from kverify.semantics.ops import CONCRETE
from kverify.testing.strategies import clusters_and_flows


def _handlings(cluster: Cluster, flow: Flow) -> list:  # type: ignore[type-arg]
    try:
        service = _service(cluster, flow)
        return handlings(cluster, flow, service)
    except InputError:
        return []  # a flow the CLI would refuse: nothing to compare


@settings()  # examples per profile: 100 by default, 600 in CI (tests/conftest.py)
@given(clusters_and_flows(max_nodes=5, max_endpoints=8, kubernetes_versions=VERSIONS))
def test_each_endpoint_is_decided_on_its_class_as_on_the_full_list(pair: tuple[Cluster, Flow]) -> None:
    cluster, flow = pair
    memo: dict = {}  # type: ignore[type-arg]  # one per flow, as route() keeps it: alike nodes share answers
    for h in _handlings(cluster, flow):
        full = decide(CONCRETE, h.situation)
        found = decided(h, memo)  # what route() uses: the classes, decided once per kind of node
        reduced = found.decision
        classes = h.classes
        of: dict[int, int] = {}
        for cls in range(len(classes.keys)):
            for i in classes.members(cls):
                assert i not in of, f"endpoint {i} in two classes"
                of[i] = cls
        assert sorted(of) == list(range(len(h.endpoints))), "every endpoint in exactly one class"
        for field in ("delivered", "drop_kind", "lb_rewrote_source", "uses_local_set", "health_check_ok"):
            assert getattr(full, field) == getattr(reduced, field), field
        for i, cls in of.items():
            for field in ("chosen", "masqueraded", "reply_path", "reply_ok"):
                assert getattr(full, field)[i] == getattr(reduced, field)[cls], (field, i, h.endpoints[i])
        # The explanations too: the same rules fire on the classes as on the full list.
        whole = types.SimpleNamespace(reduced=h.situation, pod_ip=h.pod_ip)
        common = explain_decision(whole, full)  # type: ignore[arg-type]
        assert found.common == common
        for i, cls in of.items():
            if full.chosen[i]:
                assert found.rules(cls) == explain(whole, full, i, common)  # type: ignore[arg-type]


def _big(n_nodes: int, per_node: int, etp: TrafficPolicy) -> Cluster:
    nodes = tuple(Node(name=f"node-{i}", addresses=(f"192.168.{i // 250}.{i % 250 + 1}",)) for i in range(n_nodes))
    endpoints = tuple(
        Endpoint(
            ip=f"10.{j // 62500}.{(j // 250) % 250}.{j % 250 + 1}",
            node_name=f"node-{j % n_nodes}",
            pod=f"shop/web-{j}",
            ready=j % 7 != 3,
            serving=True,
            terminating=j % 7 == 3,
        )
        for j in range(n_nodes * per_node)
    )
    service = Service(
        namespace="shop",
        name="web",
        type=ServiceType.NODE_PORT,
        cluster_ips=("10.96.0.10",),
        ports=(ServicePort(name="http", port=80, node_port=30080, target_port=8080),),
        external_traffic_policy=etp,
        endpoints=endpoints,
    )
    return Cluster(nodes=nodes, services=(service,))


def test_a_handling_node_sees_few_classes_whatever_the_number_of_endpoints() -> None:
    """Ready and terminating endpoints on every node: from any node there are four kinds (here or
    elsewhere, ready or terminating), whether the Service has 140 endpoints or 14,000."""
    for per_node in (14, 1400):  # 14 consecutive endpoints of a node cover every remainder mod 7
        cluster = _big(10, per_node, TrafficPolicy.LOCAL)
        flow = Flow(service="shop/web", client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT)
        for h in handlings(cluster, flow, cluster.services[0]):
            assert len(h.reduced.endpoints) == 4


def test_the_outcomes_are_the_ones_the_full_list_gives() -> None:
    """eTP Local from every node: each node delivers to its own Ready endpoints (3 of its 4 would be
    terminating fallbacks only), never elsewhere; 10 nodes x 400 endpoints, one in 7 terminating."""
    cluster = _big(10, 400, TrafficPolicy.LOCAL)
    flow = Flow(service="shop/web", client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT)
    outcomes = route(cluster, flow)
    expected = [(f"node-{j % 10}", j) for j in range(4000) if j % 7 != 3]  # Ready ones: terminating only as fallback
    got = [(o.node, int(o.endpoint_pod.rsplit("-", 1)[1])) for o in outcomes]  # type: ignore[union-attr]
    assert sorted(got) == sorted(expected)
    assert all(not o.crosses_nodes and o.endpoint_node == o.node for o in outcomes)
    # In node order, then endpoint order within a node, as before.
    assert got == sorted(got, key=lambda pair: (int(pair[0].split("-")[1]), pair[1]))


@settings()
@given(
    clusters_and_flows(
        max_nodes=5,
        max_endpoints=8,
        kubernetes_versions=VERSIONS,
        clients=[ClientKind.EXTERNAL],
        destinations=[Destination.LOAD_BALANCER],
    )
)
def test_the_load_balancers_picks_on_classes_are_those_on_the_full_list(pair: tuple[Cluster, Flow]) -> None:
    """Which nodes the load balancer may send to: fail-open decided once from each node's probe on its
    own classes, then each node on its classes, as ``may_receive`` decides on every endpoint."""
    cluster, flow = pair
    if flow.node is not None:
        return
    try:
        service = _service(cluster, flow)
        every = [h for n in cluster.nodes for h in handlings(cluster, attrs.evolve(flow, node=n.name), service)]
    except InputError:
        return
    position = {n.name: i for i, n in enumerate(cluster.nodes)}
    expected = [h for h in every if h.node is None or may_receive(CONCRETE, h.situation, position[h.node.name])]
    assert _load_balancer_picks(cluster, every) == expected


@pytest.mark.parametrize(
    ("ready_on", "picked"),
    [
        ((), ["node-0", "node-1", "node-2"]),  # no node passes the health check: the LB fails open
        ((1,), ["node-1"]),  # only node-1 has a Ready endpoint: only it passes
    ],
    ids=["no node passes, so the load balancer fails open to all", "only the node with a Ready endpoint passes"],
)
def test_a_health_checked_load_balancer_picks_passing_nodes_or_fails_open(ready_on, picked) -> None:  # type: ignore[no-untyped-def]
    """eTP Local behind a health-checked LB (rules lb-health-checked, lb-fail-open): 3 nodes, one
    serving endpoint each, Ready only on the nodes in ``ready_on`` (the others terminating)."""
    nodes = tuple(Node(name=f"node-{i}", addresses=(f"192.168.0.{10 + i}",)) for i in range(3))
    service = Service(
        namespace="shop",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("10.96.0.10",),
        ports=(ServicePort(name="http", port=80, node_port=30080, target_port=8080),),
        external_traffic_policy=TrafficPolicy.LOCAL,
        health_check_node_port=32000,
        load_balancer_ingress=(LoadBalancerIngress(ip="198.51.100.7"),),
        endpoints=tuple(
            Endpoint(
                ip=f"10.244.0.{i + 1}",
                node_name=f"node-{i}",
                ready=i in ready_on,
                serving=True,
                terminating=i not in ready_on,
            )
            for i in range(3)
        ),
    )
    cluster = Cluster(nodes=nodes, services=(service,), load_balancer=LoadBalancerProfile.HEALTH_CHECKED)
    flow = Flow(service="shop/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
    assert [h.node.name for h in handlings(cluster, flow, service)] == picked


@settings()
@given(clusters_and_flows(max_nodes=5, max_endpoints=8, kubernetes_versions=VERSIONS))
def test_whether_the_load_balancer_may_pick_a_flows_node_is_what_the_full_list_says(pair: tuple[Cluster, Flow]) -> None:
    """What ``kverify check`` asks before it reports a finding behind a load balancer."""
    from kverify.prove.run import concrete_worlds  # the Z3 engine's module: the full-list reading

    cluster, flow = pair
    try:
        expected = any(world.lb_may_pick_node for _, world in concrete_worlds(cluster, flow))
    except InputError:
        return
    assert load_balancer_may_pick(cluster, flow) == expected


@settings()
@given(clusters_and_flows(max_nodes=5, max_endpoints=8, kubernetes_versions=VERSIONS))
def test_the_fail_open_answer_kept_for_the_next_flow_is_that_flows_own(pair: tuple[Cluster, Flow]) -> None:
    """``kverify check`` asks whether the load balancer may pick a node for one Service's flows one after
    another (arrival at two nodes): the fail-open answer kept with the endpoint set must be each flow's
    own (the full-list reading), and mark the rules a fresh evaluation marks."""
    from kverify.prove.run import concrete_worlds
    from kverify.semantics.registry import recording

    cluster, flow = pair
    flows = [attrs.evolve(flow, node=node.name) for node in cluster.nodes] or [flow]
    marked: dict[str | None, set[str]] = {}
    for each in [*flows, *flows]:  # every flow twice: the second round is answered from what was kept
        try:
            with recording() as seen:
                answer = load_balancer_may_pick(cluster, each)
            expected = any(world.lb_may_pick_node for _, world in concrete_worlds(cluster, each))
        except InputError:
            return
        assert answer == expected
        assert marked.setdefault(each.node, seen) == seen


@settings()
@given(clusters_and_flows(max_nodes=4, max_endpoints=6, kubernetes_versions=VERSIONS))
def test_flows_decided_from_what_earlier_flows_of_the_cluster_kept_get_their_own_outcomes(
    pair: tuple[Cluster, Flow],
) -> None:
    """A check routes one flow per Service in one cluster: the rule table's answers are kept across flows by
    the flow's shared fields and the kind of handling (``kverify.concrete.alike.decided``). Every flow, to
    each Service and at each node, routed after the others gets the outcomes it gets in a fresh copy of the
    cluster, where nothing was kept."""
    cluster, flow = pair
    # Services alike but for one policy each (what two Services of a snapshot often are), routed in turn.
    twins = []
    for n, service in enumerate(cluster.services):
        for k, policy in enumerate(("external_traffic_policy", "internal_traffic_policy")):
            flipped = TrafficPolicy.CLUSTER if getattr(service, policy) is TrafficPolicy.LOCAL else TrafficPolicy.LOCAL
            name = f"{service.name[:50]}-t{k}"
            ips = tuple(
                f"fd00:{n}:{k}::{i + 1}" if ":" in ip else f"10.250.{n * 2 + k}.{i + 1}"
                for i, ip in enumerate(service.cluster_ips)
            )
            twins.append(attrs.evolve(service, name=name, cluster_ips=ips, **{policy: flipped}))
    cluster = attrs.evolve(cluster, services=(*cluster.services, *twins))
    flows = [
        attrs.evolve(flow, service=service.key, node=node)
        for service in cluster.services
        for node in [flow.node, *(n.name for n in cluster.nodes)]
    ]
    for each in flows:
        try:
            after_others = route(cluster, each)
        except InputError:
            continue
        assert after_others == route(attrs.evolve(cluster), each)
