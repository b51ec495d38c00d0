"""Cilium's socket-LB and the per-packet load balancer pods fall back to (``socketLB.hostNamespaceOnly``).

With socket-LB a pod's connect() is rewritten to the backend: no packet ever carries the Service address
and nothing is NATed. With ``socketLB.hostNamespaceOnly=true`` socket-LB skips pods' sockets and bpf_lxc
(the tc program on the pod's veth) translates each packet instead. What that changes in kverify's
outcomes is written here; everything else is the same per packet as at the socket (the same service
lookup with the same two scopes, so eTP Local is still short-circuited for pods; no source address
rewrite; no loadBalancerSourceRanges check, which only nodeport_lb4 makes).
"""

from __future__ import annotations

from kverify.model.enums import ClientKind
from kverify.semantics import dataplane as dp
from kverify.semantics.ops import Ops, Term
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import EndpointView, Situation

CILIUM = "cilium/cilium"
DOC = f"{CILIUM} Documentation/network/kubernetes/kubeproxy-free.rst"


@rule(
    "cilium-socket-lb-host-namespace-only",
    title="Cilium with socketLB.hostNamespaceOnly=true translates pods' connections per packet in bpf_lxc instead "
    "of at connect() (host processes keep socket-LB); the lookup uses the same two scopes, so pods still reach "
    "every backend of an eTP Local Service. socketLB.enabled=false changes nothing: the kube-proxy replacement "
    "turns socket-LB on whatever the option.",
    source=f"{DOC} 'Socket LoadBalancer Bypass in Pod Namespace' ('circumvents socket rewrite in the connect() and "
    "sendmsg() syscall bpf hook ... and re-enables service lookup in the tc bpf program'); bpf/bpf_lxc.c "
    "(ENABLE_PER_PACKET_LB when ENABLE_SOCKET_LB_HOST_ONLY; __per_packet_lb_svc_xlate_4: "
    "`lb4_lookup_service(&key, is_defined(ENABLE_NODEPORT))`, then lb4_local); bpf/lib/lb.h lb4_lookup_service "
    "(east-west lookups switch to LB_LOOKUP_SCOPE_INT for two-scope services); pkg/kpr/kpr.go NewKPRConfig "
    "(`if flags.KubeProxyReplacement { cfg.EnableSocketLB = true }`; v1.14-v1.17 "
    "daemon/cmd/kube_proxy_replacement.go, 'Auto-enabling ... EnableSocketLB'); cilium/cilium#26758, #47417",
    since="Cilium v1.13 (Helm keys socketLB.*, PR #20369; hostServices.* before)",
    dataplanes="cilium-snat, cilium-dsr",
)
def pod_per_packet(ops: Ops, s: Situation) -> Term:
    """A pod's packet that bpf_lxc translates (socket-LB does not see pods' sockets)."""
    return ops.and_(dp.is_cilium(ops, s), ops.eq(s.client, ClientKind.POD), ops.not_(s.cilium_pod_socket_lb))


@rule(
    "cilium-per-packet-hairpin",
    title="Cilium's per-packet load balancer SNATs a pod that reaches itself through a Service to the service "
    "loopback address (169.254.42.1 by default): Linux would drop a packet whose source and destination are the "
    "pod's own address. Socket-LB connects the pod to itself without NAT. (IPv6: not modelled, Unknown.)",
    source="cilium/cilium bpf/lib/lb.h lb4_local ('Special loopback case': `if (saddr == backend->address) { "
    'new_saddr = IPV4_LOOPBACK; state->loopback = 1; }`); pkg/defaults LoopbackIPv4 = "169.254.42.1" '
    "(--ipv4-service-loopback-address); cilium-cli connectivity test pod-to-itself-via-service; IPv6: no loopback "
    "case until PR #39594 (2025) and its fe80::1 address broken per cilium/cilium#42460, so not modelled",
    since="Cilium v1.12 (IPv4; the loopback case is in every lb.h read, from the v1.x lb4_local on)",
    dataplanes="cilium-snat, cilium-dsr",
)
def per_packet_hairpin(ops: Ops, s: Situation, endpoint: EndpointView) -> Term:
    return ops.and_(pod_per_packet(ops, s), endpoint.is_client)
