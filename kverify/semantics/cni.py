"""The pod network (CNI) under the proxy: what it does to the addresses kube-proxy leaves alone.

Three things a CNI decides, each a rule here (``--cni``, a spec's ``environment.cni``):

- **the masquerade source address**: kube-proxy's MASQUERADE (and the CNI's own) rewrites the
  source to the primary address of the interface the packet *leaves by*, not to the node's
  InternalIP: the bridge (cni0) towards a pod on the same node, the tunnel device (flannel.1,
  tunl0, vxlan.calico) towards a pod behind an overlay, the node's NIC otherwise;
- **the CNI's own SNAT**: flannel (``--ip-masq``) and Calico (``natOutgoing``) masquerade a pod's
  packets to addresses outside the pod network (so a pod reaching another node's IP arrives there
  from its own node's IP), and flannel also masquerades packets from outside the pod network to a
  pod on another node;
- **the bridge's hairpin mode**: a pod whose connection is DNATed back to itself gets it back over
  a bridge only if the bridge port hairpins (with bridge netfilter on, as kubeadm requires).

``generic`` (the default) is kverify before CNI profiles: the node's address for every masqueraded
packet, no CNI SNAT, hairpin always works.
"""

from __future__ import annotations

from kverify.model.enums import (
    CLIENT_POD,
    TO_HEALTH_CHECK_NODE_PORT,
    TO_NODE_PORT,
    ClientKind,
    Cni,
    Dataplane,
    Interface,
)
from kverify.semantics import dataplane as dp
from kverify.semantics import socket_lb
from kverify.semantics.endpoints import is_local
from kverify.semantics.ops import Ops, Term
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import NO_NODE, EndpointView, Situation

LINUX = "torvalds/linux (behaviour measured on 6.18)"
PLUGINS = "containernetworking/plugins (v1.9.1)"
FLANNEL = "flannel-io/flannel (v0.28.9)"
K3S = "k3s-io/k3s (commit 638b0c47)"
CALICO = "projectcalico/calico (master, read from the search index)"
AWS = "aws/amazon-vpc-cni-k8s (v1.22.0+234)"

BRIDGED = (Cni.FLANNEL_HOST_GW, Cni.FLANNEL_VXLAN, Cni.BRIDGE)
OVERLAY = (Cni.FLANNEL_VXLAN, Cni.CALICO_IPIP, Cni.CALICO_VXLAN)
ROUTED_VETH = (Cni.CALICO_BGP, Cni.CALICO_IPIP, Cni.CALICO_VXLAN, Cni.AWS_VPC)
FLANNEL_MASQ = (Cni.FLANNEL_HOST_GW, Cni.FLANNEL_VXLAN)
SNATS_POD_TO_NODES = (Cni.FLANNEL_HOST_GW, Cni.FLANNEL_VXLAN, Cni.CALICO_BGP, Cni.CALICO_IPIP, Cni.CALICO_VXLAN)


def cni_is(ops: Ops, cni: Term, profiles: tuple[Cni, ...]) -> Term:
    """The CNI is one of ``profiles``."""
    return ops.or_(*(ops.eq(cni, p) for p in profiles))


@rule(
    "cni-bridge-gateway",
    title="flannel (host-gw, VXLAN, k3s) and the CNI bridge plugin put a node's pods on a bridge (cni0) that "
    "holds the gateway address of the node's pod CIDR (its first address): a packet to a pod on the same node "
    "leaves by the bridge, so a masqueraded one carries that address (k3s users see 10.42.0.1).",
    source=f"{PLUGINS} plugins/main/bridge/bridge.go cmdAdd (`if n.IsDefaultGW {{ n.IsGW = true }}`: the bridge "
    "gets the gateway address), plugins/ipam/host-local/backend/allocator/range.go Canonicalize "
    f"(`r.Gateway = ip.NextIP(r.Subnet.IP)`); {FLANNEL} Documentation/kube-flannel.yml cni-conf.json "
    f"(delegate isDefaultGateway: true); {K3S} pkg/agent/flannel/setup_linux.go cniConf; kernel harness "
    "(docs/research/kernel-ground-truth.md, 'The masquerade source address': bridge to a pod on the same node)",
    since="flannel v0.7 (CNI delegate to bridge)",
    dataplanes="iptables, nftables, ipvs",
)
def same_node_interface(ops: Ops, s: Situation) -> Term:
    # Routed veths have no address: the node's (cni-routed-veth); ``generic`` assumes the node's address.
    other = ops.ite(routed_veth(ops, s), Interface.NODE, Interface.NODE)
    return ops.ite(cni_is(ops, s.cni, BRIDGED), Interface.BRIDGE, other)


@rule(
    "cni-overlay-tunnel",
    title="flannel VXLAN (k3s' default), Calico IPIP and Calico VXLAN route other nodes' pod CIDRs through a "
    "tunnel device with an address of its own: a masqueraded packet to a pod on another node carries it "
    "(flannel.1: the network address of the node's pod CIDR, e.g. 10.244.1.0; tunl0 / vxlan.calico: an address "
    "Calico IPAM allocates from the node's block). flannel host-gw, Calico BGP and the AWS VPC CNI route over "
    "the node's NIC: the node's address.",
    source=f"{FLANNEL} pkg/backend/vxlan/vxlan.go RegisterNetwork (`dev.Configure(ip.IP4Net{{IP: "
    f"lease.Subnet.IP, PrefixLen: 32}}, ...)`); {CALICO} node/pkg/allocateip/allocateip.go (the IPIP / VXLAN "
    "tunnel address from the node's IPAM block); kernel harness (docs/research/kernel-ground-truth.md, 'The "
    "masquerade source address': vxlan tunnel device to the other node saw 10.0.0.0)",
    since="flannel v0.9 (vxlan device address); Calico v3.0",
    dataplanes="iptables, nftables, ipvs",
)
def remote_node_interface(ops: Ops, s: Situation) -> Term:
    return ops.ite(cni_is(ops, s.cni, OVERLAY), Interface.TUNNEL, Interface.NODE)


@rule(
    "cni-routed-veth",
    title="Calico and the AWS VPC CNI attach each pod by a routed veth with no IPv4 address on the host side "
    "(the pod's gateway is the dummy 169.254.1.1): MASQUERADE towards a pod on the same node finds no address "
    "on that interface, and the kernel takes the first global address of the host's interfaces, the node's NIC "
    "address on an ordinary node.",
    source=f"{CALICO} cni-plugin/internal/pkg/utils/network_linux.go DoNetworking (container route via "
    f"169.254.1.1, host veth without an address); {AWS} cmd/routed-eni-cni-plugin/driver/driver.go setupVeth "
    f"(gateway 169.254.1.1); {LINUX} net/ipv4/devinet.c inet_select_addr (no address on the device: the first "
    "universe-scope address of any interface, loopback first); measured: docs/research/cni-profiles.md (a pod behind "
    "an address-less veth saw the node's eth0 address, also on hairpin)",
    since="Calico v2.0; AWS VPC CNI v1.0",
    dataplanes="iptables, nftables, ipvs",
)
def routed_veth(ops: Ops, s: Situation) -> Term:
    return cni_is(ops, s.cni, ROUTED_VETH)


@rule(
    "masquerade-interface-address",
    title="MASQUERADE rewrites the source to the primary address of the interface the packet leaves by: the "
    "bridge towards a pod on the handling node (rules cni-bridge-gateway, cni-routed-veth), the CNI's route "
    "towards a pod on another node (cni-overlay-tunnel), the node's NIC towards an address on no node. Cilium's "
    "kube-proxy replacement SNATs with the node's address whatever the interface (a pod's hairpin through its "
    "per-packet load balancer: the service loopback address, rule cilium-per-packet-hairpin).",
    source=f"{LINUX} net/netfilter/nf_nat_masquerade.c nf_nat_masquerade_ipv4 (`newsrc = inet_select_addr(out, "
    "nh, RT_SCOPE_UNIVERSE)`); kernel harness docs/research/kernel-ground-truth.md 'The masquerade source "
    "address' (10 flows where the pod saw the bridge's address, not the node IP); kubernetes/kubernetes#58338, "
    "k3s-io/k3s#7798, metallb/metallb#257 (users seeing the bridge / tunnel address); cilium/cilium "
    "bpf/lib/nodeport.h (NodePort SNAT to IPV4_NODEPORT, the node's address)",
    since="Linux 2.6 (MASQUERADE); issue 9",
)
def masquerade_interface(ops: Ops, s: Situation, endpoint: EndpointView) -> Term:
    """The Interface a masqueraded packet to ``endpoint`` leaves the handling node by."""
    local = is_local(ops, endpoint, s.handling_node)
    on_no_node = ops.eq(endpoint.node, NO_NODE)
    remote = ops.ite(on_no_node, Interface.NODE, remote_node_interface(ops, s))
    by_route = ops.ite(local, same_node_interface(ops, s), remote)
    cilium = ops.ite(socket_lb.per_packet_hairpin(ops, s, endpoint), Interface.SERVICE_LOOPBACK, Interface.NODE)
    return ops.ite(dp.is_cilium(ops, s), cilium, by_route)


@rule(
    "cni-hairpin-off",
    title="The CNI bridge plugin leaves hairpin mode off unless configured (hairpinMode defaults to false): with "
    "bridge netfilter on (bridge-nf-call-iptables=1, which kubeadm requires), kube-proxy's DNAT runs while "
    "the packet is bridged and sends it back out of the port it came in by, which a bridge does only in "
    "hairpin mode, so a pod reaching itself through its Service never gets the connection (iptables, "
    "nftables). flannel and k3s set hairpinMode: true; Calico and the AWS VPC CNI route (no bridge); Cilium's "
    "socket-LB connects the pod to itself without NAT; ipvs translates after the packet was routed to the host.",
    source=f'{PLUGINS} plugins/main/bridge/bridge.go (NetConf `HairpinMode bool json:"hairpinMode"`, '
    f"setupVeth `netlink.LinkSetHairpin(hostVeth, hairpinMode)`); {LINUX} net/bridge/br_forward.c should_deliver "
    "(`(p->flags & BR_HAIRPIN_MODE) || skb->dev != p->dev`), net/bridge/br_netfilter_hooks.c "
    "br_nf_pre_routing_finish (bridged DNAT); kernel harness docs/research/kernel-ground-truth.md 'Hairpin' "
    f"(hairpin off + bridge-nf-call-iptables=1: the attempts time out); kubernetes/kubernetes#43966; {FLANNEL} "
    f"Documentation/kube-flannel.yml (hairpinMode: true); {K3S} pkg/agent/flannel/setup_linux.go (hairpinMode: true)",
    since="CNI plugins v0.5 (hairpinMode option)",
    dataplanes="iptables, nftables, dnat-only",
)
def hairpin_lost(ops: Ops, s: Situation, endpoint: EndpointView) -> Term:
    """The packet DNATed to ``endpoint`` (the client itself) is lost on the bridge."""
    translated_while_bridged = ops.or_(
        ops.eq(s.dataplane, Dataplane.IPTABLES),
        ops.eq(s.dataplane, Dataplane.NFTABLES),
        ops.eq(s.dataplane, Dataplane.DNAT_ONLY),
    )
    return ops.and_(
        ops.eq(s.cni, Cni.BRIDGE),
        translated_while_bridged,
        ops.eq(s.client, ClientKind.POD),
        endpoint.is_client,
    )


@rule(
    "cni-pod-to-node-snat",
    title="flannel (--ip-masq, as kube-flannel.yml and k3s run it) and Calico (natOutgoing, on for the default "
    "IP pool) masquerade a pod's packets to addresses outside the pod network: a pod connecting to another "
    "node's address (its NodePort) arrives there from its own node's address, so that node's kube-proxy does "
    "not see pod traffic. The AWS VPC CNI leaves traffic to VPC addresses (node IPs) alone; the bridge plugin's "
    "ipMasq is off by default; Cilium's socket-LB translates the NodePort on the pod's own node.",
    source=f"{FLANNEL} pkg/trafficmngr/iptables/iptables.go MasqRules (`-s <cluster cidr> ! -d 224.0.0.0/4 -j "
    f"MASQUERADE`), Documentation/kube-flannel.yml (`--ip-masq`); {CALICO} felix/rules/nat.go "
    "makeNATOutgoingRuleIPTables (source in a natOutgoing pool, destination in no pool: MASQUERADE), "
    "node/pkg/lifecycle/startup/startup.go (CALICO_IPV4POOL_NAT_OUTGOING defaults to true); "
    f"{AWS} pkg/networkutils/network.go buildIptablesSNATRules (RETURN for the VPC CIDRs; none at all with "
    f"AWS_VPC_K8S_CNI_EXTERNALSNAT=true); {PLUGINS} plugins/main/bridge/README.md (ipMasq defaults to false)",
    since="flannel v0.5 (--ip-masq); Calico v2.0 (natOutgoing)",
    dataplanes="iptables, nftables, ipvs, dnat-only",
)
def snats_pod_to_node(ops: Ops, cni: Term, client: Term, destination: Term, client_node: Term, handling: Term) -> Term:
    """A pod's packet to another node's address is masqueraded by the CNI on the pod's node (read
    before the Situation exists: it decides the source address the handling node sees)."""
    node_addressed = ops.or_(ops.eq(destination, TO_NODE_PORT), ops.eq(destination, TO_HEALTH_CHECK_NODE_PORT))
    return ops.and_(
        cni_is(ops, cni, SNATS_POD_TO_NODES),
        ops.eq(client, CLIENT_POD),
        node_addressed,
        ops.not_(ops.eq(client_node, handling)),
    )


@rule(
    "flannel-masquerade-to-remote-pods",
    title="flannel masquerades packets from outside the pod network to a pod on another node (kube-proxy's own "
    "marked packets excepted): an external or host client DNATed to a remote pod without kube-proxy's "
    "masquerade (ipvs' eTP Local fallback, ipvs host -> VIP, no LocalTrafficDetector) still gets a masqueraded "
    "packet, whose reply comes back through the node.",
    source=f"{FLANNEL} pkg/trafficmngr/iptables/iptables.go MasqRules (`-m mark --mark 0x4000/0x4000 -j RETURN`, "
    "`! -s <cluster cidr> -d <node's pod cidr> -j RETURN`, `! -s <cluster cidr> -d <cluster cidr> -j MASQUERADE`)",
    since="flannel v0.7",
    dataplanes="iptables, nftables, ipvs",
)
def flannel_masquerades(ops: Ops, s: Situation, endpoint: EndpointView) -> Term:
    """flannel's own masquerade of an off-pod-network source to a pod on another node (the cluster CIDR
    kube-proxy detects pod traffic by is assumed to be flannel's network)."""
    remote_pod = ops.and_(
        endpoint.present,
        ops.not_(ops.eq(endpoint.node, NO_NODE)),
        ops.not_(ops.eq(endpoint.node, s.handling_node)),
    )
    return ops.and_(
        cni_is(ops, s.cni, FLANNEL_MASQ),
        ops.not_(dp.is_cilium(ops, s)),
        ops.not_(s.src_in_cluster_cidr),
        remote_pod,
    )
