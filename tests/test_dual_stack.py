"""Rule ip-family: each family has its own proxier, so a flow meets only its family's endpoints."""

from __future__ import annotations

import pytest

from kverify.concrete import route
from kverify.model import ClientKind, Cluster, Destination, Endpoint, Flow, Node, Service, ServicePort

CLUSTER = Cluster(
    nodes=[Node(name="node-a", addresses=["192.168.0.10", "2001:db8::10"])],
    services=[
        Service(
            namespace="shop",
            name="web",
            cluster_ips=["172.30.0.10", "fd00:30::10"],
            ports=[ServicePort(port=80)],
            endpoints=[
                Endpoint(ip="10.244.0.5", node_name="node-a"),
                Endpoint(ip="fd00:10:244::5", node_name="node-a"),
            ],
        )
    ],
)


@pytest.mark.parametrize(
    ("dst_ip", "client_ip", "expected"),
    [("172.30.0.10", "10.244.0.9", {"10.244.0.5"}), ("fd00:30::10", "fd00:10:244::9", {"fd00:10:244::5"})],
    ids=["IPv4 cluster IP reaches the IPv4 endpoint only", "IPv6 cluster IP reaches the IPv6 endpoint only"],
)
def test_a_flow_meets_only_its_familys_endpoints(dst_ip: str, client_ip: str, expected: set[str]) -> None:
    flow = Flow(
        service="shop/web",
        client=ClientKind.POD,
        destination=Destination.CLUSTER_IP,
        node="node-a",
        dst_ip=dst_ip,
        client_ip=client_ip,
    )
    assert {o.endpoint_ip for o in route(CLUSTER, flow)} == expected
