"""A flow to an address that belongs to no Service: what the proxy does with an unallocated address
inside the service CIDR (rule ``nftables-unallocated-service-ip``).

There is no Service, so no endpoint and no rule of the Service table applies: the question is only
whether the proxy on the node the packet meets drops it or leaves it to the node's routes. This is
decided here, before (and instead of) the Service rules, by the one address rule
(:func:`kverify.semantics.unallocated.unallocated_dropped`), which the Z3 side asks in its own query
(:mod:`kverify.symbolic.address`).
"""

from __future__ import annotations

import ipaddress

from kverify.concrete import classify
from kverify.concrete.index import index_of
from kverify.errors import NO_NODES, InputError, NotModelled, Problem, names, quote
from kverify.model import AddressFlow, ClientKind, Cluster, Dataplane, DropKind, Node, Service
from kverify.results import Hop, Outcome
from kverify.semantics.ops import CONCRETE
from kverify.semantics.unallocated import (
    GATE,
    RULE_ID,
    SINCE,
    AddressSituation,
    AddressWorld,
    unallocated_dropped,
)

#: The rule's id, as outcomes name it.
UNALLOCATED = RULE_ID

_CILIUM = (Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR)


def route_address(cluster: Cluster, flow: AddressFlow) -> tuple[Outcome, ...]:
    """Every possible outcome of a packet to an address that belongs to no Service, one per node the
    packet may meet (the client's node for in-cluster clients; for an external client, each node a
    router may send the service CIDR to)."""
    address = _parse(flow.dst_ip)
    _check_no_service_owns(cluster, flow.dst_ip)
    if not cluster.nodes:
        raise InputError(Problem(NO_NODES, field="nodes"))
    check_modelled(cluster, f"a packet to {flow.dst_ip}, an address of no Service")
    cidr = _containing_cidr(cluster, address)
    drops = dropped(cluster, cidr)
    given = _node(cluster, flow.node)
    nodes = [given] if given is not None else list(cluster.nodes)
    return tuple(_outcome(cluster, flow, node, cidr, drops) for node in nodes)


def check_modelled(cluster: Cluster, what: str) -> None:
    """``NotModelled`` when the model does not read the cluster's dataplane for ``what`` (an address of no
    Service): Cilium's kube-proxy replacement."""
    classify.check_dataplane(cluster)
    if cluster.proxy.dataplane in _CILIUM:
        raise NotModelled(
            Problem(
                f"not modelled: {what}, on Cilium's kube-proxy replacement (kverify reads only kube-proxy's "
                "handling of such addresses)",
                field="--to-address",
            )
        )


def dropped(cluster: Cluster, cidr: str | None) -> bool:
    """Whether kube-proxy drops a new connection to an address of no Service inside ``cidr`` (``None``:
    the address is in no known service CIDR). ``NotModelled`` when it would depend on service CIDRs kverify
    was not told."""
    proxy = cluster.proxy
    watches = proxy.dataplane is Dataplane.NFTABLES and proxy.kubernetes_version >= SINCE and proxy.gates[GATE]
    if watches and not proxy.service_cidrs:
        raise NotModelled(
            Problem(
                "not modelled: whether the address is inside a service CIDR: nftables kube-proxy drops traffic to "
                "unallocated addresses of the ServiceCIDR objects; give them (kubectl get servicecidrs -o yaml) "
                "with the manifests, or with --service-cidr (a spec's environment.serviceCIDR), e.g. kube-apiserver's "
                "--service-cluster-ip-range",
                field="--service-cidr",
            )
        )
    return bool(unallocated_dropped(CONCRETE, _situation(cluster, cidr)))


def _situation(cluster: Cluster, cidr: str | None) -> AddressSituation:
    proxy = cluster.proxy
    return AddressSituation(
        dataplane=proxy.dataplane,
        k8s_minor=proxy.kubernetes_version,
        gate_multi_cidr=proxy.gates[GATE],
        in_service_cidr=cidr is not None,
        held_by_service=False,  # route_address asked first (an owned address is asked through its Service)
    )


def address_worlds(cluster: Cluster, flow: AddressFlow) -> list[tuple[Outcome, AddressWorld]]:
    """Each outcome of :func:`route_address` with the :class:`AddressWorld` address claims read."""
    outcomes = route_address(cluster, flow)
    situation = _situation(cluster, _containing_cidr(cluster, _parse(flow.dst_ip)))
    return [
        (o, AddressWorld(ops=CONCRETE, situation=situation, dropped=o.drop_kind is DropKind.DROP)) for o in outcomes
    ]


def _outcome(cluster: Cluster, flow: AddressFlow, node: Node, cidr: str | None, drops: bool) -> Outcome:
    client_ip = flow.client_ip or classify.default_client_ip(cluster, flow.client, node)
    dst = flow.dst_ip + (f":{flow.port}" if flow.port else "")
    at = {ClientKind.EXTERNAL: "client", ClientKind.POD: "pod", ClientKind.NODE: f"{node.name} (host network)"}
    arrive = Hop(at=at[flow.client], to=node.name, src=client_ip, dst=dst)
    if drops:
        note = f"nftables cluster-ips-check: {flow.dst_ip} is inside service CIDR {cidr} and no Service's ClusterIP"
        return Outcome(
            node=node.name,
            delivered=False,
            drop_kind=DropKind.DROP,
            rules=(UNALLOCATED,),
            hops=(arrive, Hop(at=node.name, to="(end)", src=client_ip, dst=dst, note=note + ": dropped")),
        )
    why = (
        f"{cluster.proxy.dataplane.spelling} has no rule for addresses of no Service"
        if cluster.proxy.dataplane is not Dataplane.NFTABLES
        else _nftables_passes(cluster, cidr)
    )
    return Outcome(
        node=node.name,
        delivered=False,
        drop_kind=DropKind.NOT_INTERCEPTED,
        rules=(UNALLOCATED,),
        hops=(arrive, Hop(at=node.name, to="(node's routes)", src=client_ip, dst=dst, note=why + ": routed on")),
    )


def _nftables_passes(cluster: Cluster, cidr: str | None) -> str:
    """Why nftables kube-proxy lets the packet through."""
    proxy = cluster.proxy
    if proxy.kubernetes_version < SINCE:
        return f"nftables kube-proxy before v1.{SINCE} drops nothing for addresses of no Service"
    if not proxy.gates[GATE]:
        return f"{GATE} off: kube-proxy does not watch ServiceCIDRs, so it drops nothing for them"
    return f"outside the service CIDRs ({', '.join(proxy.service_cidrs)})"


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise InputError(
            Problem(f"Invalid value: {quote(text)}: must be a valid IP address", field="--to-address")
        ) from None


def _containing_cidr(cluster: Cluster, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """The first service CIDR holding ``address`` (a CIDR of the other family holds nothing)."""
    return next((c for c in cluster.proxy.service_cidrs if address in ipaddress.ip_network(c, strict=False)), None)


def _check_no_service_owns(cluster: Cluster, ip: str) -> None:
    """An address a Service owns is asked about through that Service (``--service``, ``--to``)."""
    for service in cluster.services:
        for destination, addresses in _addresses(service):
            if ip in addresses:
                raise InputError(
                    Problem(
                        f"{ip} is a {destination} address of {service.key}: ask with --service {service.key} "
                        f"--to {destination}",
                        field="--to-address",
                    )
                )


def _addresses(service: Service) -> tuple[tuple[str, tuple[str, ...]], ...]:
    lb = tuple(i.ip for i in service.load_balancer_ingress if i.ip)
    return (("cluster-ip", service.cluster_ips), ("external-ip", service.external_ips), ("load-balancer", lb))


def _node(cluster: Cluster, name: str | None) -> Node | None:
    if name is None:
        return None
    node = index_of(cluster).nodes_by_name.get(name)
    if node is None:
        raise InputError(
            Problem(f"Not found: {quote(name)} (nodes: {names(n.name for n in cluster.nodes)})", field="--node")
        )
    return node
