"""Building blocks of :mod:`kverify.testing.strategies` (the public module): flows to a cluster's Service."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from kverify.model import (
    ClientKind,
    Cluster,
    Destination,
    Flow,
    Node,
    Protocol,
    Service,
)
from kverify.testing._clusters import (
    _CLUSTER_CIDR,
    _EXTERNAL_CLIENTS,
    _LOCALHOST,
    _POD_CLIENTS,
    SERVICE,
    _check_members,
)

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
    # A pod's NodePort flow under Cilium's socketLB.hostNamespaceOnly is not modelled (Unknown): not drawn.
    proxy = cluster.proxy
    per_packet = proxy.dataplane.spelling.startswith("cilium") and proxy.cilium.socket_lb_host_namespace_only
    if per_packet and client is ClientKind.POD and Destination.NODE_PORT in destinations:
        others = tuple(d for d in destinations if d is not Destination.NODE_PORT)
        if others:
            destinations = others
        elif any(k is not ClientKind.POD for k in kinds):
            client = draw(st.sampled_from([k for k in kinds if k is not ClientKind.POD]))
        else:
            reject()  # only pods to NodePorts were asked for, and kverify does not model them here
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

    flow = Flow(
        service=service.key,
        client=client,
        destination=destination,
        client_ip=client_ip,
        node=node.name if node else None,
        dst_ip=dst_ip,
        port=port,
        protocol=service.ports[0].protocol if port is None else _protocol_of(service, destination, port),
    )
    # The node's own NodePort where rule nftables-no-endpoint-nodeports-output is not pinned to a release
    # is not modelled (Unknown): not drawn.
    from kverify.concrete.route import nodeport_split_reason

    if nodeport_split_reason(cluster, flow) is not None:
        reject()
    return flow


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
