"""A placement made concrete: Nodes and endpoints the executable model can route through.

The solver's model says which slots exist and where each pod runs; this builds the cluster a
reviewer can read and ``kverify trace`` can replay: one Node per present slot (its own addresses, or
made-up ones outside the cluster CIDR), one Ready endpoint per pod (an address from its node's pod
range, or the node's address for a host-network pod) on the Service ports its workload serves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

import attrs

from kverify.model import Cluster, Endpoint, EndpointPort, Node, Service
from kverify.model.workload import HOSTNAME_LABEL, ZONE_LABEL, Taint
from kverify.placement.design import Design, backends_of
from kverify.placement.universe import Slot, node_labels


@attrs.frozen(kw_only=True)
class Placement:
    """Which slots exist (by name) and where each pod runs: ``pods`` maps pod name -> slot name."""

    nodes: tuple[str, ...]
    pods: Mapping[str, str]  # "namespace/workload-i" -> node name
    #: pod name -> "namespace/workload" that owns it.
    owners: Mapping[str, str] = attrs.field(factory=dict)
    #: Zone of each node as decided (``None``: no zone label).
    zones: Mapping[str, str | None] = attrs.field(factory=dict)
    #: Labels and taints of nodes the solver chose (no nodes described), see ``realise.py``.
    labels: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    taints: Mapping[str, tuple[Taint, ...]] = attrs.field(factory=dict)

    def pods_on(self, node: str) -> list[str]:
        return [p for p, n in self.pods.items() if n == node]

    def as_pairs(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(node, (pod, ...)) for every node, pods sorted: the shape counterexamples carry."""
        return tuple((node, tuple(sorted(self.pods_on(node)))) for node in self.nodes)


def _node_addresses(index: int, avoid: Sequence[str]) -> tuple[str, ...]:
    """A made-up primary address for node ``index``, outside every CIDR in ``avoid``."""
    for base in ("192.168.0.0/16", "172.31.0.0/16", "100.64.0.0/10"):
        net = ipaddress.ip_network(base)
        if not any(net.overlaps(ipaddress.ip_network(c, strict=False)) for c in avoid):
            return (str(net.network_address + 10 + index),)
    return (f"198.18.{index // 250}.{10 + index % 250}",)


def _pod_ranges(count: int, cluster_cidrs: Sequence[str]) -> list[str]:
    """One /24 per node inside the first IPv4 cluster CIDR (a node's podCIDR, as the IPAM would give)."""
    v4 = [c for c in cluster_cidrs if ipaddress.ip_network(c, strict=False).version == 4]
    net = ipaddress.ip_network(v4[0] if v4 else "10.244.0.0/16", strict=False)
    prefix = max(net.prefixlen, min(24, 32 - 2))
    if net.prefixlen >= 24:
        return [str(net)] * count  # a tiny cluster CIDR: every node shares it
    subnets = net.subnets(new_prefix=prefix)
    return [str(next(subnets)) for _ in range(count)]


def materialise(design: Design, service: Service, placement: Placement, slots: Sequence[Slot]) -> Cluster:
    """The design's cluster with ``placement``'s nodes and ``service``'s endpoints filled in."""
    cluster = design.cluster
    by_name = {s.name: s for s in slots}
    given = {n.name: n for n in cluster.nodes}
    ranges = _pod_ranges(len(placement.nodes), cluster.proxy.cluster_cidrs)
    nodes: list[Node] = []
    for i, name in enumerate(placement.nodes):
        if name in given:
            nodes.append(given[name])
            continue
        slot = by_name[name]
        zone = placement.zones.get(name) or (slot.labels or {}).get(ZONE_LABEL)
        labels = dict(placement.labels.get(name) or slot.labels or {})
        for implied in (ZONE_LABEL, HOSTNAME_LABEL):  # the Node carries these itself
            labels.pop(implied, None)
        nodes.append(
            Node(
                name=name,
                addresses=_node_addresses(i, cluster.proxy.cluster_cidrs),
                zone=zone,
                pod_cidrs=(ranges[i],),
                labels=tuple(sorted(labels.items())),
                taints=placement.taints.get(name, slot.taints),
            )
        )
    node_index = {n.name: i for i, n in enumerate(nodes)}
    used: dict[str, int] = {}
    endpoints: dict[str, Endpoint] = {}
    for port in service.ports:
        for backend in backends_of(design, service, port):
            w = backend.workload
            for pod, node_name in sorted(placement.pods.items()):
                if placement.owners.get(pod) != f"{w.namespace}/{w.name}":
                    continue
                entry = EndpointPort(name=port.name, port=backend.target_port, protocol=port.protocol)
                if pod in endpoints:
                    old = endpoints[pod]
                    endpoints[pod] = attrs.evolve(old, ports=(*old.ports, entry))
                    continue
                node = nodes[node_index[node_name]]
                endpoints[pod] = Endpoint(
                    ip=node.addresses[0] if w.host_network else _pod_ip(node, used),
                    node_name=node_name,
                    pod=pod,
                    ports=(entry,),
                )
    placed = attrs.evolve(service, endpoints=tuple(endpoints[p] for p in sorted(endpoints)))
    services = tuple(placed if s.key == service.key else s for s in cluster.services)
    return attrs.evolve(cluster, nodes=tuple(nodes), services=services)


def _pod_ip(node: Node, used: dict[str, int]) -> str:
    cidr = node.pod_cidrs[0] if node.pod_cidrs else "10.244.0.0/24"
    net = ipaddress.ip_network(cidr, strict=False)
    offset = used.get(cidr, 10)
    used[cidr] = offset + 1
    return str(net.network_address + offset)


def describe(placement: Placement) -> str:
    """Nodes with pods of the Service, then the others: ``node-1: web-0, web-1; node-2: web-2; 3 other
    node(s) without one (node-3, node-4, node-5)``."""
    parts, empty = [], []
    for node in placement.nodes:
        pods = ", ".join(p.split("/", 1)[1] for p in sorted(placement.pods_on(node)))
        zone = placement.zones.get(node)
        label = f"{node}{f' ({zone})' if zone else ''}"
        if pods:
            parts.append(f"{label}: {pods}")
        else:
            empty.append(label)
    if empty:
        shown = ", ".join(empty[:5]) + (", ..." if len(empty) > 5 else "")
        parts.append(f"{len(empty)} node(s) without a pod of the Service ({shown})")
    return "; ".join(parts) if parts else "no node"


__all__ = ["Placement", "describe", "materialise", "node_labels"]
