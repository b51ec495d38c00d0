"""The load balancers of issue 9 (item 3), row by row from their controllers' sources, and PROXY protocol.

Each row's expectation is read off the cited source, not off kverify's output:

- k3s ServiceLB: ``k3s-io/k3s pkg/cloudprovider/servicelb.go`` getStatus (eTP Local lists only nodes with a
  Ready pod endpoint); kube-proxy handles a listed node IP first (its PREROUTING jump is prepended, the CNI
  portmap chain appended), so eTP Local keeps the client IP and eTP Cluster masquerades.
- Cilium L2 (``pkg/l2announcer/l2announcer.go``, v1.14): the leaseholder answers whatever the eTP.
- Cilium BGP (``pkg/bgpv1/manager/reconciler/service.go`` populateLocalServices): eTP Local advertises only from
  nodes with a local non-terminating backend.
- kube-vip (``pkg/endpoints/endpoints.go`` AddOrModify): no endpoints, no leader election, nobody answers.
- AWS NLB (aws-load-balancer-controller ``pkg/service/model_build_target_group.go``): TCP traffic-port probes
  under eTP Cluster; ``preserve_client_ip`` defaults per target type.
- AWS Classic ELB (``kubernetes/cloud-provider-aws`` ``pkg/providers/v1/aws.go`` EnsureLoadBalancer, the path
  when ``isNLB`` is false): a TCP proxy (the instance sees the ELB's address: AWS "Configure proxy protocol for
  your Classic Load Balancer"), the healthCheckNodePort probed under eTP Local, and traffic "only to the
  healthy instances" (AWS "Health checks for ... your Classic Load Balancer"): no fail-open.
- PROXY protocol: the header comes only through the load balancer; kube-proxy short-circuits in-cluster
  clients to a VIP-mode LB IP (kubernetes/ingress-nginx#3996); ipMode Proxy (KEP-1860, on by default from
  v1.30) sends them out to it.
"""

from __future__ import annotations

import attrs
import pytest

from kverify.check.exhaustive import unsupported
from kverify.concrete import route
from kverify.errors import InputError
from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    DropKind,
    Endpoint,
    Flow,
    IPMode,
    LoadBalancerIngress,
    LoadBalancerProfile,
    Node,
    Protocol,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.report.markdown import sequence_diagram
from kverify.report.trace_text import outcome_line

P = LoadBalancerProfile
NODES = (
    Node(name="node-a", addresses=("192.168.0.10",)),
    Node(name="node-b", addresses=("192.168.0.11",)),
)
LB_IP = "192.0.2.10"
CLIENT = "203.0.113.10"


def _cluster(
    profile: LoadBalancerProfile,
    *,
    dataplane: Dataplane = Dataplane.IPTABLES,
    etp: TrafficPolicy = TrafficPolicy.CLUSTER,
    endpoints: tuple[Endpoint, ...] = (Endpoint(ip="10.244.0.5", node_name="node-a", pod="default/web-0"),),
    protocol: Protocol = Protocol.TCP,
    minor: int | None = None,
    **service: object,
) -> Cluster:
    svc = Service(
        namespace="default",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("172.30.0.10",),
        ports=(ServicePort(name="http", port=80, node_port=30080, protocol=protocol),),
        external_traffic_policy=etp,
        health_check_node_port=32000 if etp is TrafficPolicy.LOCAL else None,
        load_balancer_ingress=(LoadBalancerIngress(ip=LB_IP),),
        endpoints=endpoints,
    )
    proxy = ProxyConfig(dataplane=dataplane)
    if minor is not None:
        proxy = ProxyConfig(dataplane=dataplane, kubernetes_version=minor)
    return Cluster(nodes=NODES, services=(attrs.evolve(svc, **service),), proxy=proxy, load_balancer=profile)


def _external(protocol: Protocol = Protocol.TCP) -> Flow:
    return Flow(
        service="default/web",
        client=ClientKind.EXTERNAL,
        destination=Destination.LOAD_BALANCER,
        protocol=protocol,
        client_ip=CLIENT,
    )


def _pod(node: str = "node-b") -> Flow:
    return Flow(service="default/web", client=ClientKind.POD, destination=Destination.LOAD_BALANCER, node=node)


B_ONLY_TERMINATING = Endpoint(
    ip="10.244.1.6", node_name="node-b", ready=False, serving=True, terminating=True, pod="default/web-1"
)
A_NOT_SERVING = Endpoint(ip="10.244.0.7", node_name="node-a", ready=False, serving=False, pod="default/web-2")

# (id, profile, dataplane, eTP, endpoints, the nodes the load balancer sends to: source-derived)
ARRIVALS = [
    pytest.param(
        P.K3S_SERVICELB,
        Dataplane.IPTABLES,
        TrafficPolicy.LOCAL,
        None,
        {"node-a"},
        id="k3s ServiceLB, eTP Local: only the node with a Ready pod endpoint is listed (getStatus readyNodes)",
    ),
    pytest.param(
        P.K3S_SERVICELB,
        Dataplane.IPTABLES,
        TrafficPolicy.CLUSTER,
        None,
        {"node-a", "node-b"},
        id="k3s ServiceLB, eTP Cluster: every node running an svclb pod is listed",
    ),
    pytest.param(
        P.K3S_SERVICELB,
        Dataplane.IPTABLES,
        TrafficPolicy.LOCAL,
        (Endpoint(ip="10.244.0.5", node_name="node-a"), B_ONLY_TERMINATING),
        {"node-a"},
        id="k3s ServiceLB, eTP Local: a node whose pod endpoint is not Ready is not listed",
    ),
    pytest.param(
        P.CILIUM_L2,
        Dataplane.CILIUM_SNAT,
        TrafficPolicy.LOCAL,
        None,
        {"node-a", "node-b"},
        id="Cilium L2: any node may hold the lease, eTP Local or not (l2announcer.go v1.14, cilium#27800)",
    ),
    pytest.param(
        P.CILIUM_BGP,
        Dataplane.CILIUM_SNAT,
        TrafficPolicy.LOCAL,
        (Endpoint(ip="10.244.0.5", node_name="node-a"), B_ONLY_TERMINATING),
        {"node-a"},
        id="Cilium BGP, eTP Local: a node with only a terminating backend does not advertise",
    ),
    pytest.param(
        P.CILIUM_BGP,
        Dataplane.IPTABLES,
        TrafficPolicy.CLUSTER,
        None,
        {"node-a", "node-b"},
        id="Cilium BGP, eTP Cluster: every selected node advertises",
    ),
    pytest.param(
        P.KUBE_VIP,
        Dataplane.IPTABLES,
        TrafficPolicy.LOCAL,
        (Endpoint(ip="10.244.0.5", node_name="node-a"), B_ONLY_TERMINATING),
        {"node-a", "node-b"},
        id="kube-vip, eTP Local: a local serving endpoint (terminating too) joins the election",
    ),
    pytest.param(
        P.KUBE_VIP,
        Dataplane.IPTABLES,
        TrafficPolicy.LOCAL,
        (A_NOT_SERVING,),
        set(),
        id="kube-vip, eTP Local: a not-serving endpoint does not count (GetLocalEndpoints checks Serving)",
    ),
    pytest.param(
        P.KUBE_VIP,
        Dataplane.IPTABLES,
        TrafficPolicy.CLUSTER,
        (A_NOT_SERVING,),
        {"node-a", "node-b"},
        id="kube-vip, eTP Cluster: any endpoint in the slices starts the election (GetAllEndpoints)",
    ),
    pytest.param(
        P.AWS_NLB_INSTANCE,
        Dataplane.IPTABLES,
        TrafficPolicy.LOCAL,
        None,
        {"node-a"},
        id="AWS NLB instance targets, eTP Local: the healthCheckNodePort probe passes only on node-a",
    ),
    pytest.param(
        P.AWS_CLASSIC_ELB,
        Dataplane.IPTABLES,
        TrafficPolicy.LOCAL,
        None,
        {"node-a"},
        id="AWS Classic ELB, eTP Local: the healthCheckNodePort probe (HTTP) passes only on node-a",
    ),
    pytest.param(
        P.AWS_CLASSIC_ELB,
        Dataplane.IPTABLES,
        TrafficPolicy.CLUSTER,
        (A_NOT_SERVING,),
        {"node-a", "node-b"},
        id="AWS Classic ELB, eTP Cluster: the TCP probe of the first NodePort passes on every node",
    ),
]


@pytest.mark.parametrize(("profile", "dataplane", "etp", "endpoints", "nodes"), ARRIVALS)
def test_which_nodes_the_load_balancer_sends_to(profile, dataplane, etp, endpoints, nodes) -> None:  # type: ignore[no-untyped-def]
    kwargs = {} if endpoints is None else {"endpoints": endpoints}
    cluster = _cluster(profile, dataplane=dataplane, etp=etp, **kwargs)
    outcomes = route(cluster, _external())
    arrived = {o.node for o in outcomes if o.node is not None}
    assert arrived == nodes
    if not nodes:
        assert [o.drop_kind for o in outcomes] == [DropKind.DROP]
        assert outcomes[0].rules == ("lb-kube-vip-arp-leader",)


def test_k3s_servicelb_etp_local_keeps_the_client_ip_on_the_listed_node() -> None:
    """kube-proxy's eTP Local LB-IP rule (not the svclb pod's MASQUERADE) handles a listed node IP."""
    (outcome,) = route(_cluster(P.K3S_SERVICELB, etp=TrafficPolicy.LOCAL), _external())
    assert outcome.delivered and outcome.node == "node-a" and outcome.source_ip_seen == CLIENT


def test_k3s_servicelb_etp_cluster_masquerades() -> None:
    outcomes = route(_cluster(P.K3S_SERVICELB), _external())
    assert {o.source_ip_seen for o in outcomes} == {"192.168.0.10", "192.168.0.11"}


@pytest.mark.parametrize(
    ("profile", "dataplane"),
    [
        pytest.param(P.K3S_SERVICELB, Dataplane.NFTABLES, id="k3s ServiceLB on nftables: hook order undetermined"),
        pytest.param(P.K3S_SERVICELB, Dataplane.IPVS, id="k3s ServiceLB on ipvs: the svclb pod sees it first"),
        pytest.param(P.CILIUM_L2, Dataplane.IPTABLES, id="Cilium L2 needs Cilium's kube-proxy replacement"),
    ],
)
def test_unmodelled_profile_and_dataplane_is_unknown_never_a_guess(profile, dataplane) -> None:  # type: ignore[no-untyped-def]
    cluster = _cluster(profile, dataplane=dataplane)
    assert unsupported(cluster, _external()) is not None  # check: Unknown
    with pytest.raises(InputError, match="not modelled"):
        route(cluster, _external())
    # Flows that do not go through the load balancer are still decided.
    assert route(cluster, attrs.evolve(_pod(), destination=Destination.CLUSTER_IP))


def test_nlb_instance_probe_of_the_traffic_port_keeps_sending_to_a_draining_node() -> None:
    """AWS LBC: eTP Cluster instance targets are probed on the traffic port over TCP, not kube-proxy's /healthz,
    so KEP-3836's draining signal does not reach the NLB (a health-checked LB that probes /healthz skips it)."""
    draining = (NODES[0], attrs.evolve(NODES[1], draining=True))
    nlb = attrs.evolve(_cluster(P.AWS_NLB_INSTANCE), nodes=draining)
    gce = attrs.evolve(nlb, load_balancer=P.HEALTH_CHECKED)
    assert {o.node for o in route(nlb, _external())} == {"node-a", "node-b"}
    assert {o.node for o in route(gce, _external())} == {"node-a"}


SOURCES = [
    pytest.param(P.AWS_NLB_INSTANCE, TrafficPolicy.LOCAL, Protocol.TCP, None, CLIENT, id="instance: preserved"),
    pytest.param(
        P.AWS_NLB_INSTANCE,
        TrafficPolicy.LOCAL,
        Protocol.TCP,
        False,
        "load-balancer",
        id="instance with preserve_client_ip.enabled=false: the NLB's address",
    ),
    pytest.param(
        P.AWS_NLB_INSTANCE,
        TrafficPolicy.CLUSTER,
        Protocol.TCP,
        False,
        "192.168.0.10",
        id="instance, eTP Cluster: kube-proxy's masquerade shows the node IP whatever the NLB did",
    ),
    pytest.param(P.AWS_NLB_IP, TrafficPolicy.CLUSTER, Protocol.TCP, None, "load-balancer", id="ip, TCP: off"),
    pytest.param(
        P.AWS_CLASSIC_ELB, TrafficPolicy.LOCAL, Protocol.TCP, None, "load-balancer", id="Classic ELB: a TCP proxy"
    ),
    pytest.param(
        P.AWS_CLASSIC_ELB,
        TrafficPolicy.LOCAL,
        Protocol.TCP,
        True,
        "load-balancer",
        id="Classic ELB: an NLB target-group attribute changes nothing",
    ),
    pytest.param(
        P.AWS_CLASSIC_ELB,
        TrafficPolicy.CLUSTER,
        Protocol.TCP,
        None,
        "192.168.0.10",
        id="Classic ELB, eTP Cluster: kube-proxy's masquerade shows the node IP",
    ),
    pytest.param(P.AWS_NLB_IP, TrafficPolicy.CLUSTER, Protocol.UDP, None, CLIENT, id="ip, UDP: on by default"),
    pytest.param(P.AWS_NLB_IP, TrafficPolicy.CLUSTER, Protocol.TCP, True, CLIENT, id="ip, attribute turns it on"),
]


@pytest.mark.parametrize(("profile", "etp", "protocol", "preserve", "seen"), SOURCES)
def test_client_ip_preservation_is_a_target_group_setting(profile, etp, protocol, preserve, seen) -> None:  # type: ignore[no-untyped-def]
    cluster = _cluster(profile, etp=etp, protocol=protocol, lb_preserve_client_ip=preserve)
    outcomes = [o for o in route(cluster, _external(protocol)) if o.node in (None, "node-a")]
    assert [o.source_ip_seen for o in outcomes] == [seen]


PROXY = [
    pytest.param(P.AWS_NLB_INSTANCE, _external(), 34, True, id="external client through the NLB: header"),
    pytest.param(P.AWS_NLB_IP, _external(), 34, True, id="external client through an IP-target NLB: header"),
    pytest.param(P.AWS_NLB_INSTANCE, _pod(), 34, False, id="pod to the VIP-mode LB IP: short-circuited, no header"),
    pytest.param(P.METALLB_L2, _external(), 34, False, id="MetalLB only announces: no proxy, no header"),
    pytest.param(P.AWS_CLASSIC_ELB, _external(), 34, True, id="Classic ELB with proxy-protocol '*': header (v1)"),
]


@pytest.mark.parametrize(("profile", "flow", "minor", "header"), PROXY)
def test_the_pod_receives_a_proxy_header_only_through_the_load_balancer(profile, flow, minor, header) -> None:  # type: ignore[no-untyped-def]
    cluster = _cluster(profile, proxy_protocol=True)
    delivered = [o for o in route(cluster, flow) if o.delivered]
    assert delivered
    assert {o.proxy_header for o in delivered} == {header}
    assert all(o.proxy_expected for o in delivered)


def test_broken_header_is_spelled_out_in_the_trace() -> None:
    cluster = _cluster(P.AWS_NLB_INSTANCE, proxy_protocol=True)
    (outcome,) = route(cluster, _pod("node-a"))
    line = outcome_line(outcome)
    assert "NO PROXY header" in line and "broken header" in line
    assert "lb-proxy-protocol" in outcome.rules


@pytest.mark.parametrize(
    ("minor", "delivered"),
    [
        pytest.param(34, False, id="v1.34: ipMode Proxy honoured, the pod's packet leaves for the LB"),
        pytest.param(29, True, id="v1.29: LoadBalancerIPMode alpha and off, kube-proxy short-circuits anyway"),
    ],
)
def test_ip_mode_proxy_is_the_fix_from_the_version_that_honours_it(minor, delivered) -> None:  # type: ignore[no-untyped-def]
    ingress = (LoadBalancerIngress(ip=LB_IP, ip_mode=IPMode.PROXY),)
    cluster = _cluster(P.AWS_NLB_INSTANCE, proxy_protocol=True, load_balancer_ingress=ingress, minor=minor)
    (outcome,) = route(cluster, _pod("node-a"))
    assert outcome.delivered is delivered
    assert outcome.proxy_header is False
    if not delivered:
        assert outcome.drop_kind is DropKind.NOT_INTERCEPTED


def test_the_cluster_wide_proxy_protocol_setting_overrides_the_annotations() -> None:
    cluster = attrs.evolve(_cluster(P.AWS_NLB_INSTANCE), proxy_protocol=True)
    assert {o.proxy_header for o in route(cluster, _external()) if o.delivered} == {True}
    cluster = attrs.evolve(_cluster(P.AWS_NLB_INSTANCE, proxy_protocol=True), proxy_protocol=False)
    assert {o.proxy_header for o in route(cluster, _external()) if o.delivered} == {False}


def test_a_classic_elb_with_no_healthy_instance_does_not_fail_open_as_an_nlb_does() -> None:
    """eTP Local, only a terminating endpoint left: every healthCheckNodePort probe fails. The NLB fails open
    (target-group-health-checks.html) and sends to both nodes; the Classic ELB routes "only to the healthy
    instances" (elb-healthchecks.html): no node receives the connection."""
    endpoints = (B_ONLY_TERMINATING,)
    nlb = route(_cluster(P.AWS_NLB_INSTANCE, etp=TrafficPolicy.LOCAL, endpoints=endpoints), _external())
    elb = route(_cluster(P.AWS_CLASSIC_ELB, etp=TrafficPolicy.LOCAL, endpoints=endpoints), _external())
    assert {o.node for o in nlb} == {"node-a", "node-b"}
    (lost,) = elb
    assert not lost.delivered and lost.node is None and lost.rules == ("lb-aws-classic-elb-probe",)


def test_the_classic_elb_rewrites_the_source_before_the_node_in_the_hops() -> None:
    (outcome,) = route(_cluster(P.AWS_CLASSIC_ELB, etp=TrafficPolicy.LOCAL), _external())
    lb_hop = next(h for h in outcome.hops if h.at == "load-balancer")
    assert lb_hop.to == "node-a" and lb_hop.src == "load-balancer" and "proxies the connection" in lb_hop.note
    outcomes = route(_cluster(P.AWS_CLASSIC_ELB), _external())
    at_a = next(o for o in outcomes if o.node == "node-a" and o.endpoint_node == "node-a")
    assert any("SNAT load-balancer -> 192.168.0.10" in (h.note or "") for h in at_a.hops)
    # The ELB owns the connection to the node: the reply goes back to it, and it answers the client.
    assert [(h.at, h.to) for h in outcome.hops[-2:]] == [
        ("default/web-0", "load-balancer"),
        ("load-balancer", "client"),
    ]
    assert outcome.hops[-1].dst == CLIENT
    diagram = sequence_diagram(outcome)  # both reply legs dashed, the request's solid
    assert diagram.count("-->>") == 2 and diagram.count("->>") - diagram.count("-->>") == 4
