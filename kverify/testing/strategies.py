"""Hypothesis strategies for kverify's model: small clusters with one Service, and flows to it.

Use them in property tests of your own rules or tooling::

    from hypothesis import given
    from kverify.concrete.route import route
    from kverify.testing.strategies import clusters_and_flows

    @given(clusters_and_flows(dataplanes=[Dataplane.NFTABLES]))
    def test_something(pair):
        cluster, flow = pair
        outcomes = route(cluster, flow)
        ...

Every strategy takes keyword-only arguments and checks them when it is called (not when it is first
drawn from), raising :class:`hypothesis.errors.InvalidArgument`. Generated values shrink towards
small, plain clusters: one node, no endpoints, a ``ClusterIP`` Service with Cluster policies, the
iptables dataplane and the ``health-checked`` load balancer.

Address plan (fixed so that examples read well and never collide):

========================  =====================================================
``192.168.0.{i+10}``      address of ``node-{i}``
``10.244.{i}.0/24``       pod CIDR of ``node-{i}``; its endpoints' IPs
``10.244.255.0/24``       IPs of endpoints without a (known) node
``10.250.0.0/16``         pod clients that are not endpoints
``172.30.0.0/16``         the Service's cluster IP
``198.51.100.0/24``       the Service's externalIPs
``192.0.2.0/24``          the Service's load balancer ingress IPs
``203.0.113.0/24``        external clients (``loadBalancerSourceRanges`` may admit
                          ``203.0.113.0/25``)
========================  =====================================================
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from typing import TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    Endpoint,
    EndpointPort,
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

__all__ = [
    "SERVICE",
    "UNKNOWN_NODE",
    "ZONES",
    "clusters",
    "clusters_and_flows",
    "destinations_of",
    "flows",
]

#: The key of the one Service every generated cluster has.
SERVICE = "default/svc"
#: The ``nodeName`` of endpoints on a node the cluster does not list.
UNKNOWN_NODE = "node-gone"
#: The zones nodes (and zone hints) are drawn from.
ZONES = ("zone-a", "zone-b", "zone-c")

#: Upper bounds of ``max_nodes`` and ``max_endpoints``: the address plan has room for this many.
MAX_NODES = 100
MAX_ENDPOINTS = 200

_NODE_PORTS = st.integers(30000, 32767)
_LOCALHOST = "127.0.0.1"
_CLUSTER_CIDR = "10.0.0.0/8"
_EXTERNAL_CLIENTS = ipaddress.ip_network("203.0.113.0/24")
_POD_CLIENTS = ipaddress.ip_network("10.250.0.0/16")
_NODELESS_POD_CIDR = "10.244.255"

# (ready, serving, terminating), plainest first: every combination kube-proxy may be handed.
_CONDITIONS: tuple[tuple[bool, bool, bool], ...] = (
    (True, True, False),  # ready
    (False, True, True),  # serving while terminating: a fallback target
    (False, False, True),  # terminating, not serving
    (False, False, False),  # not ready
    (True, True, True),  # ready yet terminating (as defaulted for old clients)
    (False, True, False),  # serving but neither ready nor terminating
    (True, False, False),  # ready but not serving (inconsistent, but decodable)
    (True, False, True),  # ready, not serving, terminating
)

# loadBalancerSourceRanges, plainest (none) first. 192.168.0.0/16 contains the nodes' addresses,
# which lets packets sourced from the Service's own LB IPs through (rule lb-source-ranges-match).
_SOURCE_RANGES: tuple[tuple[str, ...], ...] = (
    (),
    ("203.0.113.0/25",),
    ("203.0.113.0/25", "198.18.0.0/15"),
    ("10.0.0.0/8",),
    ("192.168.0.0/16",),
)

_HINT_MODES = ("none", "zones", "nodes", "mixed")

# Strategies drawn from on every example, built once.
_BOOLEANS = st.booleans()
_POLICIES = st.sampled_from((TrafficPolicy.CLUSTER, TrafficPolicy.LOCAL))
_CLUSTER_CIDRS = st.sampled_from(((_CLUSTER_CIDR,), ()))
_ZONE_OR_NONE = st.sampled_from((None, *ZONES))
_ONE_IN_6 = st.integers(0, 5).map(lambda k: k == 5)  # True rarely; shrinks to False
_ONE_IN_8 = st.integers(0, 7).map(lambda k: k == 7)
_PORT_COUNTS = st.integers(1, 2)
_CLUSTER_IP_HOSTS = st.integers(1, 65534)
_DOC_HOSTS = st.lists(st.integers(1, 254), max_size=2, unique=True)
_INGRESS_ENTRIES = st.lists(
    st.tuples(st.integers(1, 254), st.sampled_from((IPMode.VIP, IPMode.PROXY))),
    max_size=2,
    unique_by=lambda entry: entry[0],
)
_SOURCE_RANGE_SETS = st.sampled_from(_SOURCE_RANGES)
_HINT_MODE = st.sampled_from(_HINT_MODES)
_CONDITION = st.sampled_from(_CONDITIONS)
_ZONE_HINTS = st.frozensets(st.sampled_from(ZONES), min_size=1, max_size=2)
# 0..7: a known node (node-0 first); 8: no nodeName; 9: a node the cluster does not list.
_PLACES = st.integers(0, 9)
_KNOWN_PLACES = st.integers(0, 8)

E = TypeVar("E", bound=enum.Enum)


# --- argument checks -------------------------------------------------------------------------


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True or False")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if not low <= value <= high:
        raise InvalidArgument(f"{name}={value!r} must be between {low} and {high}")


def _check_members(name: str, values: Iterable[E] | None, kind: type[E]) -> tuple[E, ...]:
    """The members named (all of ``kind`` when None), in declaration order, without duplicates."""
    if values is None:
        return tuple(kind)
    if isinstance(values, (str, bytes, enum.Enum)) or not isinstance(values, Iterable):
        raise InvalidArgument(f"{name}={values!r} must be a collection of {kind.__name__} members")
    chosen = list(values)
    for value in chosen:
        if not isinstance(value, kind):
            raise InvalidArgument(
                f"{name}: {value!r} is not a {kind.__name__} (expected one of {', '.join(m.name for m in kind)})"
            )
    if not chosen:
        raise InvalidArgument(f"{name} must not be empty")
    return tuple(m for m in kind if m in chosen)


# --- clusters --------------------------------------------------------------------------------


def clusters(
    *,
    min_nodes: int = 1,
    max_nodes: int = 4,
    max_endpoints: int = 6,
    dataplanes: Iterable[Dataplane] | None = None,
    load_balancers: Iterable[LoadBalancerProfile] | None = None,
    service_types: Iterable[ServiceType] | None = None,
    zones: bool = True,
    hints: bool = True,
    unknown_node_endpoints: bool = True,
) -> st.SearchStrategy[Cluster]:
    """Clusters of ``min_nodes..max_nodes`` nodes with exactly one Service, ``default/svc``.

    The Service has a type among ``service_types`` (default: all), one or two TCP ports (with
    nodePorts in 30000-32767 for NodePort and, usually, LoadBalancer Services), a cluster IP,
    either traffic policy, maybe externalIPs and, for LoadBalancer Services, ingress IPs (ipMode VIP
    or Proxy, sometimes a hostname-only entry), maybe loadBalancerSourceRanges, and a
    healthCheckNodePort exactly when it is a LoadBalancer with ``externalTrafficPolicy: Local``.

    It has up to ``max_endpoints`` endpoints with every combination of ready/serving/terminating,
    on a known node, on no node, or (if ``unknown_node_endpoints``) on :data:`UNKNOWN_NODE`; some
    serve only one of two ports. With ``hints``, endpoints may carry zone and node hints (often on
    every endpoint, so that topology routing applies). With ``zones``, nodes get zones from
    :data:`ZONES` (or none).

    The proxy runs one of ``dataplanes`` (default: all), with or without a cluster CIDR (and so a
    LocalTrafficDetector) and ``--masquerade-all``; the load balancer in front is one of
    ``load_balancers`` (default: all).
    """
    _check_int("min_nodes", min_nodes, 1, MAX_NODES)
    _check_int("max_nodes", max_nodes, 1, MAX_NODES)
    if min_nodes > max_nodes:
        raise InvalidArgument(f"min_nodes={min_nodes} must be at most max_nodes={max_nodes}")
    _check_int("max_endpoints", max_endpoints, 0, MAX_ENDPOINTS)
    planes = _check_members("dataplanes", dataplanes, Dataplane)
    profiles = _check_members("load_balancers", load_balancers, LoadBalancerProfile)
    types = _check_members("service_types", service_types, ServiceType)
    _check_bool("zones", zones)
    _check_bool("hints", hints)
    _check_bool("unknown_node_endpoints", unknown_node_endpoints)
    return _clusters(
        node_counts=st.integers(min_nodes, max_nodes),
        max_endpoints=max_endpoints,
        planes=st.sampled_from(planes),
        profiles=st.sampled_from(profiles),
        types=st.sampled_from(types),
        zones=zones,
        hints=hints,
        unknown_node_endpoints=unknown_node_endpoints,
    )


@st.composite
def _clusters(
    draw: st.DrawFn,
    *,
    node_counts: st.SearchStrategy[int],
    max_endpoints: int,
    planes: st.SearchStrategy[Dataplane],
    profiles: st.SearchStrategy[LoadBalancerProfile],
    types: st.SearchStrategy[ServiceType],
    zones: bool,
    hints: bool,
    unknown_node_endpoints: bool,
) -> Cluster:
    proxy = ProxyConfig(
        dataplane=draw(planes),
        cluster_cidrs=draw(_CLUSTER_CIDRS),
        masquerade_all=draw(_BOOLEANS),
    )
    load_balancer = draw(profiles)
    count = draw(node_counts)
    zone_choice = _ZONE_OR_NONE if zones else st.none()
    nodes = tuple(
        Node(
            name=f"node-{i}",
            addresses=(f"192.168.0.{i + 10}",),
            zone=draw(zone_choice),
            pod_cidrs=(f"10.244.{i}.0/24",),
            draining=draw(_ONE_IN_8),  # rarely: most nodes are healthy
        )
        for i in range(count)
    )
    service = _draw_service(
        draw,
        nodes=nodes,
        max_endpoints=max_endpoints,
        types=types,
        hints=hints,
        unknown_node_endpoints=unknown_node_endpoints,
    )
    return Cluster(nodes=nodes, services=(service,), proxy=proxy, load_balancer=load_balancer)


def _draw_service(
    draw: st.DrawFn,
    *,
    nodes: tuple[Node, ...],
    max_endpoints: int,
    types: st.SearchStrategy[ServiceType],
    hints: bool,
    unknown_node_endpoints: bool,
) -> Service:
    service_type = draw(types)
    etp = draw(_POLICIES)
    itp = draw(_POLICIES)

    n_ports = draw(_PORT_COUNTS)
    names = ("",) if n_ports == 1 else ("http", "https")
    numbers = (80, 443)[:n_ports]
    targets = (8080, 8443)[:n_ports]
    # A LoadBalancer may opt out of nodePorts (allocateLoadBalancerNodePorts: false); rarely.
    with_node_ports = service_type is ServiceType.NODE_PORT or (
        service_type is ServiceType.LOAD_BALANCER and not draw(_ONE_IN_6)
    )
    node_ports: list[int | None] = [None] * n_ports
    if with_node_ports:
        node_ports = list(draw(st.lists(_NODE_PORTS, min_size=n_ports, max_size=n_ports, unique=True)))
    ports = tuple(
        ServicePort(name=names[i], port=numbers[i], node_port=node_ports[i], target_port=targets[i])
        for i in range(n_ports)
    )

    health_check_node_port = None
    if service_type is ServiceType.LOAD_BALANCER and etp is TrafficPolicy.LOCAL:
        taken = set(node_ports)
        health_check_node_port = draw(_NODE_PORTS.filter(lambda p: p not in taken))

    cluster_ip = draw(_CLUSTER_IP_HOSTS)
    external_ips = draw(_DOC_HOSTS)

    ingress: list[LoadBalancerIngress] = []
    source_ranges: tuple[str, ...] = ()
    if service_type is ServiceType.LOAD_BALANCER:
        entries = draw(_INGRESS_ENTRIES)
        ingress = [LoadBalancerIngress(ip=f"192.0.2.{host}", ip_mode=mode) for host, mode in entries]
        if draw(_ONE_IN_6):  # rarely: a hostname-only entry (e.g. an AWS ELB)
            ingress.append(LoadBalancerIngress(hostname="svc.lb.example.com"))
        source_ranges = draw(_SOURCE_RANGE_SETS)

    endpoints = _draw_endpoints(
        draw,
        nodes=nodes,
        max_endpoints=max_endpoints,
        port_names=names,
        targets=targets,
        hints=hints,
        unknown_node_endpoints=unknown_node_endpoints,
    )
    distribution = None
    if any(e.node_hints for e in endpoints):
        distribution = "PreferSameNode"
    elif any(e.zone_hints for e in endpoints):
        distribution = "PreferClose"
    namespace, name = SERVICE.split("/")
    return Service(
        namespace=namespace,
        name=name,
        type=service_type,
        cluster_ips=(f"172.30.{cluster_ip >> 8}.{cluster_ip & 255}",),
        ports=ports,
        external_traffic_policy=etp,
        internal_traffic_policy=itp,
        external_ips=tuple(f"198.51.100.{host}" for host in external_ips),
        load_balancer_ingress=tuple(ingress),
        load_balancer_source_ranges=source_ranges,
        health_check_node_port=health_check_node_port,
        traffic_distribution=distribution,
        endpoints=endpoints,
    )


def _draw_endpoints(
    draw: st.DrawFn,
    *,
    nodes: tuple[Node, ...],
    max_endpoints: int,
    port_names: tuple[str, ...],
    targets: tuple[int, ...],
    hints: bool,
    unknown_node_endpoints: bool,
) -> tuple[Endpoint, ...]:
    names = [n.name for n in nodes]
    places = _PLACES if unknown_node_endpoints else _KNOWN_PLACES
    all_ports = tuple(EndpointPort(name=n, port=t) for n, t in zip(port_names, targets, strict=True))
    # () means "every port of the Service"; with two ports an endpoint may serve only one.
    port_sets = [(), all_ports]
    if len(all_ports) == 2:
        port_sets += [all_ports[:1], all_ports[1:]]
    mode = draw(_HINT_MODE) if hints else "none"
    node_hint_sets = st.frozensets(st.sampled_from(names), min_size=1, max_size=2)

    specs = draw(st.lists(st.tuples(places, _CONDITION, st.sampled_from(port_sets)), max_size=max_endpoints))
    endpoints = []
    for j, (place, (ready, serving, terminating), ports) in enumerate(specs):
        if place < 8:
            node_name: str | None = names[place % len(names)]
            ip = f"10.244.{place % len(names)}.{j + 2}"
        else:
            node_name = None if place == 8 else UNKNOWN_NODE
            ip = f"{_NODELESS_POD_CIDR}.{j + 2}"
        zone_hints: frozenset[str] = frozenset()
        node_hints: frozenset[str] = frozenset()
        if mode in ("zones", "nodes") or (mode == "mixed" and draw(_BOOLEANS)):
            zone_hints = draw(_ZONE_HINTS)
        if mode == "nodes" or (mode == "mixed" and draw(_BOOLEANS)):
            node_hints = draw(node_hint_sets)
        endpoints.append(
            Endpoint(
                ip=ip,
                node_name=node_name,
                ready=ready,
                serving=serving,
                terminating=terminating,
                zone_hints=zone_hints,
                node_hints=node_hints,
                pod=f"default/svc-pod-{j}",
                ports=ports,
            )
        )
    return tuple(endpoints)


# --- flows -----------------------------------------------------------------------------------


def destinations_of(service: Service) -> tuple[Destination, ...]:
    """The destinations a flow to ``service`` may address, in :class:`Destination` order."""
    found = []
    if service.cluster_ips:
        found.append(Destination.CLUSTER_IP)
    if any(p.node_port for p in service.ports):
        found.append(Destination.NODE_PORT)
    if any(i.ip for i in service.load_balancer_ingress):
        found.append(Destination.LOAD_BALANCER)
    if service.external_ips:
        found.append(Destination.EXTERNAL_IP)
    if service.health_check_node_port is not None:
        found.append(Destination.HEALTH_CHECK_NODE_PORT)
    return tuple(found)


def _pick_service(cluster: Cluster, service: str | None) -> Service:
    if service is None:
        found = cluster.service(SERVICE)
        if found is None and len(cluster.services) == 1:
            found = cluster.services[0]
        if found is None:
            raise InvalidArgument(
                f"the cluster has no Service {SERVICE!r} and not exactly one Service: pass service='namespace/name'"
            )
    else:
        if not isinstance(service, str):
            raise InvalidArgument(f"service={service!r} must be a 'namespace/name' string")
        found = cluster.service(service)
        if found is None:
            known = ", ".join(s.key for s in cluster.services) or "none"
            raise InvalidArgument(f"service={service!r} is not in the cluster (services: {known})")
    if found.headless:
        raise InvalidArgument(f"Service {found.key} is headless: it has no address to send flows to")
    if not found.ports:
        raise InvalidArgument(f"Service {found.key} has no ports")
    return found


def flows(
    cluster: Cluster,
    *,
    clients: Iterable[ClientKind] | None = None,
    destinations: Iterable[Destination] | None = None,
    service: str | None = None,
) -> st.SearchStrategy[Flow]:
    """Flows to one Service of ``cluster`` that :func:`kverify.concrete.route.route` accepts.

    The Service is ``service`` (``namespace/name``), by default :data:`SERVICE` or the cluster's
    only Service. The client is one of ``clients`` (default: all kinds) and the destination one of
    ``destinations`` (default: all) that the Service offers: ``cluster-ip`` always, ``node-port``
    with nodePorts, ``load-balancer`` with ingress IPs, ``external-ip`` with externalIPs,
    ``health-check-node-port`` with a healthCheckNodePort.

    External clients arrive at a given node or let the load balancer pick (``node=None``), from
    an address that may or may not be inside ``loadBalancerSourceRanges``. Pod clients run on a
    node and sometimes use an endpoint's own IP (hairpin); host-network clients use their node's
    address and may address a NodePort on ``127.0.0.1``. NodePort flows from inside the cluster may
    target another node's address. ``client_ip``, ``dst_ip`` and ``port`` are sometimes left to
    kverify's defaults (``None``).
    """
    if not isinstance(cluster, Cluster):
        raise InvalidArgument(f"cluster={cluster!r} must be a kverify.model.Cluster")
    if not cluster.nodes:
        raise InvalidArgument("the cluster has no nodes: no flow can be routed in it")
    chosen = _pick_service(cluster, service)
    kinds = _check_members("clients", clients, ClientKind)
    if not any(n.addresses for n in cluster.nodes):
        # A host-network client sends from its node's address.
        kinds = tuple(k for k in kinds if k is not ClientKind.NODE)
        if not kinds:
            raise InvalidArgument("host-network clients need a node with an address; no node has one")
    wanted = _check_members("destinations", destinations, Destination)
    offered = destinations_of(chosen)
    usable = tuple(d for d in wanted if d in offered)
    if not usable:
        raise InvalidArgument(
            f"Service {chosen.key} offers none of destinations={[d.spelling for d in wanted]} "
            f"(it offers {[d.spelling for d in offered]})"
        )
    return _flows(cluster, chosen, kinds, usable, _external_ips(cluster, chosen))


def _addresses_in(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network, low: int, high: int
) -> st.SearchStrategy[str]:
    """Addresses ``network.network_address + k`` for ``low <= k <= high`` (clamped to the network)."""
    high = min(high, network.num_addresses - 2)
    return st.integers(min(low, high), high).map(lambda k: str(network.network_address + k))


@st.composite
def _flows(
    draw: st.DrawFn,
    cluster: Cluster,
    service: Service,
    kinds: tuple[ClientKind, ...],
    destinations: tuple[Destination, ...],
    external_ips: st.SearchStrategy[str | None],
) -> Flow:
    client = draw(st.sampled_from(kinds))
    destination = draw(st.sampled_from(destinations))
    nodes = cluster.nodes
    node_addresses = [a for n in nodes for a in n.addresses]

    node: Node | None
    client_ip: str | None
    if client is ClientKind.EXTERNAL:
        node = draw(st.sampled_from((None, *nodes)))
        client_ip = draw(external_ips)
    elif client is ClientKind.POD:
        node = draw(st.sampled_from(nodes))
        hairpins = list(service.endpoints)
        choice = draw(st.integers(0, 2)) if hairpins else draw(st.integers(0, 1))
        if choice == 0:
            client_ip = None
        elif choice == 1:
            client_ip = draw(_addresses_in(_POD_CLIENTS, 1, 65534))
        else:
            endpoint = draw(st.sampled_from(hairpins))
            client_ip = endpoint.ip
            node = cluster.node(endpoint.node_name) or node
    else:
        node = draw(st.sampled_from([n for n in nodes if n.addresses]))
        client_ip = draw(st.sampled_from((None, *node.addresses)))

    dst_ip: str | None
    port: int | None = None
    if destination in (Destination.NODE_PORT, Destination.HEALTH_CHECK_NODE_PORT):
        if client is ClientKind.EXTERNAL:
            # An external client's packet to a node's address arrives at that node.
            choices = list(node.addresses) if node else node_addresses
        else:
            choices = list(node_addresses)
            if client is ClientKind.NODE and destination is Destination.NODE_PORT:
                choices.append(_LOCALHOST)
        dst_ip = draw(st.sampled_from((None, *choices)))
    else:
        addresses = {
            Destination.CLUSTER_IP: service.cluster_ips,
            Destination.LOAD_BALANCER: tuple(i.ip for i in service.load_balancer_ingress if i.ip),
            Destination.EXTERNAL_IP: service.external_ips,
        }[destination]
        dst_ip = draw(st.sampled_from((None, *addresses)))

    if destination is Destination.NODE_PORT:
        with_node_ports = [p for p in service.ports if p.node_port]
        numbers = (*(p.node_port for p in with_node_ports), *(p.port for p in with_node_ports))
        port = draw(st.sampled_from((None, *numbers)))
    elif destination is not Destination.HEALTH_CHECK_NODE_PORT:
        port = draw(st.sampled_from((None, *(p.port for p in service.ports))))

    return Flow(
        service=service.key,
        client=client,
        destination=destination,
        client_ip=client_ip,
        node=node.name if node else None,
        dst_ip=dst_ip,
        port=port,
        protocol=service.ports[0].protocol if port is None else _protocol_of(service, destination, port),
    )


def _protocol_of(service: Service, destination: Destination, number: int) -> Protocol:
    for p in service.ports:
        if p.port == number or (destination is Destination.NODE_PORT and p.node_port == number):
            return p.protocol
    return service.ports[0].protocol


def _external_ips(cluster: Cluster, service: Service) -> st.SearchStrategy[str | None]:
    """External client addresses: kverify's default (None), any 203.0.113.x (inside the sample
    source range 203.0.113.0/25 or not), or one inside a ``loadBalancerSourceRange``.

    Never a pod address (inside the cluster CIDRs, which would count as pod traffic) nor a node's.
    """
    taken = {a for n in cluster.nodes for a in n.addresses}
    options: list[st.SearchStrategy[str | None]] = [st.none(), _addresses_in(_EXTERNAL_CLIENTS, 1, 254)]
    pods = [ipaddress.ip_network(c, strict=False) for c in (*cluster.proxy.cluster_cidrs, _CLUSTER_CIDR)]
    for cidr in service.load_balancer_source_ranges:
        network = ipaddress.ip_network(cidr, strict=False)
        if network.version == 4 and not any(p.version == 4 and network.overlaps(p) for p in pods):
            options.append(_addresses_in(network, 1, 65534))
    return st.one_of(options).filter(lambda ip: ip not in taken)


# --- both ------------------------------------------------------------------------------------


def clusters_and_flows(
    *,
    min_nodes: int = 1,
    max_nodes: int = 4,
    max_endpoints: int = 6,
    dataplanes: Iterable[Dataplane] | None = None,
    load_balancers: Iterable[LoadBalancerProfile] | None = None,
    service_types: Iterable[ServiceType] | None = None,
    zones: bool = True,
    hints: bool = True,
    unknown_node_endpoints: bool = True,
    clients: Iterable[ClientKind] | None = None,
    destinations: Iterable[Destination] | None = None,
) -> st.SearchStrategy[tuple[Cluster, Flow]]:
    """Pairs ``(cluster, flow)``: a cluster from :func:`clusters` and a flow from :func:`flows`.

    Takes the arguments of both. When ``destinations`` is given, only clusters whose Service offers
    one of them are generated.
    """
    types = _check_members("service_types", service_types, ServiceType)
    kinds = _check_members("clients", clients, ClientKind)
    wanted = _check_members("destinations", destinations, Destination)
    # Only generate services of a type that may offer one of the wanted destinations.
    offering = {
        Destination.CLUSTER_IP: set(ServiceType),
        Destination.EXTERNAL_IP: set(ServiceType),
        Destination.NODE_PORT: {ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER},
        Destination.LOAD_BALANCER: {ServiceType.LOAD_BALANCER},
        Destination.HEALTH_CHECK_NODE_PORT: {ServiceType.LOAD_BALANCER},
    }
    fitting = [t for t in types if any(t in offering[d] for d in wanted)]
    if not fitting:
        raise InvalidArgument(
            f"no service type among {[t.spelling for t in types]} offers destinations={[d.spelling for d in wanted]}"
        )
    cluster_strategy = clusters(
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        max_endpoints=max_endpoints,
        dataplanes=dataplanes,
        load_balancers=load_balancers,
        service_types=fitting,
        zones=zones,
        hints=hints,
        unknown_node_endpoints=unknown_node_endpoints,
    )
    if set(wanted) != set(Destination):
        cluster_strategy = cluster_strategy.filter(lambda c: any(d in wanted for d in destinations_of(c.services[0])))
    return _clusters_and_flows(cluster_strategy, kinds, wanted)


@st.composite
def _clusters_and_flows(
    draw: st.DrawFn,
    cluster_strategy: st.SearchStrategy[Cluster],
    kinds: tuple[ClientKind, ...],
    wanted: tuple[Destination, ...],
) -> tuple[Cluster, Flow]:
    cluster = draw(cluster_strategy)
    flow = draw(flows(cluster, clients=kinds, destinations=wanted))
    return cluster, flow
