"""Which traffic policy governs a destination, and kube-proxy's short-circuits of eTP Local."""

from __future__ import annotations

from kverify.model.enums import (
    CLIENT_NODE,
    TO_EXTERNAL_IP,
    TO_LOAD_BALANCER,
    TO_NODE_PORT,
    TYPE_LOAD_BALANCER,
    TYPE_NODE_PORT,
    Destination,
)
from kverify.semantics.ops import Ops, Term
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import Situation

K8S = "kubernetes/kubernetes"


@rule(
    "external-policy-local",
    title="eTP Local takes effect only for an externally accessible Service "
    "(type NodePort or LoadBalancer, or with externalIPs).",
    source=f"{K8S} pkg/api/v1/service/util.go ExternalPolicyLocal, ExternallyAccessible; "
    "topology_test.go 'externalTrafficPolicy ignored if not externally accessible'",
    since="v1.22",
)
def external_policy_local(ops: Ops, s: Situation) -> Term:
    accessible = ops.or_(
        ops.eq(s.service_type, TYPE_NODE_PORT),
        ops.eq(s.service_type, TYPE_LOAD_BALANCER),
        s.has_external_ips,
    )
    return ops.and_(s.etp_local_spec, accessible)


def is_external_destination(ops: Ops, s: Situation) -> Term:
    return ops.or_(
        ops.eq(s.destination, TO_NODE_PORT),
        ops.eq(s.destination, TO_LOAD_BALANCER),
        ops.eq(s.destination, TO_EXTERNAL_IP),
    )


@rule(
    "policy-for-destination",
    title="ClusterIP traffic follows internalTrafficPolicy only; NodePort, externalIP and "
    "LoadBalancer traffic follows externalTrafficPolicy only.",
    source=f"{K8S} pkg/proxy/nftables/proxier_test.go TestInternalExternalMasquerade "
    "('internalTrafficPolicy does not apply to NodePort traffic'); pkg/proxy/iptables/proxier.go syncProxyRules",
    since="v1.22",
)
def policy_local(ops: Ops, s: Situation) -> Term:
    """The governing policy is Local (before short-circuits)."""
    return ops.ite(
        ops.eq(s.destination, Destination.CLUSTER_IP),
        s.itp_local_spec,
        ops.and_(is_external_destination(ops, s), external_policy_local(ops, s)),
    )


def source_is_pod_traffic(ops: Ops, s: Situation) -> Term:
    return ops.and_(s.has_detector, s.src_in_cluster_cidr)


def source_is_this_host(ops: Ops, s: Situation) -> Term:
    return ops.and_(ops.eq(s.client, CLIENT_NODE), ops.eq(s.client_node, s.handling_node))


@rule(
    "etp-local-short-circuit-pod",
    title="eTP Local, source is pod traffic (LocalTrafficDetector): use the Cluster set, no masquerade.",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules (EXT chain: 'pod traffic ... short-circuit'); "
    "nftables/proxier_test.go TestInternalExternalMasquerade 'pod to LB with eTP:Local'",
    since="v1.22",
)
def short_circuit_pod(ops: Ops, s: Situation) -> Term:
    return ops.and_(is_external_destination(ops, s), external_policy_local(ops, s), source_is_pod_traffic(ops, s))


@rule(
    "etp-local-short-circuit-host",
    title="eTP Local, source is an address of the handling node itself: masquerade and use the Cluster set.",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules (EXT chain: '-m addrtype --src-type LOCAL'); "
    "nftables/proxier_test.go TestInternalExternalMasquerade 'node to LB with eTP:Local'",
    since="v1.22",
)
def short_circuit_host(ops: Ops, s: Situation) -> Term:
    return ops.and_(
        is_external_destination(ops, s),
        external_policy_local(ops, s),
        ops.not_(source_is_pod_traffic(ops, s)),
        source_is_this_host(ops, s),
    )
