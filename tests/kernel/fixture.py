"""The fixtures of kube-proxy's rule-asserting tests, in kverify's model, and the flows the kernel
harness sends through the rules those tests assert.

A :class:`Fixture` pairs the transcribed rules (``rules/``) with the cluster the Go test built them
for: the same Services and EndpointSlices (names, addresses, ports, policies, conditions; an
endpoint without ``NodeName`` stays without one and is therefore remote) and the proxy settings of
that file's ``NewFakeProxier``. Rules are never derived from this model.

- TestOverallIPTablesRules / TestOverallNFTablesRules: six Services, every kind of address.
- TestEndpointSliceWithTerminatingEndpointsTrafficPolicyLocal (iptables): eTP Local with local
  endpoints, ready, serving-terminating and not-serving endpoints, ClientIP affinity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import attrs

from kverify.model import (
    ClientKind,
    Cluster,
    Cni,
    Dataplane,
    Destination,
    Endpoint,
    EndpointPort,
    Flow,
    LoadBalancerIngress,
    Node,
    Protocol,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)
from tests.kernel.harness import CLIENT, CLIENT_BLOCKED, NODE_A, NODE_B, POD_CLIENT, Pod, bridge_subnet

TEST_NODE = "test-node"  # testNodeName in both proxier_test.go files; node-a in the lab

P80 = EndpointPort(name="p80", port=80)


def _endpoint(ip: str, node: str | None = None) -> Endpoint:
    return Endpoint(ip=ip, node_name=node, ports=(P80,))


SERVICES = (
    # create ClusterIP service
    Service(
        namespace="ns1",
        name="svc1",
        cluster_ips=("172.30.0.41",),
        ports=(ServicePort(name="p80", port=80),),
        endpoints=(_endpoint("10.180.0.1"),),
    ),
    # create LoadBalancer service with Local traffic policy ("since we aren't setting its NodeName,
    # this endpoint will be considered non-local and ignored")
    Service(
        namespace="ns2",
        name="svc2",
        type=ServiceType.LOAD_BALANCER,
        external_traffic_policy=TrafficPolicy.LOCAL,
        cluster_ips=("172.30.0.42",),
        ports=(ServicePort(name="p80", port=80, node_port=3001),),
        load_balancer_ingress=(LoadBalancerIngress(ip="1.2.3.4"),),
        external_ips=("192.168.99.22",),
        health_check_node_port=30000,
        endpoints=(_endpoint("10.180.0.2"),),
    ),
    # create NodePort service
    Service(
        namespace="ns3",
        name="svc3",
        type=ServiceType.NODE_PORT,
        cluster_ips=("172.30.0.43",),
        ports=(ServicePort(name="p80", port=80, node_port=3003),),
        endpoints=(_endpoint("10.180.0.3"),),
    ),
    # create ExternalIP service (type NodePort, but the test gives its port no NodePort)
    Service(
        namespace="ns4",
        name="svc4",
        type=ServiceType.NODE_PORT,
        cluster_ips=("172.30.0.44",),
        external_ips=("192.168.99.33",),
        ports=(ServicePort(name="p80", port=80, target_port=80),),
        endpoints=(_endpoint("10.180.0.4"), _endpoint("10.180.0.5", TEST_NODE)),
    ),
    # create LoadBalancer service with Cluster traffic policy, source ranges, and session affinity
    Service(
        namespace="ns5",
        name="svc5",
        type=ServiceType.LOAD_BALANCER,
        external_traffic_policy=TrafficPolicy.CLUSTER,
        cluster_ips=("172.30.0.45",),
        ports=(ServicePort(name="p80", port=80, node_port=3002),),
        load_balancer_ingress=(LoadBalancerIngress(ip="5.6.7.8"),),
        health_check_node_port=30000,
        load_balancer_source_ranges=("203.0.113.0/25",),  # the test writes " 203.0.113.0/25"
        session_affinity=SessionAffinity.CLIENT_IP,
        endpoints=(_endpoint("10.180.0.3"),),
    ),
    # create ClusterIP service with no endpoints
    Service(
        namespace="ns6",
        name="svc6",
        cluster_ips=("172.30.0.46",),
        ports=(ServicePort(name="p80", port=80, target_port=80),),
    ),
)

VIPS = ("1.2.3.4", "5.6.7.8")


def _lab_pods(services: tuple[Service, ...], test_node: str) -> tuple[Pod, ...]:
    """Where the lab runs each endpoint: on node-a if the test node owns it, else on node-b."""
    found = {(e.ip, e.node_name) for s in services for e in s.endpoints}
    return tuple(
        Pod(name=f"ep-{ip.replace('.', '-')}", node="node-a" if node == test_node else "node-b", ip=ip)
        for ip, node in sorted(found)
    )


def _overall_cluster(dataplane: Dataplane) -> Cluster:
    """The fixture's cluster as each file's NewFakeProxier configures kube-proxy."""
    nodes = (
        # testNodeIPs (IPv4 part): the node's addresses in the fake network interfacer
        Node(name=TEST_NODE, addresses=(NODE_A, "192.168.1.2", "192.168.99.11")),
        # The lab's second node, home of the endpoints without NodeName (no rules are loaded there).
        Node(name="node-b", addresses=(NODE_B,)),
    )
    if dataplane is Dataplane.NFTABLES:
        # nodePortAddresses := []string{"192.168.0.2/32", "2001:db8::1/128"}
        proxy = ProxyConfig(dataplane=dataplane, cluster_cidrs=("10.0.0.0/8",), node_port_addresses=(f"{NODE_A}/32",))
    else:
        # nodePortAddresses nil (every local address), localhostNodePorts true
        proxy = ProxyConfig(dataplane=dataplane, cluster_cidrs=("10.0.0.0/8",), localhost_node_ports=True)
    return Cluster(nodes=nodes, services=SERVICES, proxy=proxy)


@dataclass(frozen=True)
class LabFlow:
    """One flow: who sends, from which namespace and address, to which Service address."""

    id: str
    service: str
    client: ClientKind
    destination: Destination
    dst: str
    port: int
    src: str  # the client's address, as kverify is told
    namespace: str  # the lab namespace the client runs in
    protocol: Protocol = Protocol.TCP
    bind: bool = True  # bind ``src`` (a host-network client lets the kernel pick, as programs do)

    @property
    def proto(self) -> str:
        return self.protocol.spelling.lower()

    def kverify_flow(self, test_node: str) -> Flow:
        return Flow(
            service=self.service,
            client=self.client,
            destination=self.destination,
            client_ip=self.src,
            node=test_node,
            dst_ip=self.dst,
            port=self.port,
            protocol=self.protocol,
        )


EXT, POD, HOST = ClientKind.EXTERNAL, ClientKind.POD, ClientKind.NODE
CIP, NP, LB, XIP = Destination.CLUSTER_IP, Destination.NODE_PORT, Destination.LOAD_BALANCER, Destination.EXTERNAL_IP
POD_NS = f"pod-{POD_CLIENT.name}"


def _ext(id_: str, svc: str, to: Destination, dst: str, port: int, src: str = CLIENT, **kw: Protocol) -> LabFlow:
    return LabFlow(id_, svc, EXT, to, dst, port, src, "client", **kw)


def _pod(id_: str, svc: str, to: Destination, dst: str, port: int, **kw: Protocol) -> LabFlow:
    return LabFlow(id_, svc, POD, to, dst, port, POD_CLIENT.ip, POD_NS, **kw)


def _host(id_: str, svc: str, to: Destination, dst: str, port: int) -> LabFlow:
    source = "127.0.0.1" if dst == "127.0.0.1" else NODE_A  # what the kernel picks for that route
    return LabFlow(id_, svc, HOST, to, dst, port, source, "node-a", bind=False)


UDP = Protocol.UDP

OVERALL_FLOWS = (
    # External client (203.0.113.2; .130 is outside svc5's loadBalancerSourceRanges).
    _ext("external to LB IP, eTP Local without local endpoints", "ns2/svc2", LB, "1.2.3.4", 80),
    _ext("external to NodePort, eTP Local without local endpoints", "ns2/svc2", NP, NODE_A, 3001),
    _ext("external to externalIP, eTP Local without local endpoints", "ns2/svc2", XIP, "192.168.99.22", 80),
    _ext("external to NodePort, eTP Cluster", "ns3/svc3", NP, NODE_A, 3003),
    _ext("external to NodePort on a secondary node IP", "ns3/svc3", NP, "192.168.1.2", 3003),
    _ext("external to NodePort on the node's external IP", "ns3/svc3", NP, "192.168.99.11", 3003),
    _ext("external UDP to a TCP-only NodePort", "ns3/svc3", NP, NODE_A, 3003, protocol=UDP),
    _ext("external to externalIP, local and remote endpoints", "ns4/svc4", XIP, "192.168.99.33", 80),
    _ext("external to LB IP inside loadBalancerSourceRanges", "ns5/svc5", LB, "5.6.7.8", 80),
    _ext("external to LB IP outside loadBalancerSourceRanges", "ns5/svc5", LB, "5.6.7.8", 80, CLIENT_BLOCKED),
    _ext("external to NodePort outside loadBalancerSourceRanges", "ns5/svc5", NP, NODE_A, 3002, CLIENT_BLOCKED),
    _ext("external to NodePort inside loadBalancerSourceRanges", "ns5/svc5", NP, NODE_A, 3002),
    # Pod client on the node (10.0.0.2, inside the cluster CIDR 10.0.0.0/8).
    _pod("pod to ClusterIP", "ns1/svc1", CIP, "172.30.0.41", 80),
    _pod("pod to ClusterIP on a port the Service lacks", "ns1/svc1", CIP, "172.30.0.41", 443),
    _pod("pod UDP to a TCP-only ClusterIP port", "ns1/svc1", CIP, "172.30.0.41", 80, protocol=UDP),
    _pod("pod to ClusterIP, eTP Local service", "ns2/svc2", CIP, "172.30.0.42", 80),
    _pod("pod to LB IP, eTP Local without local endpoints", "ns2/svc2", LB, "1.2.3.4", 80),
    _pod("pod to NodePort, eTP Local without local endpoints", "ns2/svc2", NP, NODE_A, 3001),
    _pod("pod to externalIP, eTP Local without local endpoints", "ns2/svc2", XIP, "192.168.99.22", 80),
    _pod("pod to ClusterIP of a NodePort service", "ns3/svc3", CIP, "172.30.0.43", 80),
    _pod("pod to NodePort, eTP Cluster", "ns3/svc3", NP, NODE_A, 3003),
    _pod("pod to ClusterIP, local and remote endpoints", "ns4/svc4", CIP, "172.30.0.44", 80),
    _pod("pod to externalIP, local and remote endpoints", "ns4/svc4", XIP, "192.168.99.33", 80),
    _pod("pod to ClusterIP with session affinity", "ns5/svc5", CIP, "172.30.0.45", 80),
    _pod("pod to LB IP outside loadBalancerSourceRanges", "ns5/svc5", LB, "5.6.7.8", 80),
    _pod("pod to NodePort of a service with source ranges", "ns5/svc5", NP, NODE_A, 3002),
    _pod("pod to ClusterIP without endpoints", "ns6/svc6", CIP, "172.30.0.46", 80),
    # Host-network client on the node (source 192.168.0.2).
    _host("host to ClusterIP", "ns1/svc1", CIP, "172.30.0.41", 80),
    _host("host to LB IP, eTP Local without local endpoints", "ns2/svc2", LB, "1.2.3.4", 80),
    _host("host to NodePort, eTP Local without local endpoints", "ns2/svc2", NP, NODE_A, 3001),
    _host("host to externalIP, eTP Local without local endpoints", "ns2/svc2", XIP, "192.168.99.22", 80),
    _host("host to localhost NodePort, eTP Local", "ns2/svc2", NP, "127.0.0.1", 3001),
    _host("host to NodePort, eTP Cluster", "ns3/svc3", NP, NODE_A, 3003),
    _host("host to localhost NodePort, eTP Cluster", "ns3/svc3", NP, "127.0.0.1", 3003),
    _host("host to ClusterIP, local and remote endpoints", "ns4/svc4", CIP, "172.30.0.44", 80),
    _host("host to LB IP outside loadBalancerSourceRanges", "ns5/svc5", LB, "5.6.7.8", 80),
    _host("host to ClusterIP without endpoints", "ns6/svc6", CIP, "172.30.0.46", 80),
    # The endpoint 10.180.0.5 reaching its own Service (hairpin when it picks itself).
    LabFlow(
        "endpoint pod to its own ClusterIP", "ns4/svc4", POD, CIP, "172.30.0.44", 80, "10.180.0.5", "pod-ep-10-180-0-5"
    ),
)


# -- TestEndpointSliceWithTerminatingEndpointsTrafficPolicyLocal (iptables) -----------------------

TEST_HOSTNAME = "test-hostname"  # testHostname in that version of the iptables proxier_test.go


def _conditions(ip: str, ready: bool, serving: bool, terminating: bool, node: str) -> Endpoint:
    return Endpoint(ip=ip, node_name=node, ready=ready, serving=serving, terminating=terminating)


def _terminating_service(*endpoints: Endpoint) -> Service:
    return Service(
        namespace="ns1",
        name="svc1",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("172.30.1.1",),
        ports=(ServicePort(name="", port=80, target_port=80),),
        external_traffic_policy=TrafficPolicy.LOCAL,
        health_check_node_port=30000,
        session_affinity=SessionAffinity.CLIENT_IP,
        load_balancer_ingress=(LoadBalancerIngress(ip="1.2.3.4"),),
        endpoints=endpoints,
    )


# "feature gate ProxyTerminatingEndpoints enabled, ready endpoints exist"
TERMINATING_READY = _terminating_service(
    _conditions("10.0.1.1", True, True, False, TEST_HOSTNAME),
    _conditions("10.0.1.2", True, True, False, TEST_HOSTNAME),
    _conditions("10.0.1.3", False, True, True, TEST_HOSTNAME),
    _conditions("10.0.1.4", False, False, True, TEST_HOSTNAME),
    _conditions("10.0.1.5", True, True, False, "host-1"),
)
# "feature gate ProxyTerminatingEndpoints enabled, only terminating endpoints exist"
TERMINATING_ONLY = _terminating_service(
    _conditions("10.0.1.2", False, True, True, TEST_HOSTNAME),
    _conditions("10.0.1.3", False, True, True, TEST_HOSTNAME),
    _conditions("10.0.1.4", False, False, True, TEST_HOSTNAME),
    _conditions("10.0.1.5", True, True, False, "host-1"),
)


def _terminating_cluster(service: Service) -> Cluster:
    nodes = (Node(name=TEST_HOSTNAME, addresses=(NODE_A,)), Node(name="host-1", addresses=(NODE_B,)))
    # NewFakeProxier of that version: pod CIDR 10.0.0.0/8, nodePortAddresses nil
    proxy = ProxyConfig(dataplane=Dataplane.IPTABLES, cluster_cidrs=("10.0.0.0/8",), localhost_node_ports=True)
    return Cluster(nodes=nodes, services=(service,), proxy=proxy)


TERMINATING_FLOWS = (
    _pod("pod to ClusterIP", "ns1/svc1", CIP, "172.30.1.1", 80),  # the test's "pod to clusterIP"
    _ext("external to LB IP, eTP Local", "ns1/svc1", LB, "1.2.3.4", 80),  # the test's "external to LB"
    _pod("pod to LB IP, eTP Local", "ns1/svc1", LB, "1.2.3.4", 80),
    _host("host to ClusterIP", "ns1/svc1", CIP, "172.30.1.1", 80),
    _host("host to LB IP, eTP Local", "ns1/svc1", LB, "1.2.3.4", 80),
)


# -- the fixtures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    """Transcribed rules, the cluster they were written for, and the flows to send through them."""

    name: str
    origin: str  # repository@commit, file, test (and case)
    rules: tuple[str, ...]  # files in rules/: one .nft, or an iptables-restore input
    cluster: Cluster
    test_node: str
    flows: tuple[LabFlow, ...]
    vips: tuple[str, ...] = VIPS
    # node-b's pod bridge, away from the fixture's pod addresses
    bridges: dict[str, str] = field(default_factory=lambda: {"node-a": "10.0.0.1", "node-b": "10.0.1.1"})
    # Empty ClientIP affinity lists (xt_recent) before each attempt, so that each is a first connection.
    forget_affinity: bool = False

    @property
    def dataplane(self) -> Dataplane:
        return self.cluster.proxy.dataplane

    @property
    def pods(self) -> tuple[Pod, ...]:
        return _lab_pods(self.cluster.services, self.test_node)


OVERALL_NFT = Fixture(
    name="TestOverallNFTablesRules (nftables)",
    origin="kubernetes/kubernetes@030880a5dc54 pkg/proxy/nftables/proxier_test.go TestOverallNFTablesRules",
    rules=("nftables_overall.nft",),
    cluster=_overall_cluster(Dataplane.NFTABLES),
    test_node=TEST_NODE,
    flows=OVERALL_FLOWS,
)
OVERALL_IPT = Fixture(
    name="TestOverallIPTablesRules (iptables)",
    origin="kubernetes/kubernetes (fork aojea/kubernetes@4e7ccb27627e) pkg/proxy/iptables/proxier_test.go "
    "TestOverallIPTablesRules",
    rules=("iptables_overall.rules",),
    cluster=_overall_cluster(Dataplane.IPTABLES),
    test_node=TEST_NODE,
    flows=OVERALL_FLOWS,
)
_TERMINATING = "kubernetes/kubernetes (fork openshift/kubernetes@06d263ebff31) pkg/proxy/iptables/proxier_test.go "
TERMINATING_READY_IPT = Fixture(
    name="Terminating endpoints, eTP Local: ready endpoints exist (iptables)",
    origin=_TERMINATING + "TestEndpointSliceWithTerminatingEndpointsTrafficPolicyLocal, "
    '"feature gate ProxyTerminatingEndpoints enabled, ready endpoints exist"',
    rules=("iptables_terminating_ready.rules",),
    cluster=_terminating_cluster(TERMINATING_READY),
    test_node=TEST_HOSTNAME,
    flows=TERMINATING_FLOWS,
    vips=("1.2.3.4",),
    bridges={"node-a": "10.0.0.1", "node-b": "10.0.2.1"},
    forget_affinity=True,
)
TERMINATING_ONLY_IPT = Fixture(
    name="Terminating endpoints, eTP Local: only terminating endpoints on the node (iptables)",
    origin=_TERMINATING + "TestEndpointSliceWithTerminatingEndpointsTrafficPolicyLocal, "
    '"feature gate ProxyTerminatingEndpoints enabled, only terminating endpoints exist"',
    rules=("iptables_terminating_only.rules",),
    cluster=_terminating_cluster(TERMINATING_ONLY),
    test_node=TEST_HOSTNAME,
    flows=TERMINATING_FLOWS,
    vips=("1.2.3.4",),
    bridges={"node-a": "10.0.0.1", "node-b": "10.0.2.1"},
    forget_affinity=True,
)
FIXTURES = (OVERALL_IPT, OVERALL_NFT, TERMINATING_READY_IPT, TERMINATING_ONLY_IPT)


def on_cni(fixture: Fixture, cni: Cni) -> Cluster:
    """The fixture's cluster on the pod network ``cni``, laid out as the lab runs it: each node's pod CIDR is its
    bridge's subnet (the test node's ``cni0`` holds 10.0.0.1/24, the other node's its own), and endpoints without
    ``nodeName`` run on the second node, as the lab runs them."""
    cluster = fixture.cluster
    bridges = (fixture.bridges["node-a"], fixture.bridges["node-b"])
    nodes = tuple(
        attrs.evolve(node, pod_cidrs=(str(bridge_subnet(bridge)),))
        for node, bridge in zip(cluster.nodes, bridges, strict=True)
    )
    second = nodes[1].name
    services = tuple(
        attrs.evolve(svc, endpoints=tuple(attrs.evolve(e, node_name=e.node_name or second) for e in svc.endpoints))
        for svc in cluster.services
    )
    return attrs.evolve(cluster, nodes=nodes, services=services, proxy=attrs.evolve(cluster.proxy, cni=cni))
