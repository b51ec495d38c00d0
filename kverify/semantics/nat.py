"""Masquerade (SNAT): when the endpoint stops seeing the client's address."""

from __future__ import annotations

from kverify.model.enums import ClientKind, Dataplane, Destination
from kverify.semantics import cni, socket_lb
from kverify.semantics import dataplane as dp
from kverify.semantics.endpoints import is_local
from kverify.semantics.ops import Ops, Term
from kverify.semantics.policy import (
    external_policy_local,
    is_external_destination,
    short_circuit_host,
    source_is_pod_traffic,
)
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import EndpointView, Situation

K8S = "kubernetes/kubernetes"
CILIUM_DOC = "cilium/cilium Documentation/network/kubernetes/kubeproxy-free.rst"


@rule(
    "masquerade-etp-cluster",
    title="kube-proxy masquerades all NodePort/externalIP/LoadBalancer traffic under eTP Cluster.",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules (EXT chain KUBE-MARK-MASQ when !externalPolicyLocal); "
    "nftables/proxier_test.go TestExternalTrafficPolicyCluster",
    since="v1.22",
    dataplanes="iptables, nftables, ipvs",
)
def masquerade_etp_cluster(ops: Ops, s: Situation) -> Term:
    return ops.and_(is_external_destination(ops, s), ops.not_(external_policy_local(ops, s)))


@rule(
    "masquerade-cluster-ip-off-cluster",
    title="ClusterIP traffic from a source that is not pod traffic is masqueraded (needs a LocalTrafficDetector).",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules ('off-cluster traffic to a service VIP'); "
    "nftables/proxier_test.go TestInternalExternalMasquerade 'node to ClusterIP', 'no LocalTrafficDetector'",
    since="v1.22",
    dataplanes="iptables, nftables, ipvs",
)
def masquerade_cluster_ip_off_cluster(ops: Ops, s: Situation) -> Term:
    return ops.and_(
        ops.eq(s.destination, Destination.CLUSTER_IP),
        s.has_detector,
        ops.not_(source_is_pod_traffic(ops, s)),
    )


@rule(
    "masquerade-all",
    title="--masquerade-all masquerades every ClusterIP connection (not eTP Local external traffic).",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules (masqueradeAll); "
    "nftables/proxier_test.go TestInternalExternalMasquerade case 'masqueradeAll'",
    since="v1.22",
    dataplanes="iptables, nftables, ipvs",
)
def masquerade_all(ops: Ops, s: Situation) -> Term:
    return ops.and_(ops.eq(s.destination, Destination.CLUSTER_IP), s.masquerade_all)


@rule(
    "masquerade-localhost-nodeport",
    title="A NodePort reached on 127.0.0.1 (iptables, localhostNodePorts) is masqueraded.",
    source=f"{K8S} pkg/proxy/iptables/proxier_test.go TestNodePorts 'localhost to nodePort gets masqueraded'",
    since="v1.26",
    dataplanes="iptables",
)
def masquerade_localhost(ops: Ops, s: Situation) -> Term:
    return ops.and_(ops.eq(s.destination, Destination.NODE_PORT), s.dst_is_localhost)


@rule(
    "masquerade-hairpin",
    title="kube-proxy masquerades a pod that reaches itself through the Service (hairpin). Cilium's socket-LB "
    "connects such a pod straight to its own IP, without NAT (per packet: cilium-per-packet-hairpin).",
    source=f"{K8S} pkg/proxy/iptables/proxier.go writeServiceToEndpointRules "
    "(SEP chain '-s <endpoint IP> -j KUBE-MARK-MASQ'); "
    "nftables/proxier_test.go TestClusterIPGeneral 'hairpin to cluster IP'; pkg/proxy/ipvs/proxier.go (KUBE-LOOP-BACK "
    "ipset MASQUERADE); cilium/cilium bpf/bpf_sock.c (connect() rewritten to the backend: no NAT)",
    since="v1.22; Cilium v1.8 (socket-LB)",
)
def masquerade_hairpin(ops: Ops, s: Situation, endpoint: EndpointView) -> Term:
    # ipvs' KUBE-LOOP-BACK ipset holds this node's endpoints only.
    return ops.and_(endpoint.is_client, ops.implies(dp.is_ipvs(ops, s), is_local(ops, endpoint, s.handling_node)))


@rule(
    "cilium-snat-remote-backend",
    title="Cilium SNAT mode: external traffic under eTP Cluster is SNATed only when the backend is on another node.",
    source=f"{CILIUM_DOC} 'Direct Server Return (DSR)' (SNAT mode); bpf/lib/nodeport.h nodeport_lb4 (backend_local: "
    "no SNAT); bpf/tests/tc_nodeport_lb4_nat_lb.c tc_nodeport_local_backend, tc_nodeport_nat_fwd",
    since="Cilium v1.6",
    dataplanes="cilium-snat",
)
def cilium_snat_remote(ops: Ops, s: Situation, endpoint: EndpointView) -> Term:
    return ops.and_(
        ops.eq(s.dataplane, Dataplane.CILIUM_SNAT),
        ops.eq(s.client, ClientKind.EXTERNAL),
        is_external_destination(ops, s),
        ops.not_(external_policy_local(ops, s)),
        ops.not_(is_local(ops, endpoint, s.handling_node)),
    )


def kube_proxy_masquerade(ops: Ops, s: Situation) -> Term:
    """Masquerade kube-proxy requests before the endpoint is chosen (rules M1-M5).

    ipvs has no host short-circuit: its eTP Local chains RETURN before masquerading any source.
    """
    return ops.or_(
        masquerade_etp_cluster(ops, s),
        masquerade_cluster_ip_off_cluster(ops, s),
        masquerade_all(ops, s),
        ops.and_(ops.not_(dp.is_ipvs(ops, s)), short_circuit_host(ops, s)),
        masquerade_localhost(ops, s),
    )


@rule(
    "dnat-only",
    title="Thought experiment: a proxy that DNATs exactly like kube-proxy but never SNATs.",
    source="the article kverify began from (Radi, 'Effect of externalTrafficPolicy on Kubernetes services', 2020); "
    "kubernetes.io/docs/tutorials/services/source-ip/ (why eTP Cluster SNATs)",
    since="n/a",
    dataplanes="dnat-only",
)
def no_snat(ops: Ops, s: Situation) -> Term:
    return dp.is_dnat_only(ops, s)


def masqueraded(ops: Ops, s: Situation, endpoint: EndpointView) -> Term:
    """Whether the packet that reaches ``endpoint`` has had its source rewritten."""
    return masqueraded_given(ops, s, endpoint, kube_proxy_masquerade(ops, s))


def masqueraded_given(ops: Ops, s: Situation, endpoint: EndpointView, request: Term) -> Term:
    """:func:`masqueraded`, given ``request`` = :func:`kube_proxy_masquerade` of ``s``, which does not
    depend on the endpoint: a caller deciding every endpoint computes it once (linear time)."""
    kube_proxy = ops.or_(request, masquerade_hairpin(ops, s, endpoint), cni.flannel_masquerades(ops, s, endpoint))
    cilium = ops.or_(cilium_snat_remote(ops, s, endpoint), socket_lb.per_packet_hairpin(ops, s, endpoint))
    return ops.ite(
        no_snat(ops, s),
        ops.false,
        ops.ite(dp.is_cilium(ops, s), cilium, kube_proxy),
    )
