"""Endpoint selection: kube-proxy's ``CategorizeEndpoints`` (``pkg/proxy/topology.go``).

Every kube-proxy mode (iptables, nftables, ipvs) calls the same function; Cilium's choices that
differ are rules of their own in :mod:`kverify.semantics.dataplanes`.
"""

from __future__ import annotations

from kverify.semantics import dataplane as dp
from kverify.semantics.ops import Ops, Term
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import EndpointView, Situation

K8S = "kubernetes/kubernetes"


@rule(
    "endpoint-local",
    title="An endpoint is local to a node iff its nodeName is that node's name; no nodeName is never local.",
    source=f"{K8S} pkg/proxy/topology.go CategorizeEndpoints (`ep.IsLocal()`); "
    "pkg/proxy/endpointslicecache.go (IsLocal = nodeName == hostname)",
    since="v1.22",
)
def is_local(ops: Ops, endpoint: EndpointView, node: Term) -> Term:
    return ops.and_(endpoint.present, ops.eq(endpoint.node, node))


@rule(
    "endpoint-serving-terminating",
    title="An endpoint that is serving and terminating is a fallback target (kube-proxy: with the "
    "ProxyTerminatingEndpoints gate); not-serving endpoints never are.",
    source=f"{K8S} pkg/proxy/topology.go CategorizeEndpoints (`ep.IsServing() && ep.IsTerminating()`); KEP-1669",
    since="v1.26 (ProxyTerminatingEndpoints beta, on by default; GA v1.28)",
    history=(
        ("v1.22", "ProxyTerminatingEndpoints alpha (off): terminating endpoints are never used", "KEP-1669"),
        (
            "v1.26",
            "ProxyTerminatingEndpoints beta, on by default: serving-terminating endpoints become the "
            "fallback when no Ready endpoint is usable",
            "KEP-1669",
        ),
        ("v1.28", "ProxyTerminatingEndpoints GA (locked on)", "KEP-1669"),
    ),
)
def serving_terminating(ops: Ops, situation: Situation, endpoint: EndpointView) -> Term:
    gate = ops.or_(dp.is_cilium(ops, situation), situation.gate_terminating)
    return ops.and_(gate, endpoint.present, endpoint.serving, endpoint.terminating)


def ready(ops: Ops, endpoint: EndpointView) -> Term:
    return ops.and_(endpoint.present, endpoint.ready)


@rule(
    "endpoint-usable",
    title="The service has usable endpoints iff some endpoint is Ready, or serving and terminating.",
    source=f"{K8S} pkg/proxy/topology.go CategorizeEndpoints (hasAnyEndpoints)",
    since="v1.26",
)
def any_usable(ops: Ops, situation: Situation) -> Term:
    return ops.any_(ops.or_(ready(ops, e), serving_terminating(ops, situation, e)) for e in situation.endpoints)


@rule(
    "topology-prefer-same-node",
    title="PreferSameNode applies iff every Ready endpoint has node hints and one names this node.",
    source=f"{K8S} pkg/proxy/topology.go topologyModeFromHints (gate checked there and in endpointslicecache.go "
    "addEndpoints); KEP-3015 (PreferSameNode)",
    since="v1.34 (PreferSameTrafficDistribution beta, on by default; alpha in v1.33)",
    history=(
        ("v1.33", "PreferSameTrafficDistribution alpha (off): node hints ignored", "KEP-3015"),
        ("v1.34", "PreferSameTrafficDistribution beta, on by default: node hints honoured", "KEP-3015"),
    ),
)
def prefer_same_node(ops: Ops, situation: Situation) -> Term:
    eps = situation.endpoints
    h = situation.handling_node
    return ops.and_(
        situation.gate_node_hints,
        ops.all_(ops.implies(ready(ops, e), e.has_node_hints) for e in eps),
        ops.any_(ops.and_(ready(ops, e), ops.member(h, e.node_hints)) for e in eps),
    )


@rule(
    "topology-prefer-same-zone",
    title="Zone hints apply iff every Ready endpoint has zone hints and one names this node's zone.",
    source=f"{K8S} pkg/proxy/topology.go topologyModeFromHints; topology_test.go TestCategorizeEndpoints; KEP-2433",
    since="v1.24 (TopologyAwareHints on by default; see topology-hints-annotation for when hints are read)",
)
def prefer_same_zone(ops: Ops, situation: Situation) -> Term:
    eps = situation.endpoints
    zone = situation.handling_zone
    return ops.and_(
        ops.all_(ops.implies(ready(ops, e), e.has_zone_hints) for e in eps),
        ops.any_(ops.and_(ready(ops, e), ops.member(zone, e.zone_hints)) for e in eps),
    )


@rule(
    "topology-available",
    title="With a topology mode, a Ready endpoint is in the cluster set only if hinted for this node/zone.",
    source=f"{K8S} pkg/proxy/topology.go availableForTopology",
    since="v1.24",
)
def available_for_topology(
    ops: Ops, situation: Situation, endpoint: EndpointView, same_node: Term, same_zone: Term
) -> Term:
    return ops.ite(
        same_node,
        ops.member(situation.handling_node, endpoint.node_hints),
        ops.ite(same_zone, ops.member(situation.handling_zone, endpoint.zone_hints), ops.true),
    )


@rule(
    "cilium-topology-off",
    title="Cilium ignores topology hints unless loadBalancer.serviceTopology=true (default false).",
    source="cilium/cilium Documentation/network/kubernetes/kubeproxy-free.rst 'Topology Aware Hints'",
    since="Cilium v1.11",
    dataplanes="cilium-snat, cilium-dsr",
)
def cilium_ignores_hints(ops: Ops, situation: Situation) -> Term:
    return dp.is_cilium(ops, situation)


@rule(
    "cluster-endpoints",
    title="Cluster set: Ready endpoints allowed by topology; if none, every serving-terminating endpoint.",
    source=f"{K8S} pkg/proxy/topology.go CategorizeEndpoints (clusterEndpoints); "
    "topology_test.go TestCategorizeEndpoints; cilium/cilium pkg/loadbalancer/reconciler/bpf_reconciler.go "
    "updateFrontend (same fallback in Cilium)",
    since="v1.26 (terminating fallback); v1.24 (topology); Cilium v1.18",
)
@rule(
    "topology-hints-annotation",
    title="kube-proxy uses topology hints only with the TopologyAwareHints (or ServiceTrafficDistribution) gate, "
    "and before v1.30 only for a Service whose topology annotation asks for them (v1.24-v1.26: "
    "topology-aware-hints 'auto'/'Auto'; v1.27-v1.29: topology-mode or topology-aware-hints, any value but "
    "'disabled'); from v1.30 whenever every Ready endpoint has hints.",
    source="kubernetes/kubernetes pkg/proxy/topology.go canUseTopology (v1.24-v1.29: TopologyAwareHints gate, "
    "HintsAnnotation check), topologyModeFromHints (v1.30+: no annotation check); PR #116522 (v1.27: any "
    "non-'disabled' value, topology-mode annotation); PR #123487 (v1.30, trafficDistribution; the annotation "
    "check's removal read in its port antrea-io/antrea#6604, the kube-proxy diff itself not read)",
    since="v1.24 (TopologyAwareHints on by default)",
    history=(
        (
            "v1.24",
            "TopologyAwareHints on by default: zone hints honoured for Services annotated topology-aware-hints: auto",
            "KEP-2433",
        ),
        ("v1.27", "topology-mode annotation; any value but 'disabled' enables hints", "kubernetes/kubernetes#116522"),
        (
            "v1.30",
            "hints honoured whenever every Ready endpoint has them, whatever the annotation",
            "kubernetes/kubernetes#123487 (KEP-4444)",
        ),
    ),
)
def hints_enabled(ops: Ops, situation: Situation) -> Term:
    asked = ops.or_(ops.not_(ops.lt(situation.k8s_minor, 30)), situation.hints_annotation)
    return ops.and_(situation.gate_zone_hints, asked)


def cluster_endpoints(ops: Ops, situation: Situation) -> tuple[Term, ...]:
    hints_on = ops.and_(ops.not_(cilium_ignores_hints(ops, situation)), hints_enabled(ops, situation))
    same_node = ops.and_(hints_on, prefer_same_node(ops, situation))
    same_zone = ops.and_(hints_on, prefer_same_zone(ops, situation))
    ready_in_topology = tuple(
        ops.and_(ready(ops, e), available_for_topology(ops, situation, e, same_node, same_zone))
        for e in situation.endpoints
    )
    any_ready = ops.any_(ready_in_topology)
    return tuple(
        ops.ite(any_ready, chosen, serving_terminating(ops, situation, e))
        for chosen, e in zip(ready_in_topology, situation.endpoints, strict=True)
    )


@rule(
    "local-endpoints",
    title="Local set: this node's Ready endpoints; if none, this node's serving-terminating ones. "
    "Topology hints are ignored.",
    source=f"{K8S} pkg/proxy/topology.go CategorizeEndpoints (localEndpoints); "
    "topology_test.go 'externalTrafficPolicy: Local, topology ignored for Local endpoints'",
    since="v1.26",
)
def local_endpoints(ops: Ops, situation: Situation, node: Term) -> tuple[Term, ...]:
    local = tuple(is_local(ops, e, node) for e in situation.endpoints)
    any_local_ready = ops.any_(
        ops.and_(here, ready(ops, e)) for here, e in zip(local, situation.endpoints, strict=True)
    )
    return tuple(
        ops.and_(here, ops.ite(any_local_ready, ready(ops, e), serving_terminating(ops, situation, e)))
        for here, e in zip(local, situation.endpoints, strict=True)
    )


@rule(
    "local-ready-count",
    title="A node has local Ready endpoints iff one of the service's Ready endpoints is on it "
    "(serving-terminating ones do not count).",
    source=f"{K8S} pkg/proxy/endpoints.go LocalReadyEndpoints; "
    "nftables/proxier_test.go TestHealthCheckNodePortWhenTerminating",
    since="v1.22",
)
def has_local_ready(ops: Ops, situation: Situation, node: Term) -> Term:
    return ops.any_(ops.and_(is_local(ops, e, node), ready(ops, e)) for e in situation.endpoints)
