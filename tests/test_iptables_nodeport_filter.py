"""iptables' filter-table rules for a NodePort on addresses outside ``--nodeport-addresses``.

kube-proxy's nat rules capture a NodePort only on the NodePort addresses, but the filter rules it
writes when a service port has no endpoints for external traffic match every local address
(``-m addrtype --dst-type LOCAL``): REJECT with no endpoints at all (rule
``iptables-nodeport-reject-every-address``), DROP from v1.25 for eTP Local without a local endpoint
(rule ``iptables-nodeport-drop-every-address``, kubernetes/kubernetes PR #110290). The expected fates
follow ``pkg/proxy/iptables/proxier.go`` syncProxyRules 'Capture nodeports'; the Z3 encoding must admit
exactly the fates the executable model returns.
"""

from __future__ import annotations

import pytest

from kverify.concrete import route
from kverify.model import (
    ClientKind,
    Cluster,
    Destination,
    Endpoint,
    Flow,
    Node,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.symbolic.differential import compare

NODE_IP, OTHER_ADDRESS = "192.168.0.2", "192.168.1.2"  # OTHER_ADDRESS is outside --nodeport-addresses
CLIENT_IPS = {ClientKind.EXTERNAL: "203.0.113.2", ClientKind.POD: "10.0.0.2", ClientKind.NODE: NODE_IP}


def _cluster(minor: int, *, local_endpoint: bool) -> Cluster:
    endpoints = [Endpoint(ip="10.180.0.1", node_name="other-node")]
    if local_endpoint:
        endpoints.append(Endpoint(ip="10.180.2.1", node_name="test-node"))
    service = Service(
        namespace="ns1",
        name="svc1",
        type=ServiceType.NODE_PORT,
        cluster_ips=("172.30.0.41",),
        ports=(ServicePort(name="p80", port=80, node_port=3001),),
        external_traffic_policy=TrafficPolicy.LOCAL,
        endpoints=tuple(endpoints),
    )
    return Cluster(
        nodes=(
            Node(name="test-node", addresses=(NODE_IP, OTHER_ADDRESS)),
            Node(name="other-node", addresses=("192.168.0.3",)),
        ),
        services=(service,),
        proxy=ProxyConfig(node_port_addresses=("192.168.0.0/24",), kubernetes_version=minor),
    )


def _flow(client: ClientKind, dst_ip: str) -> Flow:
    return Flow(
        service="ns1/svc1",
        client=client,
        destination=Destination.NODE_PORT,
        client_ip=CLIENT_IPS[client],
        node="test-node",
        dst_ip=dst_ip,
        port=3001,
    )


# (minor, client, the fate kube-proxy gives a packet to OTHER_ADDRESS:3001 on a node without local endpoints)
UNCAPTURED = [
    (24, ClientKind.EXTERNAL, "not-intercepted"),  # v1.24: KUBE-MARK-DROP only behind KUBE-NODEPORTS
    (24, ClientKind.POD, "not-intercepted"),
    (25, ClientKind.EXTERNAL, "drop"),  # PR #110290: KUBE-EXTERNAL-SERVICES --dst-type LOCAL -j DROP
    (25, ClientKind.POD, "drop"),  # INPUT sees the un-DNATed packet; no short-circuit without the nat jump
    (34, ClientKind.EXTERNAL, "drop"),
    (34, ClientKind.POD, "drop"),
    (34, ClientKind.NODE, "drop"),  # a local packet to a local address passes INPUT too
]


@pytest.mark.parametrize(("minor", "client", "fate"), UNCAPTURED)
def test_a_nodeport_outside_the_nodeport_addresses_without_local_endpoints(
    minor: int, client: ClientKind, fate: str
) -> None:
    outcomes = route(_cluster(minor, local_endpoint=False), _flow(client, OTHER_ADDRESS))
    assert not any(o.delivered for o in outcomes)
    assert {o.drop_kind.spelling for o in outcomes if o.drop_kind} == {fate}
    if fate == "drop":
        assert all("iptables-nodeport-drop-every-address" in o.rules for o in outcomes)
        assert not any("drop-no-local-endpoints" in o.rules for o in outcomes)


@pytest.mark.parametrize("minor", [24, 34])
def test_a_local_endpoint_leaves_other_addresses_uncaptured(minor: int) -> None:
    # hasExternalEndpoints is true: kube-proxy writes no filter rule for the NodePort.
    outcomes = route(_cluster(minor, local_endpoint=True), _flow(ClientKind.EXTERNAL, OTHER_ADDRESS))
    assert {o.drop_kind.spelling for o in outcomes if o.drop_kind} == {"not-intercepted"}


def test_a_pod_on_a_nodeport_address_still_reaches_every_endpoint() -> None:
    # KUBE-NODEPORTS > EXT 'pod traffic' > the cluster chain: DNATed before the filter rule can match.
    outcomes = route(_cluster(34, local_endpoint=False), _flow(ClientKind.POD, NODE_IP))
    assert {o.endpoint_ip for o in outcomes if o.delivered} == {"10.180.0.1"}


FLOWS = [
    (m, c, ip, local)
    for m in (24, 25, 34)
    for c in CLIENT_IPS
    for ip in (NODE_IP, OTHER_ADDRESS)
    for local in (False, True)
]


@pytest.mark.parametrize(("minor", "client", "dst_ip", "local_endpoint"), FLOWS)
def test_z3_encoding_admits_exactly_the_executable_models_fates(
    minor: int, client: ClientKind, dst_ip: str, local_endpoint: bool
) -> None:
    comparisons = compare(_cluster(minor, local_endpoint=local_endpoint), _flow(client, dst_ip))
    assert comparisons
    for comparison in comparisons:
        assert comparison.well_formed, comparison
        assert comparison.symbolic == comparison.concrete, comparison
