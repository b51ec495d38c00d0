"""Building blocks of :mod:`kverify.testing.strategies` (the public module): constants, argument
checks and the cluster strategy."""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from typing import TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from kverify.concrete.unknown_lb import unmodelled_reason
from kverify.model import (
    Cluster,
    Cni,
    Dataplane,
    Endpoint,
    EndpointPort,
    IPMode,
    LoadBalancerIngress,
    LoadBalancerProfile,
    Node,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.model.cilium import (
    CILIUM_VERSIONS,
    NEWEST_CILIUM,
    NO_BACKEND_RESPONSE_SINCE,
    RESPONSES,
    SOCKET_LB_KEYS_SINCE,
    SOURCE_RANGE_ALL_TYPES_SINCE,
    SOURCE_RANGE_REGRESSION,
    CiliumSettings,
)
from kverify.model.cluster import cni_problem
from kverify.model.metallb import NEWEST_METALLB
from kverify.model.versions import GATES, NEWEST, VERSIONS, gate_defaults
from kverify.model.workload import EXCLUDE_FROM_LB_LABEL

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
    kubernetes_versions: Iterable[int] | None = None,
    cnis: Iterable[Cni] | None = None,
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
    ``load_balancers`` (default: all). kube-proxy is of one of ``kubernetes_versions`` (minor
    numbers, default: the newest modelled), with that version's feature gates, sometimes one flipped
    (nftables always gets the gate it needs); the Service sometimes has a topology annotation. The pod
    network is one of ``cnis`` (default: ``generic`` only), paired only with the dataplanes kverify
    models it with (Cilium's profile with Cilium's dataplanes, the others with the rest). Behind MetalLB,
    the MetalLB release is sometimes an older one (before and after each change in which endpoints count).
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
    minors = (NEWEST,) if kubernetes_versions is None else tuple(kubernetes_versions)
    if not minors or any(type(m) is not int or m not in VERSIONS for m in minors):
        raise InvalidArgument(f"kubernetes_versions={kubernetes_versions!r} must be minors among {VERSIONS}")
    profiles_cni = (Cni.GENERIC,) if cnis is None else _check_members("cnis", cnis, Cni)
    pairs = [(d, c) for d in planes for c in profiles_cni if _cni_fits(d, c)]
    if not pairs:
        raise InvalidArgument(f"no dataplane among {planes} is modelled with a CNI among {profiles_cni}")
    return _clusters(
        minors=st.sampled_from(minors),
        node_counts=st.integers(min_nodes, max_nodes),
        max_endpoints=max_endpoints,
        planes=st.sampled_from(pairs),
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
    minors: st.SearchStrategy[int],
    node_counts: st.SearchStrategy[int],
    max_endpoints: int,
    planes: st.SearchStrategy[tuple[Dataplane, Cni]],
    profiles: st.SearchStrategy[LoadBalancerProfile],
    types: st.SearchStrategy[ServiceType],
    zones: bool,
    hints: bool,
    unknown_node_endpoints: bool,
) -> Cluster:
    minor = draw(minors)
    dataplane, cni = draw(planes)
    if dataplane is Dataplane.NFTABLES:
        minor = max(minor, GATES["NFTablesProxyMode"].alpha)  # kube-proxy had no nftables mode before
    proxy = ProxyConfig(
        dataplane=dataplane,
        cluster_cidrs=draw(_CLUSTER_CIDRS),
        masquerade_all=draw(_BOOLEANS),
        kubernetes_version=minor,
        feature_gates=draw(_feature_gates(minor, dataplane)),
        cni=cni,
        cilium=draw(_cilium_settings())
        if dataplane in (Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR)
        else CiliumSettings(),
    )
    # A profile the dataplane does not model (k3s ServiceLB on nftables...) has Unknown verdicts: not drawn.
    load_balancer = draw(profiles.filter(lambda p: unmodelled_reason(p, dataplane) is None))
    count = draw(node_counts)
    zone_choice = _ZONE_OR_NONE if zones else st.none()
    nodes = tuple(
        Node(
            name=f"node-{i}",
            addresses=(f"192.168.0.{i + 10}",),
            zone=draw(zone_choice),
            pod_cidrs=(f"10.244.{i}.0/24",),
            draining=draw(_ONE_IN_8),  # rarely: most nodes are healthy
            labels=_lb_exclusion(load_balancer, draw(_LB_EXCLUSION)),
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
    if draw(_ONE_IN_6):
        service = attrs.evolve(service, topology_annotation=draw(_TOPOLOGY_ANNOTATIONS))
    if service.type is ServiceType.LOAD_BALANCER:
        # The load balancer's PROXY protocol and client-IP-preservation settings (rules lb-proxy-protocol,
        # lb-preserve-client-ip).
        preserve = draw(st.none() | _BOOLEANS)
        service = attrs.evolve(service, proxy_protocol=draw(_BOOLEANS), lb_preserve_client_ip=preserve)
    # MetalLB's release decides which endpoint conditions make it announce (kverify.model.metallb).
    metallb = NEWEST_METALLB
    if load_balancer in (LoadBalancerProfile.METALLB_L2, LoadBalancerProfile.METALLB_BGP):
        metallb = draw(st.one_of(st.just(NEWEST_METALLB), st.sampled_from(_METALLB_RELEASES)))
    return Cluster(nodes=nodes, services=(service,), proxy=proxy, load_balancer=load_balancer, metallb_version=metallb)


#: A MetalLB release on each side of every change (v0.14.0, v0.14.5).
_METALLB_RELEASES = ((13, 0), (13, 12), (14, 0), (14, 4), (14, 5), NEWEST_METALLB)


#: Values of the exclude-from-external-load-balancers label: kubeadm's "", Go booleans true and false
#: (the cloud controller keeps "false" and "0" from v1.34), and a value that is not a Go boolean.
_LB_EXCLUSION_VALUES = st.sampled_from(["", "true", "false", "0", "yes"])


#: Rarely (one node in four, shrinking to none) the LB exclusion label, drawn the same way for every profile
#: so the draws shrink alike.
_LB_EXCLUSION = st.integers(0, 3).flatmap(
    lambda k: _LB_EXCLUSION_VALUES.map(lambda value: ((EXCLUDE_FROM_LB_LABEL, value),)) if k == 3 else st.just(())
)


def _lb_exclusion(profile: LoadBalancerProfile, labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The drawn LB exclusion label (rule lb-exclude-label), but for Cilium, which picks nodes by policies kverify
    does not read: its flows on a labelled cluster are Unknown, so its nodes are left unlabelled."""
    return () if profile in (LoadBalancerProfile.CILIUM_L2, LoadBalancerProfile.CILIUM_BGP) else labels


def _cni_fits(dataplane: Dataplane, cni: Cni) -> bool:
    """kverify models Cilium's dataplanes with Cilium (or generic) as the CNI, and Cilium only with them."""
    return cni_problem(dataplane, cni) is None


_TOPOLOGY_ANNOTATIONS = st.sampled_from(
    [
        ("service.kubernetes.io/topology-aware-hints", "auto"),
        ("service.kubernetes.io/topology-aware-hints", "disabled"),
        ("service.kubernetes.io/topology-mode", "Auto"),
        ("service.kubernetes.io/topology-mode", "PreferSameZone"),
    ]
)


@st.composite
def _cilium_settings(draw: st.DrawFn) -> CiliumSettings:
    """A Cilium version and Helm options: usually the defaults, sometimes an older version or an option set."""
    version = draw(st.one_of(st.just(NEWEST_CILIUM), st.sampled_from(CILIUM_VERSIONS)))
    response = draw(st.sampled_from(RESPONSES)) if version >= NO_BACKEND_RESPONSE_SINCE else "reject"
    all_types = draw(_ONE_IN_6) if version >= SOURCE_RANGE_ALL_TYPES_SINCE else False
    # A patch release only where one changed routing (v1.18.0-v1.18.5: source ranges on every frontend).
    minor, fixed = SOURCE_RANGE_REGRESSION
    patch = draw(st.one_of(st.none(), st.integers(0, fixed + 1))) if version == minor else None
    socket_keys = version >= SOCKET_LB_KEYS_SINCE
    return CiliumSettings(
        version=version,
        external_cluster_ip=draw(_ONE_IN_6),
        no_backend_response=response,
        hybrid=draw(_ONE_IN_6),
        source_range_all_types=all_types,
        patch=patch,
        socket_lb_host_namespace_only=draw(_ONE_IN_6) if socket_keys else False,
        socket_lb_disabled_ignored=draw(_ONE_IN_6) if socket_keys else False,
    )


def _feature_gates(minor: int, dataplane: Dataplane) -> st.SearchStrategy[tuple[tuple[str, bool], ...]]:
    """The version's defaults, sometimes with one unlocked gate flipped; nftables gets its gate."""
    defaults = gate_defaults(minor)
    flippable = [n for n, g in GATES.items() if g.exists(minor) and not (g.locked is not None and minor >= g.locked)]
    needed: tuple[tuple[str, bool], ...] = ()
    if dataplane is Dataplane.NFTABLES:
        flippable = [n for n in flippable if n != "NFTablesProxyMode"]
        if not defaults["NFTablesProxyMode"]:
            needed = (("NFTablesProxyMode", True),)
    flips = st.sampled_from(flippable).map(lambda n: ((n, not defaults[n]),)) if flippable else st.just(())
    chosen = st.one_of(st.just(()), st.just(()), flips)
    return chosen.map(lambda pairs: tuple(dict(pairs + needed).items()))


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
