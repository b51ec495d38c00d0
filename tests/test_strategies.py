"""The public Hypothesis strategies (kverify.testing.strategies), and properties of route() on them."""

from __future__ import annotations

import ipaddress

import attrs
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis.errors import InvalidArgument

from kverify.concrete.route import route
from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    Flow,
    IPMode,
    LoadBalancerProfile,
    Protocol,
    Service,
    ServiceType,
    TrafficPolicy,
)
from kverify.testing.strategies import SERVICE, UNKNOWN_NODE, ZONES, clusters, clusters_and_flows, flows

EXTERNAL_DESTINATIONS = (Destination.NODE_PORT, Destination.LOAD_BALANCER, Destination.EXTERNAL_IP)


def _in(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


def _validate_all(cluster: Cluster) -> None:
    """Re-run every attrs validator of the cluster and what it contains."""
    attrs.validate(cluster)
    attrs.validate(cluster.proxy)
    for node in cluster.nodes:
        attrs.validate(node)
    for service in cluster.services:
        attrs.validate(service)
        for value in (*service.ports, *service.load_balancer_ingress, *service.endpoints):
            attrs.validate(value)
        for endpoint in service.endpoints:
            for port in endpoint.ports:
                attrs.validate(port)


def _svc(cluster: Cluster) -> Service:
    (service,) = cluster.services
    return service


# --- clusters() ---------------------------------------------------------------------------------


@settings(max_examples=150)
@given(clusters())
def test_generated_clusters_are_valid_model_values(cluster: Cluster) -> None:
    _validate_all(cluster)
    assert 1 <= len(cluster.nodes) <= 4
    for i, node in enumerate(cluster.nodes):
        assert node.name == f"node-{i}"
        assert node.addresses == (f"192.168.0.{i + 10}",)
        assert node.pod_cidrs == (f"10.244.{i}.0/24",)
        assert node.zone is None or node.zone in ZONES
    assert cluster.proxy.cluster_cidrs in (("10.0.0.0/8",), ())

    service = _svc(cluster)
    assert service.key == SERVICE
    assert len(service.cluster_ips) == 1 and _in(service.cluster_ips[0], "172.30.0.0/16")
    assert 1 <= len(service.ports) <= 2
    assert len({p.port for p in service.ports}) == len(service.ports)
    assert all(p.protocol is Protocol.TCP for p in service.ports)
    node_ports = [p.node_port for p in service.ports if p.node_port is not None]
    if service.type is ServiceType.CLUSTER_IP:
        assert not node_ports
    if service.type is ServiceType.NODE_PORT:
        assert len(node_ports) == len(service.ports)
    assert all(30000 <= n <= 32767 for n in node_ports)
    assert len(set(node_ports)) == len(node_ports)
    assert all(_in(ip, "198.51.100.0/24") for ip in service.external_ips)

    is_lb = service.type is ServiceType.LOAD_BALANCER
    if not is_lb:
        assert not service.load_balancer_ingress and not service.load_balancer_source_ranges
    assert all(_in(i.ip, "192.0.2.0/24") for i in service.load_balancer_ingress if i.ip)
    # As the API server does: a healthCheckNodePort iff LoadBalancer and eTP Local.
    needs_hc = is_lb and service.external_traffic_policy is TrafficPolicy.LOCAL
    assert (service.health_check_node_port is not None) == needs_hc
    if needs_hc:
        assert 30000 <= service.health_check_node_port <= 32767  # type: ignore[operator]
        assert service.health_check_node_port not in node_ports

    names = {n.name for n in cluster.nodes}
    ips = [e.ip for e in service.endpoints]
    assert len(set(ips)) == len(ips)
    assert len(ips) <= 6
    for endpoint in service.endpoints:
        assert _in(endpoint.ip, "10.0.0.0/8")
        assert endpoint.node_name is None or endpoint.node_name in names or endpoint.node_name == UNKNOWN_NODE
        node = cluster.node(endpoint.node_name)
        if node is not None:
            assert _in(endpoint.ip, node.pod_cidrs[0])
        assert endpoint.zone_hints <= set(ZONES)
        assert endpoint.node_hints <= names
        assert {p.name for p in endpoint.ports} <= {p.name for p in service.ports}


@settings(max_examples=60)
@given(
    clusters(
        min_nodes=2,
        max_nodes=3,
        max_endpoints=2,
        dataplanes=[Dataplane.IPVS],
        load_balancers=[LoadBalancerProfile.METALLB_L2],
        service_types=[ServiceType.NODE_PORT],
        zones=False,
        hints=False,
        unknown_node_endpoints=False,
    )
)
def test_clusters_honour_their_arguments(cluster: Cluster) -> None:
    service = _svc(cluster)
    assert 2 <= len(cluster.nodes) <= 3
    assert cluster.proxy.dataplane is Dataplane.IPVS
    assert cluster.load_balancer is LoadBalancerProfile.METALLB_L2
    assert service.type is ServiceType.NODE_PORT
    assert len(service.endpoints) <= 2
    assert all(n.zone is None for n in cluster.nodes)
    assert all(not e.zone_hints and not e.node_hints for e in service.endpoints)
    assert all(e.node_name != UNKNOWN_NODE for e in service.endpoints)


def test_clusters_shrink_to_the_plainest_cluster() -> None:
    cluster = find(clusters(), lambda c: True)
    service = _svc(cluster)
    assert len(cluster.nodes) == 1
    assert cluster.proxy.dataplane is Dataplane.IPTABLES
    assert cluster.load_balancer is LoadBalancerProfile.HEALTH_CHECKED
    assert service.type is ServiceType.CLUSTER_IP
    assert service.external_traffic_policy is TrafficPolicy.CLUSTER
    assert service.internal_traffic_policy is TrafficPolicy.CLUSTER
    assert service.endpoints == ()
    assert len(service.ports) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"min_nodes": 0}, id="no nodes at all"),
        pytest.param({"min_nodes": -1}, id="negative min_nodes"),
        pytest.param({"min_nodes": 3, "max_nodes": 2}, id="min_nodes above max_nodes"),
        pytest.param({"max_nodes": 1000}, id="more nodes than the address plan holds"),
        pytest.param({"max_endpoints": -1}, id="negative max_endpoints"),
        pytest.param({"max_nodes": 2.5}, id="non-integer max_nodes"),
        pytest.param({"max_endpoints": True}, id="bool is not a count"),
        pytest.param({"dataplanes": ["iptables"]}, id="dataplane spelled, not a member"),
        pytest.param({"dataplanes": Dataplane.IPTABLES}, id="a single member, not a collection"),
        pytest.param({"dataplanes": []}, id="no dataplanes"),
        pytest.param({"load_balancers": [Dataplane.IPVS]}, id="member of the wrong enum"),
        pytest.param({"service_types": [ServiceType.NODE_PORT, "ExternalName"]}, id="unknown service type"),
        pytest.param({"zones": "yes"}, id="non-bool zones"),
        pytest.param({"hints": None}, id="non-bool hints"),
        pytest.param({"unknown_node_endpoints": 1}, id="non-bool unknown_node_endpoints"),
    ],
)
def test_clusters_reject_bad_arguments_eagerly(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        clusters(**kwargs)  # type: ignore[arg-type]  # no draw: the call itself must raise
    with pytest.raises(InvalidArgument):
        clusters_and_flows(**kwargs)  # type: ignore[arg-type]


def test_clusters_take_keyword_arguments_only() -> None:
    with pytest.raises(TypeError):
        clusters(1, 2)  # type: ignore[misc]


# --- flows() ------------------------------------------------------------------------------------

PLAIN = find(clusters(service_types=[ServiceType.CLUSTER_IP]), lambda c: True)


@pytest.mark.parametrize(
    ("cluster", "kwargs"),
    [
        pytest.param("cluster", {}, id="not a cluster"),
        pytest.param(attrs.evolve(PLAIN, nodes=()), {}, id="cluster without nodes"),
        pytest.param(attrs.evolve(PLAIN, services=()), {}, id="cluster without services"),
        pytest.param(PLAIN, {"service": "default/other"}, id="unknown service"),
        pytest.param(
            attrs.evolve(PLAIN, services=(attrs.evolve(PLAIN.services[0], cluster_ips=()),)), {}, id="headless service"
        ),
        pytest.param(PLAIN, {"clients": ["pod"]}, id="client spelled, not a member"),
        pytest.param(PLAIN, {"clients": []}, id="no clients"),
        pytest.param(PLAIN, {"destinations": [Destination.LOAD_BALANCER]}, id="destination the service lacks"),
    ],
)
def test_flows_reject_bad_arguments_eagerly(cluster: Cluster, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        flows(cluster, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"service_types": [ServiceType.CLUSTER_IP], "destinations": [Destination.NODE_PORT]}),
        pytest.param({"service_types": [ServiceType.NODE_PORT], "destinations": [Destination.HEALTH_CHECK_NODE_PORT]}),
        pytest.param({"destinations": ["cluster-ip"]}),
        pytest.param({"clients": [ClientKind.POD, Destination.CLUSTER_IP]}),
    ],
)
def test_clusters_and_flows_reject_impossible_combinations_eagerly(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        clusters_and_flows(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=80)
@given(clusters_and_flows(clients=[ClientKind.NODE], destinations=[Destination.HEALTH_CHECK_NODE_PORT]))
def test_flows_honour_clients_and_destinations(pair: tuple[Cluster, Flow]) -> None:
    cluster, flow = pair
    assert flow.client is ClientKind.NODE
    assert flow.destination is Destination.HEALTH_CHECK_NODE_PORT
    assert _svc(cluster).health_check_node_port is not None


# --- route() on generated pairs -----------------------------------------------------------------


def _etp_local_in_effect(service: Service) -> bool:
    accessible = service.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER) or bool(service.external_ips)
    return service.external_traffic_policy is TrafficPolicy.LOCAL and accessible


@settings(max_examples=300)
@given(clusters_and_flows())
def test_route_never_raises_and_outcomes_are_consistent(pair: tuple[Cluster, Flow]) -> None:
    cluster, flow = pair
    service = _svc(cluster)
    assert flow.service == service.key
    outcomes = route(cluster, flow)  # no exception is caught: any error fails the test
    assert outcomes  # even an unannounced LB IP is an outcome (dropped)
    by_ip = {e.ip: e for e in service.endpoints}
    for outcome in outcomes:
        if flow.destination is Destination.HEALTH_CHECK_NODE_PORT:
            # The health check answers itself: no endpoint, but a status.
            assert outcome.endpoint_ip is None
            assert (outcome.health_check is not None) == outcome.delivered
        elif outcome.delivered:
            assert outcome.endpoint_ip is not None
            # Only endpoints kube-proxy (or an IP-target LB) may ever send to.
            assert by_ip[outcome.endpoint_ip].usable
        if outcome.delivered:
            assert outcome.drop_kind is None
        else:
            assert outcome.drop_kind is not None
            assert outcome.endpoint_ip is None


@settings(max_examples=250)
@given(
    clusters_and_flows(
        dataplanes=[Dataplane.IPTABLES, Dataplane.NFTABLES],
        service_types=[ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER],
        clients=[ClientKind.EXTERNAL],
        destinations=EXTERNAL_DESTINATIONS,
    )
)
def test_etp_local_external_traffic_never_crosses_nodes_on_iptables_and_nftables(pair: tuple[Cluster, Flow]) -> None:
    # Not ipvs: with no local endpoint its eTP Local virtual server falls back to every endpoint
    # (rule ipvs-etp-local-fallback). Not Cilium or dnat-only: they are not kube-proxy.
    cluster, flow = pair
    service = _svc(cluster)
    pod_source = cluster.proxy.detects_pod_traffic and any(
        _in(flow.client_ip, c) for c in cluster.proxy.cluster_cidrs if flow.client_ip
    )
    assert not pod_source  # external clients never use pod addresses, so no short-circuit applies
    for outcome in route(cluster, flow):
        if _etp_local_in_effect(service) and outcome.delivered:
            assert not outcome.crosses_nodes
            assert outcome.node is None or outcome.endpoint_node == outcome.node


def test_route_gives_an_outcome_even_when_metallb_announces_from_no_node() -> None:
    cluster, flow = find(
        clusters_and_flows(
            load_balancers=[LoadBalancerProfile.METALLB_L2],
            service_types=[ServiceType.LOAD_BALANCER],
            clients=[ClientKind.EXTERNAL],
            destinations=[Destination.LOAD_BALANCER],
        ),
        lambda pair: pair[1].node is None and not _svc(pair[0]).endpoints,
    )
    (outcome,) = route(cluster, flow)
    assert not outcome.delivered and outcome.drop_kind is not None and outcome.node is None
    assert "lb-metallb-announce" in outcome.rules


# --- the strategies reach the edge cases ---------------------------------------------------------

# Generation only: an example is enough, shrinking it would only cost time.
REACH = settings(max_examples=2000, phases=[Phase.generate], database=None, derandomize=True)


def _reaches(strategy, condition) -> None:  # type: ignore[no-untyped-def]
    find(strategy, condition, settings=REACH)  # raises NoSuchExample when unreachable


@pytest.mark.parametrize(
    "condition",
    [
        pytest.param(lambda s: not s.endpoints, id="no endpoints at all"),
        pytest.param(lambda s: s.endpoints and all(e.terminating for e in s.endpoints), id="all terminating"),
        pytest.param(
            lambda s: any(e.ready and not e.serving and e.terminating for e in s.endpoints),
            id="ready, not serving, terminating",
        ),
        pytest.param(
            lambda s: any(e.serving and e.terminating and not e.ready for e in s.endpoints),
            id="serving-terminating fallback",
        ),
        pytest.param(lambda s: any(e.node_name == UNKNOWN_NODE for e in s.endpoints), id="endpoint on unknown node"),
        pytest.param(lambda s: any(e.node_name is None for e in s.endpoints), id="endpoint without nodeName"),
        pytest.param(
            lambda s: s.endpoints and all(e.zone_hints for e in s.endpoints), id="zone hints on every endpoint"
        ),
        pytest.param(lambda s: any(e.node_hints for e in s.endpoints), id="endpoint with node hints"),
        pytest.param(
            lambda s: len(s.ports) == 2 and any(len(e.ports) == 1 for e in s.endpoints),
            id="endpoint serving one of two ports",
        ),
        pytest.param(
            lambda s: any(i.ip_mode is IPMode.PROXY for i in s.load_balancer_ingress), id="ingress ipMode Proxy"
        ),
        pytest.param(lambda s: any(i.ip is None for i in s.load_balancer_ingress), id="hostname-only ingress"),
        pytest.param(
            lambda s: s.type is ServiceType.LOAD_BALANCER and not any(p.node_port for p in s.ports),
            id="LoadBalancer without nodePorts",
        ),
        pytest.param(lambda s: s.health_check_node_port is not None, id="healthCheckNodePort"),
        pytest.param(lambda s: bool(s.load_balancer_source_ranges), id="source ranges"),
        pytest.param(lambda s: s.type is ServiceType.CLUSTER_IP and s.external_ips, id="ClusterIP with externalIPs"),
    ],
)
def test_clusters_reach_edge_case(condition) -> None:  # type: ignore[no-untyped-def]
    _reaches(clusters(), lambda c: bool(condition(_svc(c))))


def _hairpin(cluster: Cluster, flow: Flow) -> bool:
    return flow.client is ClientKind.POD and any(e.ip == flow.client_ip for e in _svc(cluster).endpoints)


def _outside_source_ranges(cluster: Cluster, flow: Flow) -> bool:
    ranges = _svc(cluster).load_balancer_source_ranges
    return (
        flow.client is ClientKind.EXTERNAL
        and bool(ranges)
        and flow.client_ip is not None
        and not any(_in(flow.client_ip, r) for r in ranges)
    )


def _inside_source_ranges(cluster: Cluster, flow: Flow) -> bool:
    ranges = _svc(cluster).load_balancer_source_ranges
    return (
        flow.client is ClientKind.EXTERNAL
        and bool(ranges)
        and flow.client_ip is not None
        and any(_in(flow.client_ip, r) for r in ranges)
    )


def _other_nodes_node_port(cluster: Cluster, flow: Flow) -> bool:
    owner = cluster.node_owning(flow.dst_ip) if flow.dst_ip else None
    return (
        flow.client is ClientKind.POD
        and flow.destination is Destination.NODE_PORT
        and (owner is not None and owner.name != flow.node)
    )


@pytest.mark.parametrize(
    ("condition", "kwargs"),
    [
        pytest.param(_hairpin, {}, id="hairpin pod client"),
        pytest.param(
            lambda c, f: f.dst_ip == "127.0.0.1",
            {"clients": [ClientKind.NODE], "destinations": [Destination.NODE_PORT]},
            id="localhost NodePort",
        ),
        pytest.param(
            _other_nodes_node_port,
            {"min_nodes": 2, "clients": [ClientKind.POD], "destinations": [Destination.NODE_PORT]},
            id="NodePort on another node's address",
        ),
        pytest.param(_inside_source_ranges, {}, id="external client inside source ranges"),
        pytest.param(_outside_source_ranges, {}, id="external client outside source ranges"),
        pytest.param(lambda c, f: f.client is ClientKind.EXTERNAL and f.node is None, {}, id="LB picks the node"),
        pytest.param(lambda c, f: f.destination is Destination.EXTERNAL_IP, {}, id="externalIP flow"),
        pytest.param(lambda c, f: f.destination is Destination.HEALTH_CHECK_NODE_PORT, {}, id="health check flow"),
    ],
)
def test_flows_reach_edge_case(condition, kwargs) -> None:  # type: ignore[no-untyped-def]
    _reaches(clusters_and_flows(**kwargs), lambda pair: bool(condition(*pair)))
