"""Work that grows with endpoints grows linearly (issue 11): structural checks, no timing.

``trace`` was quadratic because every outcome's explanation re-computed the node's local endpoint
set over all endpoints; it is now computed once per handling node and shared by its outcomes.
"""

from __future__ import annotations

from typing import Any

import pytest

from kverify.concrete import route
from kverify.model import (
    ClientKind,
    Cluster,
    Destination,
    Endpoint,
    Flow,
    Node,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.semantics import endpoints as endpoint_rules


def _cluster(n_nodes: int, n_endpoints: int, etp: TrafficPolicy) -> Cluster:
    nodes = tuple(Node(name=f"node-{i}", addresses=(f"192.168.0.{10 + i}",)) for i in range(n_nodes))
    service = Service(
        namespace="shop",
        name="web",
        type=ServiceType.NODE_PORT,
        cluster_ips=("10.96.0.10",),
        ports=(ServicePort(name="http", port=80, node_port=30080, target_port=8080),),
        external_traffic_policy=etp,
        endpoints=tuple(
            Endpoint(ip=f"10.244.{j // 250}.{j % 250 + 1}", node_name=f"node-{j % n_nodes}") for j in range(n_endpoints)
        ),
    )
    return Cluster(nodes=nodes, services=(service,))


@pytest.mark.parametrize(
    ("n_nodes", "etp", "node", "handlings", "outcomes"),
    [
        (1, TrafficPolicy.CLUSTER, "node-0", 1, 60),
        (3, TrafficPolicy.CLUSTER, None, 3, 180),
        (3, TrafficPolicy.LOCAL, None, 3, 60),
    ],
    ids=["one arrival node, 60 outcomes", "three arrival nodes, 180 outcomes", "eTP Local, 20 local each"],
)
def test_the_local_endpoint_set_is_computed_once_per_handling_not_per_outcome(  # type: ignore[no-untyped-def]
    monkeypatch, n_nodes, etp, node, handlings, outcomes
):
    calls = 0
    original = endpoint_rules.local_endpoints

    def counting(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(*args)

    monkeypatch.setattr(endpoint_rules, "local_endpoints", counting)  # what explain.py looks up
    flow = Flow(service="shop/web", client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT, node=node)
    found = route(_cluster(n_nodes, 60, etp), flow)
    assert len(found) == outcomes
    assert all(o.delivered for o in found)
    assert 1 <= calls <= handlings  # once per kind of handling node; was one call per outcome


def _every_node(n_nodes: int, per_node: int, etp: TrafficPolicy) -> tuple[Cluster, Flow]:
    cluster = _cluster(n_nodes, n_nodes * per_node, etp)
    return cluster, Flow(service="shop/web", client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT)


@pytest.mark.parametrize("etp", [TrafficPolicy.LOCAL, TrafficPolicy.CLUSTER])
def test_the_rule_table_work_per_node_does_not_grow_with_endpoints(monkeypatch, etp) -> None:  # type: ignore[no-untyped-def]
    """Traced from each of 12 nodes, a Service of 120 or of 2,400 endpoints costs the rule table the
    same number of per-endpoint evaluations (one per endpoint class per node): was endpoints x nodes."""
    from kverify.semantics import nat

    original = nat.masqueraded_given
    counts = []
    for per_node in (10, 200):
        calls = 0

        def counting(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            return original(*args)

        monkeypatch.setattr(nat, "masqueraded_given", counting)  # decide() looks it up per endpoint view
        cluster, flow = _every_node(12, per_node, etp)
        found = route(cluster, flow)
        assert len(found) == 12 * per_node * (1 if etp is TrafficPolicy.LOCAL else 12)
        counts.append(calls)
    assert counts[0] == counts[1] <= 12 * 2  # local or elsewhere: two classes per node


def test_each_endpoint_is_classified_a_bounded_number_of_times(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """From every one of 50 nodes, each of 5,000 endpoints is looked at (given its class) a bounded
    number of times: once where it runs, once to take it out of the count of the others. The
    endpoints are indexed once per trace, not once per node."""
    from kverify.concrete import endpoint_set

    keys = built = 0
    original_key, original_init = endpoint_set.EndpointSet.key, endpoint_set.EndpointSet.__init__

    def counting_key(self, *args: Any) -> Any:  # type: ignore[no-untyped-def]
        nonlocal keys
        keys += 1
        return original_key(self, *args)

    def counting_init(self, *args: Any) -> None:  # type: ignore[no-untyped-def]
        nonlocal built
        built += 1
        original_init(self, *args)

    monkeypatch.setattr(endpoint_set.EndpointSet, "key", counting_key)
    monkeypatch.setattr(endpoint_set.EndpointSet, "__init__", counting_init)
    cluster, flow = _every_node(50, 100, TrafficPolicy.LOCAL)
    assert len(route(cluster, flow)) == 5000
    assert built == 1
    assert keys <= 2 * 5000
