"""Measurements beyond the fixture flows: the article's DNAT-without-SNAT thought experiment, the
address masquerade picks (underlay, bridge, tunnel), hairpin with the bridge's hairpin mode, and
ClientIP session affinity.

Each returns what the kernel did in words a table can show, plus what a test asserts about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kverify.concrete.route import route
from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    Endpoint,
    Flow,
    LoadBalancerIngress,
    Node,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
)
from kverify.results import Outcome
from tests.kernel.fixture import OVERALL_NFT, Fixture, LabFlow
from tests.kernel.ground_truth import Observation, load_rules, observe, open_lab, summarize
from tests.kernel.harness import CLIENT, NODE_A, NODE_B, UNDERLAY, Attempt, Lab, bridge_port, tunnel_address

POD_IPS = {pod.name: pod.ip for pod in OVERALL_NFT.pods}
BRIDGE_A = OVERALL_NFT.bridges["node-a"]

# The thought experiment's rule is the article's, not kube-proxy's: DNAT a VIP to a pod on another
# node and masquerade nothing. With MASQUERADE it is the fix kube-proxy applies (eTP Cluster).
DNAT_ONLY_RULES = """
table ip thought-experiment {
    chain prerouting {
        type nat hook prerouting priority -100;
        ip daddr 1.2.3.4 tcp dport 80 dnat to 10.180.0.1:80
    }
}
"""
WITH_MASQUERADE = """
table ip thought-experiment-masquerade {
    chain postrouting {
        type nat hook postrouting priority 100;
        ip daddr 10.180.0.1 tcp dport 80 masquerade
    }
}
"""
THOUGHT_FLOW = LabFlow(
    "external to a VIP DNATed to a pod on another node",
    "ns1/svc1",
    ClientKind.EXTERNAL,
    Destination.LOAD_BALANCER,
    "1.2.3.4",
    80,
    CLIENT,
    "client",
)


def thought_experiment_cluster() -> Cluster:
    """kverify's reading of the experiment: the ``dnat-only`` dataplane, one LB Service, one endpoint
    on the other node."""
    service = Service(
        namespace="ns1",
        name="svc1",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("172.30.0.41",),
        ports=(ServicePort(name="p80", port=80, node_port=3001),),
        load_balancer_ingress=(LoadBalancerIngress(ip="1.2.3.4"),),
        endpoints=(Endpoint(ip="10.180.0.1", node_name="node-b"),),
    )
    nodes = (Node(name="test-node", addresses=(NODE_A,)), Node(name="node-b", addresses=(NODE_B,)))
    return Cluster(nodes=nodes, services=(service,), proxy=ProxyConfig(dataplane=Dataplane.DNAT_ONLY))


@dataclass(frozen=True)
class ThoughtExperiment:
    model: Outcome
    without_snat: Observation
    with_snat: Observation


def thought_experiment() -> ThoughtExperiment:
    flow = Flow(
        service="ns1/svc1",
        client=ClientKind.EXTERNAL,
        destination=Destination.LOAD_BALANCER,
        client_ip=CLIENT,
        node="test-node",
        dst_ip="1.2.3.4",
        port=80,
    )
    (model,) = route(thought_experiment_cluster(), flow)
    with open_lab(OVERALL_NFT) as lab:
        lab.load_nft_text(DNAT_ONLY_RULES)
        without_snat = summarize([lab.attempt("client", "1.2.3.4", 80, src=CLIENT)], POD_IPS)
        lab.load_nft_text(WITH_MASQUERADE)
        with_snat = summarize([lab.attempt("client", "1.2.3.4", 80, src=CLIENT)], POD_IPS)
    return ThoughtExperiment(model=model, without_snat=without_snat, with_snat=with_snat)


@dataclass(frozen=True)
class MasqueradeSource:
    path: str  # how the masqueraded packet leaves node-a
    interface_address: str  # the address of that interface in the lab
    flow: str
    endpoint: str
    observed: str  # the source the pod saw


def _by_id(flow_id: str) -> LabFlow:
    return next(f for f in OVERALL_NFT.flows if f.id == flow_id)


NODEPORT_FLOW = "external to NodePort, eTP Cluster"  # to 10.180.0.3, on node-b
EXTERNAL_IP_FLOW = "external to externalIP, local and remote endpoints"  # to 10.180.0.4 and 10.180.0.5


def vxlan_observations() -> dict[str, Observation]:
    """Two fixture flows on a lab whose nodes reach each other's pods through VXLAN, with kube-proxy's
    nftables rules loaded on node-a."""
    with open_lab(OVERALL_NFT, cni="vxlan") as lab:
        load_rules(lab, OVERALL_NFT)
        flows = (NODEPORT_FLOW, EXTERNAL_IP_FLOW)
        return {flow_id: observe(lab, OVERALL_NFT, _by_id(flow_id)) for flow_id in flows}


def masquerade_sources(routed: dict[str, Observation], vxlan: dict[str, Observation]) -> list[MasqueradeSource]:
    """Where a masqueraded connection appears to come from, by the way it leaves the node."""

    def seen(observations: dict[str, Observation], flow_id: str, endpoint: str) -> str:
        return dict(observations[flow_id].seen).get(endpoint, "-")

    return [
        MasqueradeSource(
            "routed: underlay route to the other node (host-gw)",
            UNDERLAY["node-a"],
            NODEPORT_FLOW,
            "10.180.0.3",
            seen(routed, NODEPORT_FLOW, "10.180.0.3"),
        ),
        MasqueradeSource(
            "routed: bridge to a pod on the same node",
            BRIDGE_A,
            EXTERNAL_IP_FLOW,
            "10.180.0.5",
            seen(routed, EXTERNAL_IP_FLOW, "10.180.0.5"),
        ),
        MasqueradeSource(
            "vxlan: tunnel device to the other node (flannel-style)",
            tunnel_address(BRIDGE_A),
            NODEPORT_FLOW,
            "10.180.0.3",
            seen(vxlan, NODEPORT_FLOW, "10.180.0.3"),
        ),
        MasqueradeSource(
            "vxlan: bridge to a pod on the same node",
            BRIDGE_A,
            EXTERNAL_IP_FLOW,
            "10.180.0.5",
            seen(vxlan, EXTERNAL_IP_FLOW, "10.180.0.5"),
        ),
    ]


@dataclass(frozen=True)
class Hairpin:
    hairpin_mode: bool
    bridge_netfilter: bool
    observed: Observation


HAIRPIN_ATTEMPTS = 16  # each picks the pod itself with odds 1/2 (numgen/statistic random)
#: Shorter than TCP's first SYN retransmission (1 s): what is asked is the fate of the first SYN. A SYN
#: retransmitted after a refused hairpin can be balanced anew and reach the other endpoint (seen in CI with
#: the 3 s DROP_WINDOW: all 16 attempts of the hairpin-off, bridge-nf-on case ended at 10.180.0.4), so a
#: longer wait turns the drop being measured into a delivery.
HAIRPIN_WINDOW = 0.9


def hairpin(lab: Lab) -> list[Hairpin]:
    """The endpoint 10.180.0.5 connecting to its own Service's ClusterIP, with its bridge port's
    hairpin mode on and off and bridge-nf-call-iptables on and off (kube-proxy's rules loaded)."""
    flow = _by_id("endpoint pod to its own ClusterIP")
    node, port = lab.ns("node-a"), bridge_port(flow.src)
    results = []
    for mode in (True, False):
        for netfilter in (True, False):
            lab.run(node, "bridge", "link", "set", "dev", port, "hairpin", "on" if mode else "off")
            lab.run(node, "sysctl", "-qw", f"net.bridge.bridge-nf-call-iptables={int(netfilter)}")
            attempts: list[Attempt] = []
            # Until both endpoints answered, or the other one answered and an attempt failed.
            while len(attempts) < HAIRPIN_ATTEMPTS:
                attempts.append(lab.attempt(flow.namespace, flow.dst, flow.port, src=flow.src, timeout=HAIRPIN_WINDOW))
                reached = {a.pod for a in attempts if a.pod}
                failed = any(not a.pod for a in attempts)
                if reached == {"ep-10-180-0-4", "ep-10-180-0-5"} or (reached == {"ep-10-180-0-4"} and failed):
                    break
            results.append(Hairpin(mode, netfilter, summarize(attempts, POD_IPS)))
    lab.run(node, "bridge", "link", "set", "dev", port, "hairpin", "on")
    lab.run(node, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1")
    return results


AFFINITY_ATTEMPTS = 6


def affinity(lab: Lab, fixture: Fixture) -> Observation:
    """Repeated connections from one pod to a ClusterIP with ClientIP affinity, without emptying the
    affinity lists in between (the fixture's own flows empty them, so each is a first connection)."""
    flow = next(f for f in fixture.flows if f.id == "pod to ClusterIP")
    lab.forget_affinity()
    pod_ips = {pod.name: pod.ip for pod in fixture.pods}
    attempts = [lab.attempt(flow.namespace, flow.dst, flow.port, src=flow.src) for _ in range(AFFINITY_ATTEMPTS)]
    return summarize(attempts, pod_ips)
