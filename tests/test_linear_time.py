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
    assert calls == handlings  # was one call per outcome: endpoints x outcomes
