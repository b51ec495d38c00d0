"""The concrete addresses behind the CNI rules (:mod:`kverify.semantics.cni`): which address each
interface of a node carries. (Which CNI / dataplane pairs kverify models: ``model.cluster.cni_problem``.)"""

from __future__ import annotations

import ipaddress

from kverify.errors import NotModelled, Problem
from kverify.model import Cni, Interface, Node
from kverify.model.cilium import SERVICE_LOOPBACK_IPV4
from kverify.semantics.registry import declare, mark

INTERFACE_ADDRESSES = declare(
    "cni-interface-addresses",
    title="The address of each interface a masqueraded packet may leave by: the node's NIC: its primary "
    "address; the bridge (cni0): the first address of the node's pod CIDR; flannel.1: the pod CIDR's network "
    "address; Calico's tunl0 / vxlan.calico: allocated by Calico IPAM (kverify names the device, not an address).",
    source="containernetworking/plugins (v1.9.1) plugins/ipam/host-local/backend/allocator/range.go Canonicalize "
    "(gateway = subnet + 1); flannel-io/flannel (v0.28.9) pkg/backend/vxlan/vxlan.go (flannel.1 = "
    "lease.Subnet.IP/32); projectcalico/calico node/pkg/allocateip/allocateip.go",
    since="issue 9",
)


def _pod_cidr(node: Node, family: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    for cidr in node.pod_cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        if network.version == family:
            return network
    return None


def interface_address(cni: Cni, node: Node | None, interface: Interface, family: int = 4) -> str:
    """The address a packet masqueraded on ``node`` carries when it leaves by ``interface``."""
    mark(INTERFACE_ADDRESSES)
    if interface is Interface.SERVICE_LOOPBACK:
        if family != 4:
            # No IPv6 loopback case before cilium/cilium#39594 (2025), and its fe80::1 fails (#42460).
            raise NotModelled(
                Problem(
                    "not modelled: a pod reaching itself over IPv6 through Cilium's per-packet load balancer "
                    "(socketLB.hostNamespaceOnly): no IPv6 service loopback before cilium/cilium#39594, and "
                    "#42460 reports its fe80::1 failing",
                    field="--cilium-set",
                )
            )
        return SERVICE_LOOPBACK_IPV4
    if node is None:
        return "node-address"
    if interface is Interface.NODE:
        same_family = [a for a in node.addresses if ipaddress.ip_address(a).version == family]
        return (same_family or list(node.addresses) or ["node-address"])[0]
    if interface is Interface.TUNNEL and cni in (Cni.CALICO_IPIP, Cni.CALICO_VXLAN):
        device = "tunl0" if cni is Cni.CALICO_IPIP else "vxlan.calico"
        return f"{device} address of {node.name}"
    network = _pod_cidr(node, family)
    if interface is Interface.BRIDGE:
        return str(network.network_address + 1) if network else f"cni0 address of {node.name}"
    return str(network.network_address) if network else f"flannel.1 address of {node.name}"
