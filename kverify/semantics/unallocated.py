"""A packet to an address that belongs to no Service: whether the proxy drops it (rule
``nftables-unallocated-service-ip``).

The rule is about an address, not a Service: no Service, endpoint or policy takes part, only the
dataplane, its version and gate, whether the address lies in a service CIDR kube-proxy knows and
whether a Service holds it. The per-Service encodings (one Service, its endpoints and nodes) have no
place for such a packet, so the Z3 side asks it in its own small query over bit-vector addresses
(:mod:`kverify.symbolic.address`); the executable model asks it in :mod:`kverify.concrete.service_cidr`.
Both evaluate :func:`unallocated_dropped`.
"""

from __future__ import annotations

import attrs

from kverify.model.enums import Dataplane
from kverify.semantics.ops import Ops, Term
from kverify.semantics.registry import rule

K8S = "kubernetes/kubernetes"
RULE_ID = "nftables-unallocated-service-ip"
#: kube-proxy learns the service CIDRs from ServiceCIDR objects only with this gate (KEP-1880).
GATE = "MultiCIDRServiceAllocator"
#: The minor that added the drop (PR #122692, merged for v1.30).
SINCE = 30


@attrs.frozen(kw_only=True)
class AddressSituation:
    """A new connection to an address of no Service, as the proxy on the node it meets sees it."""

    dataplane: Term
    k8s_minor: Term
    #: MultiCIDRServiceAllocator, as kube-proxy runs with it (it then watches ServiceCIDR objects).
    gate_multi_cidr: Term
    #: The address lies in one of the service CIDRs (the ServiceCIDR objects' ``spec.cidrs``).
    in_service_cidr: Term
    #: A Service holds the address (its ClusterIP): the Service's own rules apply, not this one.
    held_by_service: Term


@rule(
    RULE_ID,
    title="nftables: a new connection to an address inside a service CIDR that is no Service's ClusterIP is "
    "dropped (filter-forward and filter-output-post-dnat jump to cluster-ips-check: 'Drop traffic to "
    "unallocated ClusterIPs'), for pods, host-network processes and packets routed to the node alike; "
    "kube-proxy knows the CIDRs only from ServiceCIDR objects, watched with the MultiCIDRServiceAllocator gate "
    "(on by default from v1.33). iptables and ipvs install nothing for such an address: the packet is routed "
    "like any other.",
    source=f"{K8S} pkg/proxy/nftables/proxier.go setupNFTables (cluster-ips-check: `ip daddr @cluster-ips "
    "reject`, then `ip daddr { <serviceCIDRs> } drop` only `if len(proxier.serviceCIDRs) > 0`; nftablesJumpChains: "
    "cluster-ips-check from filter-forward and filter-output-post-dnat, 'ct state new'), OnServiceCIDRsChanged; "
    "PR #122692 (v1.30); cmd/kube-proxy/app/server.go (NewServiceCIDRConfig only when "
    "MultiCIDRServiceAllocator is enabled, v1.30-v1.33); pkg/proxy/config/config.go "
    "ServiceCIDRConfig.handleServiceCIDREvent (the union of every ServiceCIDR's spec.cidrs); "
    "pkg/proxy/iptables/proxier.go and pkg/proxy/ipvs/proxier.go OnServiceCIDRsChanged "
    "(`func (proxier *Proxier) OnServiceCIDRsChanged(_ []string) {}`); KEP-3866 'Behavior of service IPs'; "
    "pkg/features/kube_features.go MultiCIDRServiceAllocator (alpha v1.27, beta off v1.31, GA on v1.33, "
    "locked v1.34)",
    since="v1.30 (nftables, with MultiCIDRServiceAllocator; on by default v1.33)",
    dataplanes="nftables",
    history=(
        (
            "v1.30",
            "nftables drops new connections to unallocated addresses of the ServiceCIDRs when kube-proxy runs with "
            "MultiCIDRServiceAllocator (alpha, off by default); without the gate, and before v1.30, they are routed "
            "like any other packet",
            "kubernetes/kubernetes#122692",
        ),
        ("v1.33", "MultiCIDRServiceAllocator GA, on by default: the drop is the default", "KEP-1880"),
    ),
    flow="address",
)
def unallocated_dropped(ops: Ops, s: AddressSituation) -> Term:
    """The proxy drops the connection: nftables from v1.30 with the gate, an address inside a service CIDR
    that no Service holds."""
    return ops.and_(
        ops.eq(s.dataplane, Dataplane.NFTABLES),
        ops.not_(ops.lt(s.k8s_minor, SINCE)),
        s.gate_multi_cidr,
        s.in_service_cidr,
        ops.not_(s.held_by_service),
    )


@attrs.frozen(kw_only=True)
class AddressWorld:
    """One outcome of a packet to an address of no Service, as address claims see it; both engines build
    one (the executable model from ``route_address``'s outcome, the encoding from its universe)."""

    ops: Ops
    situation: AddressSituation
    #: The proxy on the node dropped the packet (else it left it to the node's routes).
    dropped: Term
