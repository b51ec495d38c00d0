"""Enumerations of the model, spelled as Kubernetes spells them.

Each enum is an ``IntEnum`` whose *value* is a small integer and whose ``spelling`` is the
Kubernetes (or kverify CLI) word. Small integers let the same rule functions run on Python values
and on Z3 integer terms (see :mod:`kverify.semantics.ops`).
"""

from __future__ import annotations

import enum
from typing import Self


class _Spelled(enum.IntEnum):
    """An IntEnum that also carries the word users write."""

    spelling: str

    def __new__(cls, value: int, spelling: str = "") -> Self:
        member = int.__new__(cls, value)
        member._value_ = value
        member.spelling = spelling
        return member

    @classmethod
    def parse(cls, word: str) -> Self:
        """Return the member spelled ``word``; raise ``ValueError`` naming the supported words."""
        for member in cls:
            if member.spelling == word:
                return member
        raise ValueError(f"Unsupported value: {word!r}: supported values: {cls.spellings()}")

    @classmethod
    def spellings(cls) -> str:
        return ", ".join(f'"{m.spelling}"' for m in cls)

    def __str__(self) -> str:
        return self.spelling


class ServiceType(_Spelled):
    CLUSTER_IP = 0, "ClusterIP"
    NODE_PORT = 1, "NodePort"
    LOAD_BALANCER = 2, "LoadBalancer"


class TrafficPolicy(_Spelled):
    CLUSTER = 0, "Cluster"
    LOCAL = 1, "Local"


class IPMode(_Spelled):
    VIP = 0, "VIP"
    PROXY = 1, "Proxy"


class Protocol(_Spelled):
    TCP = 0, "TCP"
    UDP = 1, "UDP"
    SCTP = 2, "SCTP"


class SessionAffinity(_Spelled):
    NONE = 0, "None"
    CLIENT_IP = 1, "ClientIP"


class Dataplane(_Spelled):
    IPTABLES = 0, "iptables"
    NFTABLES = 1, "nftables"
    IPVS = 2, "ipvs"
    CILIUM_SNAT = 3, "cilium-snat"
    CILIUM_DSR = 4, "cilium-dsr"
    DNAT_ONLY = 5, "dnat-only"


KUBE_PROXY_DATAPLANES = (Dataplane.IPTABLES, Dataplane.NFTABLES, Dataplane.IPVS)


class LoadBalancerProfile(_Spelled):
    HEALTH_CHECKED = 0, "health-checked"
    NO_HEALTH_CHECK = 1, "no-health-check"
    METALLB_L2 = 2, "metallb-l2"
    METALLB_BGP = 3, "metallb-bgp"
    IP_TARGET = 4, "ip-target"
    K3S_SERVICELB = 5, "k3s-servicelb"
    CILIUM_L2 = 6, "cilium-l2"
    CILIUM_BGP = 7, "cilium-bgp"
    KUBE_VIP = 8, "kube-vip"
    AWS_NLB_INSTANCE = 9, "aws-nlb-instance"
    AWS_NLB_IP = 10, "aws-nlb-ip"
    AWS_CLASSIC_ELB = 11, "aws-classic-elb"


#: Profiles whose load balancer sends straight to pod IPs, bypassing nodes and kube-proxy.
POD_TARGET_PROFILES = (LoadBalancerProfile.IP_TARGET, LoadBalancerProfile.AWS_NLB_IP)
#: Profiles with a load balancer of its own in the path (a proxy or NAT box that can add a PROXY protocol
#: header); the others only announce an address and the packet reaches a node unchanged.
PROXYING_PROFILES = (
    LoadBalancerProfile.HEALTH_CHECKED,
    LoadBalancerProfile.NO_HEALTH_CHECK,
    LoadBalancerProfile.IP_TARGET,
    LoadBalancerProfile.AWS_NLB_INSTANCE,
    LoadBalancerProfile.AWS_NLB_IP,
    LoadBalancerProfile.AWS_CLASSIC_ELB,
)


class ClientKind(_Spelled):
    EXTERNAL = 0, "external"
    POD = 1, "pod"
    NODE = 2, "node"


class Destination(_Spelled):
    CLUSTER_IP = 0, "cluster-ip"
    NODE_PORT = 1, "node-port"
    LOAD_BALANCER = 2, "load-balancer"
    EXTERNAL_IP = 3, "external-ip"
    HEALTH_CHECK_NODE_PORT = 4, "health-check-node-port"


class DropKind(_Spelled):
    DROP = 1, "drop"
    REJECT = 2, "reject"
    NOT_INTERCEPTED = 3, "not-intercepted"


class ReplyPath(_Spelled):
    """How the reply to a delivered request travels back to the client."""

    VIA_TRANSLATING_NODE = 0, "via-translating-node"
    DIRECT_FROM_ENDPOINT_NODE = 1, "direct-from-endpoint-node"
    DIRECT_SERVER_RETURN = 2, "direct-server-return"
    FROM_LOAD_BALANCER = 3, "from-load-balancer"


class Cni(_Spelled):
    """The pod network (CNI) profile: which interface a masqueraded packet leaves by, whether the CNI
    itself SNATs pod traffic to other nodes, and the bridge's hairpin mode (``kverify.semantics.cni``)."""

    GENERIC = 0, "generic"
    FLANNEL_HOST_GW = 1, "flannel-host-gw"
    FLANNEL_VXLAN = 2, "flannel-vxlan"
    BRIDGE = 3, "bridge"
    CALICO_BGP = 4, "calico-bgp"
    CALICO_IPIP = 5, "calico-ipip"
    CALICO_VXLAN = 6, "calico-vxlan"
    CILIUM = 7, "cilium"
    AWS_VPC = 8, "aws-vpc"


class Interface(_Spelled):
    """The node interface a masqueraded packet leaves by: MASQUERADE takes its primary address."""

    NODE = 0, "node"  # the node's NIC (or, for an interface without an IPv4 address, the node's first address)
    BRIDGE = 1, "bridge"  # cni0 / cbr0, holding the node's pod CIDR gateway address
    TUNNEL = 2, "tunnel"  # flannel.1, tunl0, vxlan.calico
    # Not an interface: Cilium's per-packet load balancer SNATs a pod reaching itself through a Service to
    # its service loopback address (--ipv4-service-loopback-address, 169.254.42.1 by default).
    SERVICE_LOOPBACK = 3, "service-loopback"


# Members as plain names, for code run per Service or per flow routed: a read through the class takes
# Python 3.11's hooked attribute lookup (~900 instructions), a module global a few.
CILIUM_DSR = Dataplane.CILIUM_DSR
CILIUM_SNAT = Dataplane.CILIUM_SNAT
CLIENT_EXTERNAL = ClientKind.EXTERNAL
CLIENT_NODE = ClientKind.NODE
CLIENT_POD = ClientKind.POD
CNI_GENERIC = Cni.GENERIC
IPTABLES = Dataplane.IPTABLES
IPVS = Dataplane.IPVS
LB_AWS_CLASSIC_ELB = LoadBalancerProfile.AWS_CLASSIC_ELB
LB_AWS_NLB_INSTANCE = LoadBalancerProfile.AWS_NLB_INSTANCE
LB_AWS_NLB_IP = LoadBalancerProfile.AWS_NLB_IP
LB_HEALTH_CHECKED = LoadBalancerProfile.HEALTH_CHECKED
LB_METALLB_BGP = LoadBalancerProfile.METALLB_BGP
LB_METALLB_L2 = LoadBalancerProfile.METALLB_L2
LB_NO_HEALTH_CHECK = LoadBalancerProfile.NO_HEALTH_CHECK
NFTABLES = Dataplane.NFTABLES
NOT_INTERCEPTED = DropKind.NOT_INTERCEPTED
POLICY_CLUSTER = TrafficPolicy.CLUSTER
TCP = Protocol.TCP
TO_CLUSTER_IP = Destination.CLUSTER_IP
TO_EXTERNAL_IP = Destination.EXTERNAL_IP
TO_HEALTH_CHECK_NODE_PORT = Destination.HEALTH_CHECK_NODE_PORT
TO_LOAD_BALANCER = Destination.LOAD_BALANCER
TO_NODE_PORT = Destination.NODE_PORT
TYPE_CLUSTER_IP = ServiceType.CLUSTER_IP
TYPE_LOAD_BALANCER = ServiceType.LOAD_BALANCER
TYPE_NODE_PORT = ServiceType.NODE_PORT
