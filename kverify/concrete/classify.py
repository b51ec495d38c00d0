"""Address classification: turn a concrete flow into the Situation the rules read.

This is the only place that looks at IP addresses and CIDRs. Each decision here is a
``classify`` rule; the Z3 encoding abstracts each one as a free input (see ``kverify.symbolic``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import cached_property, lru_cache

import attrs

from kverify.concrete.endpoint_set import Classes, EndpointSet
from kverify.concrete.index import index_of
from kverify.errors import InputError, Problem
from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    Endpoint,
    Flow,
    Node,
    Service,
    ServicePort,
)
from kverify.model.enums import CLIENT_EXTERNAL, CLIENT_NODE, NFTABLES, TO_CLUSTER_IP, TO_LOAD_BALANCER, TO_NODE_PORT
from kverify.semantics.registry import declare, mark
from kverify.semantics.vocabulary import Situation

K8S = "kubernetes/kubernetes"
LOCALHOST = "127.0.0.1"
EXTERNAL_CLIENT_IP = "203.0.113.10"

NODEPORT_ADDRESSES = declare(
    "nodeport-addresses",
    title="Which addresses accept NodePorts: iptables/ipvs every local address (iptables also 127.0.0.1 "
    "with localhostNodePorts); nftables by default the node's primary IPs (--nodeport-addresses=primary); "
    "an explicit --nodeport-addresses takes the node's addresses inside its CIDRs, on every dataplane.",
    source=f"{K8S} pkg/proxy/iptables/proxier_test.go TestNodePorts; pkg/proxy/nftables/proxier_test.go "
    "TestNodePorts ('secondary nodeIP ignores NodePorts'; 'ipv4, multiple nodeport-addresses': 'external to "
    "nodePort on secondary IP', at 81810de6); pkg/proxy/nftables/proxier.go syncProxyRules (nodeport-ips filled "
    "from nodePortAddresses.GetNodeIPs unless MatchAll); cmd/kube-proxy/app/server_linux.go platformApplyDefaults "
    "(nftables: empty --nodeport-addresses becomes primary); pkg/proxy/util/nodeport_addresses.go",
    since="v1.29 (nftables); v1.26 (localhostNodePorts)",
)
EXTERNAL_IPS = declare(
    "external-ips-every-node",
    title="externalIPs are captured on every node, whether or not the node owns the address.",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules ('Capture externalIPs'); CVE-2020-8554",
    since="v1.0",
)
DETECT_LOCAL = declare(
    "detect-local-cluster-cidr",
    title="Pod traffic is any source inside --cluster-cidr (LocalTrafficDetector, ClusterCIDR mode).",
    source=f"{K8S} pkg/proxy/util/localdetector.go NewDetectLocalByCIDR",
    since="v1.18",
)
SOURCE_RANGES = declare(
    "lb-source-ranges-match",
    title="A source is allowed when loadBalancerSourceRanges has no range of the destination's IP family "
    "(kube-proxy keeps each family's ranges in that family's proxier; a family without ranges has no firewall, "
    "and 0.0.0.0/0 or ::/0 means no firewall) or one of them contains it; when a range contains the node's "
    "primary IP, the Service's LB IPs are allowed as sources too. Cilium: every range applies (per-family "
    "handling not verified).",
    source=f"{K8S} pkg/proxy/serviceport.go newBaseServiceInfo (`cidrFamilyMap[ipFamily]`, "
    "`slices.ContainsFunc(cidrs, proxyutil.IsZeroCIDR)`); "
    "pkg/proxy/iptables/proxier.go syncProxyRules (allowFromNode: '-s <LB IP> -j RETURN'); "
    "nftables/proxier_test.go TestLoadBalancer 'same node to LB1, SNATted to LB1 (implicitly allowed)'",
    since="v1.22 (per-family filtering read at ~v1.33)",
)
HAIRPIN = declare(
    "hairpin-match",
    title="A packet is hairpin when the chosen endpoint's IP equals its source IP.",
    source=f"{K8S} pkg/proxy/iptables/proxier.go (SEP chain '-s <endpoint IP>')",
    since="v1.22",
)
HANDLING_NODE = declare(
    "handling-node",
    title="In-cluster clients are translated on their own node, except (kube-proxy) a NodePort on another "
    "node's IP, which is routed there first; Cilium's socket-LB translates that one on the client's node "
    "too. External clients are handled where they arrive.",
    source=f"{K8S} pkg/proxy/iptables/proxier.go (nat PREROUTING/OUTPUT -> KUBE-SERVICES; "
    "KUBE-NODEPORTS only for '-m addrtype --dst-type LOCAL'); "
    "cilium/cilium bpf/bpf_sock.c sock4_wildcard_lookup (remote node IPs)",
    since="v1.22",
)


TOPOLOGY_ANNOTATION = declare(
    "topology-annotation",
    title="A Service's topology annotation asks kube-proxy for hints: v1.24-v1.26 only "
    "service.kubernetes.io/topology-aware-hints set to 'auto' or 'Auto'; from v1.27 "
    "service.kubernetes.io/topology-mode (read first) or topology-aware-hints, any value but '', 'disabled' or "
    "'Disabled'.",
    source=f"{K8S} pkg/proxy/topology.go canUseTopology (HintsAnnotation); PR #116522 (v1.27); "
    "pkg/proxy/serviceport.go newBaseServiceInfo (hintsAnnotation from the two annotations)",
    since="v1.24",
)
IP_MODE_GATE = declare(
    "load-balancer-ip-mode-gate",
    title="Without the LoadBalancerIPMode gate (off by default before v1.30) kube-proxy treats every "
    "LoadBalancer ingress IP as ipMode VIP.",
    source=f"{K8S} pkg/proxy/util/utils.go IsVIPMode (`if !utilfeature...Enabled(features.LoadBalancerIPMode) "
    "{ return true }`); KEP-1860",
    since="v1.29 (alpha); on by default v1.30; GA v1.32",
)
NFTABLES_MODE = declare(
    "nftables-mode-available",
    title="kube-proxy accepts --proxy-mode=nftables only with the NFTablesProxyMode gate (alpha v1.29, on by "
    "default from v1.31, GA v1.33).",
    source=f"{K8S} pkg/features/kube_features.go NFTablesProxyMode; cmd/kube-proxy/app/server_linux.go "
    "(platformCheckSupported / proxy mode validation); KEP-3866",
    since="v1.29",
)


def hints_annotation(service: Service, minor: int) -> bool:
    """Whether the Service's topology annotation asks for hints, as kube-proxy v1.``minor`` reads it."""
    mark(TOPOLOGY_ANNOTATION)
    if service.topology_annotation is None:
        return False
    key, value = service.topology_annotation
    if minor < 27:
        return key.endswith("topology-aware-hints") and value in ("auto", "Auto")
    return value not in ("", "disabled", "Disabled")


def check_dataplane(cluster: Cluster) -> None:
    """Refuse a dataplane the modelled kube-proxy version would refuse to run."""
    mark(NFTABLES_MODE)
    proxy = cluster.proxy
    if proxy.dataplane is NFTABLES and not proxy.gates["NFTablesProxyMode"]:
        raise InputError(
            Problem(
                f"nftables mode needs the NFTablesProxyMode feature gate (alpha in v1.29, on by default from v1.31); "
                f"Kubernetes v1.{proxy.kubernetes_version} has it off (use --feature-gates NFTablesProxyMode=true)",
                field="--dataplane",
            )
        )


#: :attr:`FlowFrame.own_names` by the shared fields' names, in their order, and where among them "nodes" is
#: (None: not shared).
_OWN_NAMES: dict[tuple[str, ...], tuple[tuple[str, ...], int | None]] = {}


class FlowFrame:
    """What every handling of one flow shares: the situation's fields that do not depend on the
    handling node, the client or the addresses (``fields``), computed once per flow; and the rule
    table's answers for the kinds of handling met so far (``kinds``, filled by
    :func:`kverify.concrete.alike.decided`)."""

    __slots__ = ("fields", "ip_modes", "key", "kinds", "own_names")

    def __init__(self, fields: dict[str, object], *, ip_modes: bool) -> None:
        self.fields = fields
        #: Whether ingress ipModes are read (the LoadBalancerIPMode gate): per-handling fields need it.
        self.ip_modes = ip_modes
        self.kinds: dict[object, object] = {}
        #: The situation's fields each handling gives itself: every field not in ``fields`` (worked out
        #: once per set of shared names: every flow routed shares the same ones).
        names = tuple(fields)
        found = _OWN_NAMES.get(names)
        if found is None:
            own = tuple(f.name for f in attrs.fields(Situation) if f.name not in fields)
            found = _OWN_NAMES[names] = (own, names.index("nodes") if "nodes" in fields else None)
        self.own_names, nodes_at = found
        #: The shared fields' values but the node views (the same for every flow routed in a cluster, and
        #: hidden from the rule table's decisions): what the flow's handlings are alike by beyond their own.
        #: The values in order, the views cut out by their place (no Python step per field: a check routes
        #: a thousand flows).
        values = tuple(fields.values())
        self.key = values if nodes_at is None else values[:nodes_at] + values[nodes_at + 1 :]

    def situation(self, **own: object) -> Situation:
        """The situation of one handling: the shared fields and ``own`` (a field in both is a bug)."""
        return Situation(**self.fields, **own)  # type: ignore[arg-type]


# Not slotted, as Cluster (kverify.model.cluster) and for the same reason: its attributes are read on every flow.
@attrs.frozen(kw_only=True, slots=False)
class Handling:
    """One way a flow can be handled: by the proxy on ``node`` (None: bypassing nodes).

    ``frame`` is the situation without its endpoints; ``members`` the endpoints, indexed once per
    Service port and shared by every handling. :attr:`situation` is the whole situation (every
    endpoint's view, for the differential tests and proofs); :meth:`classes` the endpoint classes
    seen from this node, on which the executable model evaluates the rule table (linear time).
    """

    node: Node | None
    client_node: Node | None
    client_ip: str
    dst_ip: str
    port: ServicePort
    frame: Situation
    members: EndpointSet
    #: The pod's own address when its CNI masqueraded the packet on the pod's node before it reached
    #: ``node`` (``client_ip`` is then that node's address; rule ``cni-pod-to-node-snat``).
    pod_ip: str | None = None
    #: The flow's shared fields (``frame`` is made of them and the handling's own), when it was built so.
    shared: FlowFrame | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def endpoints(self) -> Sequence[Endpoint]:
        return self.members.endpoints

    @cached_property
    def situation(self) -> Situation:
        """The situation with every endpoint's view, in endpoint order."""
        return attrs.evolve(self.frame, endpoints=self.members.full_views(self.client_ip))

    @cached_property
    def classes(self) -> Classes:
        """The endpoint classes seen from this handling node (see :mod:`kverify.concrete.endpoint_set`)."""
        return self.members.classes(int(self.frame.handling_node), int(self.frame.handling_zone), self.client_ip)

    @cached_property
    def reduced(self) -> Situation:
        """The situation with one endpoint view per class: the rule table decides each class as it
        decides each of its members on :attr:`situation`."""
        return attrs.evolve(self.frame, endpoints=self.classes.views)


# Parsed once per text: a trace from every node asks about the same client address and CIDRs at each
# of thousands of nodes (ipaddress parses in Python; the objects are immutable, so sharing them is safe).
_address = lru_cache(maxsize=4096)(ipaddress.ip_address)


@lru_cache(maxsize=4096)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def in_any(ip: str, cidrs: Iterable[str]) -> bool:
    address = _address(ip)
    return any(address in _network(c) for c in cidrs)


def allowed_by_source_ranges(
    service: Service, client_ip: str, node: Node | None, *, dst_ip: str | None = None, per_family: bool = True
) -> bool:
    """loadBalancerSourceRanges admit the source. kube-proxy (``per_family``) keeps only the ranges of
    the destination's family, and a zero-masked range means "allow any". When the node's primary IP
    is inside a range, packets sourced from the Service's own LB IPs are admitted too (a node that
    owns the LB IP may pick it as source address)."""
    ranges = service.load_balancer_source_ranges
    if per_family:
        family = _address(dst_ip or client_ip).version
        ranges = tuple(r for r in ranges if _network(r).version == family)
        if any(_network(r).prefixlen == 0 for r in ranges):
            ranges = ()
    if not ranges or in_any(client_ip, ranges):
        return True
    lb_ips = {i.ip for i in service.load_balancer_ingress if i.ip}
    primary = node.primary_address if node else None
    return client_ip in lb_ips and primary is not None and in_any(primary, ranges)


def nodeport_addresses(cluster: Cluster, node: Node, *, client_on_node: bool) -> tuple[str, ...]:
    """Addresses of ``node`` on which its proxy accepts NodePort traffic."""
    mark(NODEPORT_ADDRESSES)
    proxy = cluster.proxy
    if proxy.dataplane is NFTABLES and not proxy.node_port_addresses:
        # nftables' default is --nodeport-addresses=primary; an explicit list takes every local address in
        # it (nodePortAddresses.GetNodeIPs), as iptables and ipvs do.
        primaries: list[str] = []
        for family in (4, 6):
            first = next((a for a in node.addresses if ipaddress.ip_address(a).version == family), None)
            if first:
                primaries.append(first)
        candidates = tuple(primaries)
    else:
        candidates = node.addresses
    if proxy.node_port_addresses:
        candidates = tuple(a for a in candidates if in_any(a, proxy.node_port_addresses))
    localhost_ok = client_on_node and (
        (proxy.dataplane in (Dataplane.IPTABLES, Dataplane.DNAT_ONLY) and proxy.localhost_node_ports)
        or proxy.dataplane in (Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR)
    )
    if localhost_ok and (not proxy.node_port_addresses or in_any(LOCALHOST, proxy.node_port_addresses)):
        candidates = (*candidates, LOCALHOST)
    return candidates


def default_client_ip(cluster: Cluster, client: ClientKind, node: Node | None, service: Service | None = None) -> str:
    """An address for the client when the flow does not name one."""
    if client is CLIENT_EXTERNAL:
        return EXTERNAL_CLIENT_IP
    if client is CLIENT_NODE:
        if node is None or not node.addresses:
            raise InputError(Problem("a host-network client needs a node with an address", field="--node"))
        return node.addresses[0]
    taken = index_of(cluster).endpoint_ips
    pools = (node.pod_cidrs if node and node.pod_cidrs else ()) or cluster.proxy.cluster_cidrs or ("10.0.0.0/8",)
    network = _network(pools[0])  # parsed once per CIDR: a check routes hundreds of pod flows
    for offset in range(200, 250):
        candidate = str(network.network_address + offset)
        if candidate not in taken:
            return candidate
    raise InputError(Problem("no free pod address for the client; pass --src-ip", field="--src-ip"))


def find_port(service: Service, flow: Flow) -> ServicePort | None:
    """The Service port the flow addresses (``--port`` may name the NodePort for node-port flows)."""
    if flow.destination in (TO_NODE_PORT,) and flow.port is not None:
        by_node_port = service.node_port_for(flow.port, flow.protocol)
        if by_node_port:
            return by_node_port
    return service.port(flow.port, flow.protocol)


def resolve_port(service: Service, flow: Flow) -> ServicePort:
    """Like :func:`find_port`, but a missing port is an input error."""
    port = find_port(service, flow)
    if port is None:
        wanted = f"{flow.port}/{flow.protocol}" if flow.port else str(flow.protocol)
        offered = ", ".join(f"{p.port}/{p.protocol}" for p in service.ports) or "none"
        raise InputError(Problem(f"Service {service.key} has no port {wanted} (ports: {offered})", field="--port"))
    return port


def service_addresses(service: Service, destination: Destination) -> tuple[str, ...]:
    if destination is TO_CLUSTER_IP:
        return service.cluster_ips
    if destination is TO_LOAD_BALANCER:
        return tuple(i.ip for i in service.load_balancer_ingress if i.ip)
    if destination is Destination.EXTERNAL_IP:
        return service.external_ips
    return ()
